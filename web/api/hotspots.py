"""Hot grids and emerging hot spots: ``GET /api/v1/hotspots`` and ``/api/v1/hotspots/emerging``.

The statistics are :mod:`geogrid.reports.hotspots`'; here the events are
counted per three-level grid over the whole district (a neighbourhood does not
stop at a street's edge; ``code`` only selects which grids are answered), and
the results are kept per store change sequence, so a request after no write
costs a dictionary lookup. Counts are public in the summary view: anyone
may ask unless ``PUBLIC_EVENTS`` is ``none``; nothing personal is answered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, time, timedelta

import numpy as np
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from geogrid import codes
from geogrid.cases.queries import EventFilter
from geogrid.cases.reports import CHINA
from geogrid.errors import ForbiddenError
from geogrid.policy import may_read_events
from geogrid.reports.filtered import selected
from geogrid.reports.hotspots import ALPHA, PERMUTATIONS, classify, describe, emerging, gi_star
from geogrid.storage.schema import events
from geogrid.times import to_db_time, utc
from web.auth import current_user
from web.params import args, bad, choice, grid_code, integer, moment, number, operation
from web.state import state

bp = Blueprint("hotspots", __name__, url_prefix="/api/v1")

_CACHED = 64  # results kept per process
#: what does not count towards a grid's problems: a duplicate, a report out of scope
_NOT_COUNTED = ("merged", "rejected")


def _cache() -> tuple[threading.Lock, OrderedDict]:
    return current_app.extensions.setdefault("geogrid_hot", (threading.Lock(), OrderedDict()))


def cached(key: tuple, compute):
    """``compute()`` once per ``key`` (which starts with the store's change sequence).

    Requests that miss the same key at once wait for the one computing it
    instead of computing it again.
    """
    lock, results = _cache()
    with lock:
        if key in results:
            results.move_to_end(key)
            return results[key]
        computing = _computing().setdefault(key, threading.Lock())
    with computing:
        with lock:
            if key in results:
                return results[key]
        value = compute()
        with lock:
            results[key] = value
            _computing().pop(key, None)
            while len(results) > _CACHED:
                results.popitem(last=False)
    return value


def _computing() -> dict:
    return current_app.extensions.setdefault("geogrid_hot_computing", {})


def _counted(flt: EventFilter) -> list:
    """Who counts: not duplicates or rejected reports, unless the filter asks for those."""
    return [] if flt.status else [events.c.status.not_in(_NOT_COUNTED)]


def _counts(conn, flt: EventFilter, now: datetime) -> dict[str, int]:
    """Events per grid that count (see :func:`_counted`): from the event columns if they can."""
    found = selected(conn, flt, now)
    if found is not None:
        c, rows = found
        rows = rows[c.grid[rows] >= 0]
        if not flt.status:
            rows = rows[~np.isin(c.status[rows], [c.word(s) for s in _NOT_COUNTED])]
        grids, n = np.unique(c.grid[rows], return_counts=True)
        return dict(zip(c.vocabulary[grids].tolist(), n.tolist(), strict=True))
    query = (
        sa.select(events.c.grid, sa.func.count())
        .where(*flt.where(now), events.c.grid.is_not(None), *_counted(flt))
        .group_by(events.c.grid)
    )
    return {grid: int(n) for grid, n in conn.execute(query)}


def district_hot(flt: EventFilter, now, measure=None, alpha=ALPHA, inference="analytical") -> dict:
    """Hot grids of the whole district for ``flt`` (its ``code`` ignored): method and grids."""
    from web.pages.mapview import map_base

    base, store = map_base(), state().store
    flt = EventFilter(category=flt.category, status=flt.status, start=flt.start, end=flt.end)
    with store.engine.connect() as conn:
        seq = store.change_seq(conn)
    key = ("hot", seq, base.generation, flt, measure, inference)  # alpha is applied after

    def compute() -> dict:
        with store.engine.connect() as conn:
            counts = _counts(conn, flt, now)
        return gi_star(
            [counts.get(c, 0) for c in base.grid_codes],
            base.weights,
            households=base.households,
            measure=measure,
            inference=inference,
        )

    found = cached(key, compute)
    return {
        "method": describe(found["measure"], inference, alpha),
        "grids": classify(base.grid_codes, found, alpha),
    }


def _public_counts() -> None:
    """Counts are public in the summary view; with ``PUBLIC_EVENTS = "none"`` readers only."""
    if current_app.config["PUBLIC_EVENTS"] == "none" and not may_read_events(current_user()):
        raise ForbiddenError("event statistics are shown only to readers here (PUBLIC_EVENTS)")


_FILTERS = (
    grid_code("code", "answer the grids in this street, community or grid"),
    choice("category", lambda: tuple(state().categories), None, "one event category"),
    moment("from", "reported at or after (ISO 8601 with a zone)"),
    moment("to", "reported before (ISO 8601 with a zone)"),
)


def _check_code(code: str | None) -> None:
    """Hot spots are of three-level grids: a micro or dedicated grid's code selects none."""
    if code is not None and codes.level_of(code) not in ("district", "street", "community", "grid"):
        raise bad("code", f"expected a street, community or grid code, got {code!r}")


def _in(code: str | None, grids: list[dict]) -> list[dict]:
    return [g for g in grids if code is None or g["code"].startswith(code)]


@bp.get("/hotspots")
@operation(
    *_FILTERS,
    choice("measure", ("rate", "count"), None, "events per 100 households, or counts"),
    number("alpha", "the false discovery rate controlled (0.001 to 0.2)", required=False),
    choice("inference", ("analytical", "permutation"), "analytical", "how p is found"),
    responses={200: ("the method and every grid's Gi* result", "application/json")},
)
def get_hotspots():
    """Gi* per three-level grid with false-discovery-rate control (see the method in the answer)."""
    _public_counts()
    query = args()
    _check_code(query["code"])
    if query["inference"] == "permutation" and not may_read_events(current_user()):
        raise ForbiddenError(
            "inference: permutations cost seconds of CPU each; they are for readers (a token)"
        )
    alpha = ALPHA if query["alpha"] is None else query["alpha"]
    if not 0.001 <= alpha <= 0.2:
        raise bad("alpha", f"expected a number from 0.001 to 0.2, got {alpha:g}")
    if query["from"] and query["to"] and query["from"] >= query["to"]:
        raise bad("to", "must be later than 'from'")
    flt = EventFilter(category=query["category"], start=query["from"], end=query["to"])
    try:
        found = district_hot(flt, _now(), query["measure"], alpha, query["inference"])
    except ValueError as err:  # a rate without households
        raise bad("measure", str(err)) from None
    body = {"method": dict(found["method"]), "grids": _in(query["code"], found["grids"])}
    if query["inference"] == "permutation":
        body["method"]["permutations"] = PERMUTATIONS
    return jsonify(body)


def _now() -> datetime:
    return current_app.config["CLOCK"]()


def _weekly(conn, flt: EventFilter, codes: list[str], end: datetime, weeks: int) -> np.ndarray:
    """Events per grid (rows in ``codes`` order) and week (oldest first) before ``end``."""
    start = end - timedelta(weeks=weeks)
    where = EventFilter(category=flt.category, start=start, end=end).where(end)
    rows = conn.execute(
        sa.select(events.c.grid, events.c.reported_at).where(
            *where, events.c.grid.is_not(None), events.c.status.not_in(_NOT_COUNTED)
        )
    ).all()
    index = {c: i for i, c in enumerate(codes)}
    out = np.zeros((len(codes), weeks))
    for grid, at in rows:
        week = int((utc(at) - start).total_seconds() // (7 * 86400))
        if grid in index and 0 <= week < weeks:
            out[index[grid], week] += 1
    return out


def _default_end(conn, now: datetime) -> datetime:
    """The end of the day (China time) of the latest event reported by ``now``.

    A day, not the instant: the answer stays cached all day; and a store whose
    events stopped coming (the demo's end in September) still shows its weeks.
    """
    latest = conn.scalar(
        sa.select(sa.func.max(events.c.reported_at)).where(events.c.reported_at <= to_db_time(now))
    )
    last = utc(latest) if latest is not None else now
    day = last.astimezone(CHINA).date() + timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=CHINA)


@bp.get("/hotspots/emerging")
@operation(
    grid_code("code", "answer the grids in this street, community or grid"),
    choice("category", lambda: tuple(state().categories), None, "one event category"),
    integer("weeks", 6, 52, 8, "weeks to look back (Gi* per week, then the trend)"),
    moment("to", "the end of the last week, exclusive (default: the day of the latest event)"),
    choice("format", ("json", "geojson"), "json", "every grid, or the patterned ones as GeoJSON"),
    choice("crs", ("wgs84", "gcj02"), "wgs84", "the GeoJSON's coordinates (the map's tiles)"),
    responses={200: ("every grid's emerging category and trend", "application/json")},
)
def get_emerging():
    """Emerging hot spots: weekly Gi* with FDR, a Mann-Kendall trend, ArcGIS's categories."""
    from web.pages.mapview import map_base

    _public_counts()
    query = args()
    _check_code(query["code"])
    base, store = map_base(), state().store
    flt = EventFilter(category=query["category"])
    with store.engine.connect() as conn:
        seq = store.change_seq(conn)
        end = query["to"] or _default_end(conn, _now())
    key = ("emerging", seq, base.generation, flt, query["weeks"], to_db_time(end))

    def compute() -> list[dict]:
        with store.engine.connect() as conn:
            weekly = _weekly(conn, flt, base.grid_codes, utc(end), query["weeks"])
        return emerging(base.grid_codes, weekly, base.weights)

    grids = cached(key, compute)
    if query["format"] == "geojson":  # the map's layer: the grids with a pattern, drawn
        return jsonify(_emerging_features(base, _in(query["code"], grids), query["crs"]))
    return jsonify(
        {
            "method": {
                "zh": f"新兴热点：最近 {query['weeks']} 周每周 Gi*（FDR 校正），"
                "Mann-Kendall 趋势检验",
                "en": f"Emerging hot spots: weekly Gi* over {query['weeks']} weeks (FDR), "
                "Mann-Kendall trend",
                "weeks": query["weeks"],
                "end": end.isoformat(),
            },
            "grids": _in(query["code"], grids),
        }
    )


def _emerging_features(base, grids: list[dict], crs: str) -> dict:
    """The grids with an emerging pattern as a FeatureCollection for the map's layer."""
    from geogrid.reports.mapdata import feature_collection

    shown = {g["code"]: g for g in grids if g["category"] != "no_pattern"}
    by_code = {g.code: g for g in base.by_level["grid"]}
    extra = {
        code: {
            "emerging": g["category"],
            "tau": g["trend"]["tau"],
            "tau_p": g["trend"]["p"],
            "events": g["events"],
        }
        for code, g in shown.items()
    }
    found = feature_collection([by_code[c] for c in shown if c in by_code], 13, extra, crs)
    for feature in found["features"]:  # the pattern, not the grid's contacts
        feature["properties"].pop("leader", None)
        feature["properties"].pop("phone", None)
    return found
