"""Closure metrics of digital city management, per street, community and grid.

- due to close (应结案数): cases neither rejected nor merged whose closure
  deadline falls in the period, or that were closed in the period;
- closure rate (结案率) = closed / due to close;
- on-time closure rate (按期结案率) = closed by the deadline / due to close.

Rates are percentages with two decimals, None when nothing was due.

Examples
--------
>>> rates(due=972, closed=911, on_time=737)
{'due': 972, 'closed': 911, 'closed_on_time': 737, 'closure_rate': 93.72, 'on_time_rate': 75.82}
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from geogrid import codes
from geogrid.storage.schema import events
from geogrid.times import utc

__all__ = ["closure", "frame_of", "rates", "stats"]

_LEVELS = ("street", "community", "grid")


def rates(due: int, closed: int, on_time: int) -> dict:
    """The closure and on-time rates as percentages rounded to 2 decimals."""

    def pct(n: int) -> float | None:
        return None if due == 0 else round(100.0 * n / due, 2)

    return {
        "due": int(due),
        "closed": int(closed),
        "closed_on_time": int(on_time),
        "closure_rate": pct(closed),
        "on_time_rate": pct(on_time),
    }


def frame_of(conn: sa.Connection, code: str | None) -> pd.DataFrame:
    """The events of ``code``'s subtree (all if None) as a frame, times in UTC."""
    query = sa.select(
        events.c.id,
        events.c.category,
        events.c.status,
        events.c.street,
        events.c.community,
        events.c.grid,
        events.c.reported_at,
        events.c.closed_at,
        events.c.close_due_at,
    )
    if code:
        query = query.where(events.c[codes.level_of(code)] == code)
    columns = [
        "id",
        "category",
        "status",
        "street",
        "community",
        "grid",
        "reported_at",
        "closed_at",
        "close_due_at",
    ]
    # plain tuples: pandas is slow at probing SQLAlchemy rows for attributes
    frame = pd.DataFrame.from_records([tuple(r) for r in conn.execute(query)], columns=columns)
    for column in ("reported_at", "closed_at", "close_due_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def closure(frame: pd.DataFrame, start, end) -> dict:
    """结案率 and 按期结案率 of the cases in ``frame`` due to close in ``[start, end)``."""
    cases = frame[~frame.status.isin(["rejected", "merged"])]
    due_in = (cases.close_due_at >= start) & (cases.close_due_at < end)
    closed_in = cases.closed_at.notna() & (cases.closed_at >= start) & (cases.closed_at < end)
    due = cases[due_in | closed_in]
    closed = due[due.status.eq("closed") & (due.closed_at < end)]
    on_time = closed[closed.closed_at <= closed.close_due_at]
    hours = (closed.closed_at - closed.reported_at).dt.total_seconds() / 3600.0
    out = rates(len(due), len(closed), len(on_time))
    out["median_hours_to_close"] = None if hours.empty else round(float(hours.median()), 2)
    return out


def stats(
    conn: sa.Connection,
    now: datetime,
    code: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    breakdown: bool = True,
) -> dict:
    """Counts by status and category (reported in the period) and closure metrics.

    With ``breakdown`` the same per street, community and grid.

    The period is [start, end); open-ended sides reach the first report and
    ``now`` (inclusive: a case reported this instant counts).
    """
    frame = frame_of(conn, code)
    start = pd.Timestamp(utc(start)) if start else pd.Timestamp.min.tz_localize("UTC")
    end = pd.Timestamp(utc(end)) if end else pd.Timestamp(utc(now)) + pd.Timedelta(1, "us")
    reported = frame[(frame.reported_at >= start) & (frame.reported_at < end)]
    out = {
        "code": code,
        "from": None if start.year == 1677 else start.isoformat(),
        "to": end.isoformat(),
        "reported": len(reported),
        "by_status": {k: int(v) for k, v in reported.status.value_counts().sort_index().items()},
        "by_category": {
            k: int(v) for k, v in reported.category.value_counts().sort_index().items()
        },
        **closure(frame, start, end),
    }
    for level in _LEVELS if breakdown else ():
        rows = []
        for unit, part in frame.dropna(subset=[level]).groupby(level, sort=True):
            rows.append(
                {
                    "code": unit,
                    "reported": int(((part.reported_at >= start) & (part.reported_at < end)).sum()),
                    **closure(part, start, end),
                }
            )
        out[f"by_{level}"] = rows
    return out
