"""What the map page needs to go live (web/static/live.js) and to run on a wall.

The page itself is cached by the store's change sequence; what changes after it
was drawn comes from the stream (/api/v1/stream) for readers of events. A wall
(``?wall=1``) hides the controls and cycles between the district and the
streets with open overdue cases.
"""

from __future__ import annotations

from datetime import datetime

import shapely
import sqlalchemy as sa
from flask import url_for

from geogrid import codes
from geogrid.cases.queries import EventFilter
from geogrid.cases.workflow import OPEN, STATUSES
from geogrid.coords import from_wgs84
from geogrid.policy import may_read_events
from geogrid.storage.schema import events
from geogrid.times import to_db_time, to_iso
from web.auth import current_user
from web.state import state

__all__ = ["live_options"]


def live_options(
    flt: EventFilter, at: tuple, words: dict, categories: dict, base, wall: bool, now: datetime
) -> dict:
    """The options of ``geogridLive.start`` and ``geogridTrend.start``: URLs, labels, wall stops.

    ``at``: the page's coordinates (``wgs84`` or ``gcj02``) and the store's change
    sequence it was drawn at, where its stream begins (nothing falls in between).
    """
    crs, seq = at
    user = current_user()
    reader = user is not None and (may_read_events(user) or user.role == "worker")
    query = {k: v for k, v in (("code", flt.code), ("category", flt.category)) if v}
    stats = {"code": flt.code, "from": to_iso(flt.start), "to": to_iso(flt.end)}
    stats_reader = user is not None and may_read_events(user)
    return {
        "stream": url_for("stream.get_stream", **query, crs=crs, since=seq) if reader else None,
        "stats": (
            url_for("events.get_stats", **{k: v for k, v in stats.items() if v}, breakdown="false")
            if stats_reader
            else None
        ),
        # the panel's trend charts (web/static/trend.js), for the same readers as the stats
        "trend": url_for("trends.get_trend", **query, days=30) if stats_reader else None,
        "echarts": url_for("static", filename="vendor/echarts/echarts.min.js"),
        "labels": {k: words[k] for k in (*STATUSES, "status", "reported_at", "description")},
        "categories": categories,
        "wall": wall,
        "stops": _stops(flt, base, crs, words, now) if wall else [],
    }


def _stops(flt: EventFilter, base, crs: str, words: dict, now: datetime) -> list[dict]:
    """The district (or the page's code), then each street with open overdue cases, most first."""
    where = [events.c.status.in_(OPEN), events.c.stage_due_at < to_db_time(now)]
    if flt.code:
        where.append(events.c[codes.level_of(flt.code)] == flt.code)
    with state().store.engine.connect() as conn:
        late = dict(
            conn.execute(
                sa.select(events.c.street, sa.func.count()).where(*where).group_by(events.c.street)
            ).all()
        )
    home = [g for g in base.all if g.code == (flt.code or base.by_level["district"][0].code)]
    streets = sorted(
        (g for g in base.by_level["street"] if late.get(g.code)), key=lambda g: -late[g.code]
    )
    overdue = words.get("overdue", "overdue")
    stops = [{"caption": g.name, "bounds": _bounds(g.geometry, crs)} for g in home]
    stops += [
        {"caption": f"{g.name} · {overdue} {late[g.code]}", "bounds": _bounds(g.geometry, crs)}
        for g in streets
        if not flt.code or g.code.startswith(flt.code[:9])
    ]
    return stops


def _bounds(geometry, crs: str) -> list[float]:
    x0, y0, x1, y1 = shapely.bounds(geometry)
    (a, c), (b, d) = from_wgs84([x0, x1], [y0, y1], crs)
    return [round(float(v), 6) for v in (a, b, c, d)]
