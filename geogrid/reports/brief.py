"""The daily brief of a street or community: what its one printed A4 page shows.

A street leader reads the day on paper: the map of the street (its grids
shaded by open cases, the hot grids outlined, the cooling stations), the day's
figures beside yesterday's and the same day last week, the ten grids with the
most new cases, and the last 30 days. Every figure is the statistics' own
(:func:`~geogrid.reports.metrics.stats`, :func:`~geogrid.reports.trend.trend`),
so the paper and the screen agree; :mod:`geogrid.reports.briefpdf` draws it.

A day is a calendar day in China Standard Time. Open cases are those reported
by the end of the day and not closed by then (rejected and merged reports are
not cases); overdue open cases are those among them past their closure deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import sqlalchemy as sa
from shapely import Point

from geogrid import codes
from geogrid.cases.reports import CHINA
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.grid import Grid
from geogrid.reports.columns import NOT_SET, columns_of
from geogrid.reports.hotspots import hot_grids
from geogrid.reports.metrics import rows_of, stats
from geogrid.reports.trend import china_day, trend
from geogrid.stations import Station, load_stations
from geogrid.storage.store import Store
from geogrid.times import utc

__all__ = ["BRIEF_LEVELS", "Brief", "brief_of", "day_kpis", "parse_day"]

#: the levels a brief is made for
BRIEF_LEVELS = ("street", "community")
#: the days of the trend chart and of the counts behind the hot grids
TREND_DAYS = 30
TOP_GRIDS = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Brief:
    """Everything the page shows; ``kpis`` per day: the day, the day before, a week before."""

    code: str
    name: str
    day: date
    grids: list[Grid]  # the three-level grids of the street or community
    open_cases: dict[str, int]  # per grid code, at the end of the day
    hot: set[str]  # grid codes that are hot (Gi*, false discovery rate controlled)
    stations: list[Station]  # cooling stations inside
    kpis: dict[str, dict]  # "day", "yesterday", "last_week" → day_kpis
    top: list[dict]  # code, name, reported, open
    trend: dict  # geogrid.reports.trend.trend over TREND_DAYS ending the day


def parse_day(text: str | None, today: date) -> date:
    """``YYYY-MM-DD`` as a date, no later than ``today``; ``today`` if None or empty."""
    if text is None or text == "":
        return today
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise _bad("date", f"expected a date as YYYY-MM-DD, got {text!r}")
    if not date(2000, 1, 1) <= day <= today:
        raise _bad("date", f"expected a day from 2000-01-01 to today ({today}), got {text!r}")
    return day


def _bad(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{field}: {message}", details=[{"field": field, "message": message}])


def _unit(store: Store, code: str) -> Grid:
    """The street or community ``code`` of the active generation."""
    try:
        level = codes.level_of(code)
    except InvalidInputError as err:
        raise _bad("code", str(err)) from None
    if level not in BRIEF_LEVELS:
        raise _bad("code", f"expected a street or community code, got the {level} code {code!r}")
    try:
        return store.get_grid(code)
    except NotFoundError:
        raise _bad("code", f"no street or community {code!r} in the active generation") from None


def _micros(moment: datetime) -> int:
    return (utc(moment) - _EPOCH) // timedelta(microseconds=1)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=CHINA)


def day_kpis(conn: sa.Connection, code: str, day: date, now: datetime) -> dict:
    """The figures of ``day``: reported, closed, 结案率, 按期结案率 (stats'), overdue open.

    ``closed``, ``closure_rate`` and ``on_time_rate`` are those of
    :func:`~geogrid.reports.metrics.stats` for the day (the cases due to
    close that day, or closed that day); ``open`` and ``overdue_open`` are
    counted at the end of the day (or ``now``, if that is earlier).
    """
    start, end = _start(day), _start(day + timedelta(days=1))
    end = min(end, utc(now) + timedelta(microseconds=1))
    found = stats(conn, now, code, start, end, breakdown=False)
    open_at = _open_at(conn, code, end)
    return {
        "reported": found["reported"],
        "closed": found["closed"],
        "due": found["due"],
        "closure_rate": found["closure_rate"],
        "on_time_rate": found["on_time_rate"],
        "open": int(open_at["open"].sum()),
        "overdue_open": int(open_at["overdue"].sum()),
    }


def _open_at(conn: sa.Connection, code: str, end: datetime) -> dict[str, np.ndarray]:
    """Per event of ``code``'s subtree: open at ``end``, and overdue then; with its grid."""
    c = columns_of(conn)
    rows = rows_of(conn, c, code)
    moment = _micros(end)
    closed_at, status = c.closed_at[rows], c.status[rows]
    cases = ~np.isin(status, [c.word("rejected"), c.word("merged")])
    still = (closed_at == NOT_SET) | (closed_at >= moment)
    is_open = cases & (c.reported_at[rows] < moment) & still
    return {
        "open": is_open,
        "overdue": is_open & (c.close_due_at[rows] < moment),
        "grid": c.vocabulary[np.maximum(c.grid[rows], 0)].astype(str),
        "has_grid": c.grid[rows] >= 0,
    }


def _open_per_grid(conn: sa.Connection, code: str, end: datetime) -> dict[str, int]:
    found = _open_at(conn, code, end)
    keep = found["open"] & found["has_grid"]
    values, counts = np.unique(found["grid"][keep], return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def _hot(store: Store, conn: sa.Connection, end: datetime) -> set[str]:
    """The hot grids of the whole district over the last 30 days (Gi*, as the map's)."""
    tiles = store.load_grids(level="grid")
    c = columns_of(conn)
    moment = _micros(end)
    start = moment - TREND_DAYS * 86_400_000_000
    counted = ~np.isin(c.status, [c.word("rejected"), c.word("merged")])
    keep = counted & (c.reported_at >= start) & (c.reported_at < moment) & (c.grid >= 0)
    values, counts = np.unique(c.grid[keep], return_counts=True)
    per = dict(zip(c.vocabulary[values].tolist(), counts.tolist(), strict=True))
    households = [g.attributes.get("households") for g in tiles]
    known = all(isinstance(h, int | float) and not isinstance(h, bool) for h in households)
    if len(tiles) < 3:
        return set()
    found = hot_grids(
        [g.code for g in tiles],
        [g.geometry for g in tiles],
        [per.get(g.code, 0) for g in tiles],
        households=households if known else None,
    )
    return {g["code"] for g in found if g["class"].startswith("hot")}


def brief_of(store: Store, code: str, day: date, now: datetime) -> Brief:
    """The brief of street or community ``code`` for ``day`` (China Standard Time).

    Raises
    ------
    InvalidInputError
        ``code`` malformed, not a street or community, or not in the active
        generation; ``day`` after ``now``'s day. ``details`` names the field.
    """
    unit = _unit(store, code)
    if day > china_day(now):
        raise _bad("date", f"expected a day no later than today ({china_day(now)}), got {day}")
    end = min(_start(day + timedelta(days=1)), utc(now) + timedelta(microseconds=1))
    as_of = min(end - timedelta(microseconds=1), utc(now))
    grids = store.load_grids(code=code, level="grid")
    names = {g.code: g.name for g in grids}
    inside = [s for s in load_stations(store, "cooling") if _inside(unit, s)]
    with store.engine.connect() as conn:
        kpis = {
            name: day_kpis(conn, code, day - timedelta(days=back), now)
            for name, back in (("day", 0), ("yesterday", 1), ("last_week", 7))
        }
        open_cases = _open_per_grid(conn, code, end)
        found = stats(conn, now, code, _start(day), end)
        hot = _hot(store, conn, end) & set(names)
        days = trend(conn, as_of, code, TREND_DAYS)
    top = sorted(
        (g for g in found["by_grid"] if g["reported"] and g["code"] in names),
        key=lambda g: (-g["reported"], g["code"]),
    )[:TOP_GRIDS]
    return Brief(
        code=code,
        name=unit.name,
        day=day,
        grids=grids,
        open_cases=open_cases,
        hot=hot,
        stations=inside,
        kpis=kpis,
        top=[
            {
                "code": g["code"],
                "name": names[g["code"]],
                "reported": g["reported"],
                "open": open_cases.get(g["code"], 0),
            }
            for g in top
        ],
        trend=days,
    )


def _inside(unit: Grid, station: Station) -> bool:
    return unit.geometry.covers(Point(station.lon, station.lat))
