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

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geogrid import codes
from geogrid.reports.columns import NOT_SET, Columns, columns_of
from geogrid.storage.schema import events
from geogrid.times import utc

__all__ = ["CaseGrades", "closure", "frame_of", "rates", "rows_of", "stats"]

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


def _micros(moment: pd.Timestamp) -> int:
    return moment.value // 1000  # pandas keeps nanoseconds


def _medians(keys: np.ndarray, values: np.ndarray, n_keys: int) -> list:
    """The median of ``values`` (sorted ascending) per key in ``range(n_keys)``; None if none."""
    if n_keys <= np.iinfo(np.int16).max:
        keys = keys.astype(np.int16)  # numpy sorts 16-bit integers by radix: linear time
    order = np.argsort(keys, kind="stable")  # values stay ascending within each key
    values = values[order].astype(np.float64)
    counts = np.bincount(keys, minlength=n_keys)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    low = starts[has] + (counts[has] - 1) // 2
    high = starts[has] + counts[has] // 2
    out = np.full(n_keys, np.nan)
    out[has] = (values[low] + values[high]) / 2.0
    return [None if np.isnan(m) else round(m / 3.6e9, 2) for m in out.tolist()]


class CaseGrades:
    """Which of ``rows`` are due, closed and closed on time in [start, end)."""

    def __init__(self, c: Columns, rows: np.ndarray, start: int, end: int) -> None:
        status = c.status[rows]
        live = ~np.isin(status, [c.word("rejected"), c.word("merged")])
        due_at, closed_at = c.close_due_at[rows], c.closed_at[rows]
        set_ = closed_at != NOT_SET
        due_in = (due_at >= start) & (due_at < end)
        closed_in = set_ & (closed_at >= start) & (closed_at < end)
        due = live & (due_in | closed_in)
        self.closed = due & (status == c.word("closed")) & set_ & (closed_at < end)
        on_time = self.closed & (closed_at <= due_at)
        # nested sets: 0 not due, 1 due, 2 closed late, 3 closed on time
        self.grade = due.astype(np.int64) + self.closed + on_time
        hours = closed_at[self.closed] - c.reported_at[rows][self.closed]
        self.by_hours = np.argsort(hours)  # ties are equal values: any order will do
        self.hours = hours[self.by_hours]

    def per_key(self, keys: np.ndarray, n: int) -> list[dict]:
        """The closure metrics of each key in ``range(n)`` (``keys`` parallel to the rows)."""
        grades = np.bincount(keys * 4 + self.grade, minlength=4 * n).reshape(n, 4)
        due = grades[:, 1:].sum(axis=1).tolist()
        closed = grades[:, 2:].sum(axis=1).tolist()
        on_time = grades[:, 3].tolist()
        medians = _medians(keys[self.closed][self.by_hours], self.hours, n)
        out = []
        for k in range(n):
            row = rates(due[k], closed[k], on_time[k])
            row["median_hours_to_close"] = medians[k]
            out.append(row)
        return out


def _units(present: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``present`` (-1 first if any) and each row's index among them.

    ``present`` holds integers in [-1, size): counting beats sorting.
    """
    seen = np.bincount(present + 1, minlength=size + 1) > 0
    units = np.flatnonzero(seen) - 1
    rank = np.cumsum(seen) - 1
    return units, rank[present + 1]


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
    ``now`` (inclusive: a case reported this instant counts). Computed on the
    process's event columns (:mod:`geogrid.reports.columns`), which read only
    what was written since the last call.
    """
    c = columns_of(conn)
    start = pd.Timestamp(utc(start)) if start else None
    end = pd.Timestamp(utc(end)) if end else pd.Timestamp(utc(now)) + pd.Timedelta(1, "us")
    lo, hi = (NOT_SET if start is None else _micros(start)), _micros(end)
    rows = rows_of(conn, c, code)
    in_period = (c.reported_at[rows] >= lo) & (c.reported_at[rows] < hi)
    reported = rows[in_period]
    cases = CaseGrades(c, rows, lo, hi)
    out = {
        "code": code,
        "from": None if start is None else start.isoformat(),
        "to": end.isoformat(),
        "reported": len(reported),
        "by_status": _counted(c, c.status[reported]),
        "by_category": _counted(c, c.category[reported]),
        **cases.per_key(np.zeros(len(rows), dtype=np.int64), 1)[0],
    }
    for level in _LEVELS if breakdown else ():
        present = getattr(c, level)[rows]
        units, keys = _units(present, len(c.vocabulary))
        counts = np.bincount(keys[in_period], minlength=len(units)).tolist()
        metrics = cases.per_key(keys, len(units))
        named = sorted((c.vocabulary[u], k) for k, u in enumerate(units.tolist()) if u >= 0)
        out[f"by_{level}"] = [
            {"code": unit, "reported": counts[k], **metrics[k]} for unit, k in named
        ]
    return out


def rows_of(conn: sa.Connection, c: Columns, code: str | None) -> np.ndarray:
    """The positions in ``c`` of the events in ``code``'s subtree (all if None)."""
    if not code:
        return np.arange(len(c))
    level = codes.level_of(code)
    if hasattr(c, level):
        return np.flatnonzero(getattr(c, level) == c.word(code))
    ids = conn.scalars(sa.select(events.c.id).where(events.c[level] == code)).all()
    return np.flatnonzero(np.isin(c.id, np.array(ids, dtype=np.int64)))


def _counted(c: Columns, words: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(words, return_counts=True)
    return dict(sorted(zip(c.vocabulary[values].tolist(), counts.tolist(), strict=True)))
