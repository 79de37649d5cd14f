"""Trends: events per day by category and by status, closure rates per week.

The command center's panel and the daily brief draw the last weeks of a grid
subtree. The days are calendar days in China Standard Time ending today; the
weeks are calendar weeks (Monday to Sunday) clipped to those days. Counts and
rates are :func:`geogrid.reports.metrics.stats`' own, computed on the same
cached event columns: a week's closure figures are exactly what ``stats``
answers for that week's period, so the panel, the brief and the statistics
never disagree.

Examples
--------
>>> from datetime import date
>>> [(str(a), str(b)) for a, b in week_spans(date(2026, 6, 26), date(2026, 7, 1))]
[('2026-06-26', '2026-06-28'), ('2026-06-29', '2026-07-01')]
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import sqlalchemy as sa

from geogrid import codes
from geogrid.cases.reports import CHINA
from geogrid.errors import InvalidInputError
from geogrid.reports.columns import Columns, columns_of
from geogrid.reports.metrics import CaseGrades, rows_of
from geogrid.times import utc

__all__ = ["MAX_DAYS", "china_day", "trend", "week_spans"]

#: the longest period a trend covers (a leap year)
MAX_DAYS = 366
_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def china_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in China Standard Time."""
    return utc(moment).astimezone(CHINA).date()


def _micros(moment: date | datetime) -> int:
    """Microseconds since the epoch at ``moment`` (a day: its start in China Standard Time)."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(), tzinfo=CHINA)
    return (utc(moment) - _EPOCH) // timedelta(microseconds=1)


def week_spans(first: date, last: date) -> list[tuple[date, date]]:
    """The calendar weeks (Monday to Sunday) from ``first`` to ``last``, clipped to them."""
    spans, day = [], first
    while day <= last:
        sunday = day + timedelta(days=6 - day.weekday())
        spans.append((day, min(sunday, last)))
        day = sunday + timedelta(days=1)
    return spans


def _check(code: str | None, days: int, category: str | None) -> None:
    if code is not None:
        codes.level_of(code)  # raises InvalidInputError naming the code
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInputError(
            f"days must be an integer from 1 to {MAX_DAYS}, got {days!r}",
            details=[{"field": "days", "message": f"expected 1 to {MAX_DAYS}"}],
        )
    if category is not None and not isinstance(category, str):
        raise InvalidInputError(f"category must be a string, got {category!r}")


def _per_day(c: Columns, words: np.ndarray, day: np.ndarray, n_days: int) -> dict[str, list]:
    """``{word: [count per day]}`` for the words present, sorted by word."""
    present = np.unique(words)
    rank = np.searchsorted(present, words)
    table = np.bincount(rank * n_days + day, minlength=len(present) * n_days)
    rows = table.reshape(len(present), n_days).tolist()
    return dict(sorted(zip(c.vocabulary[present].tolist(), rows, strict=True)))


def _weeks(c: Columns, rows: np.ndarray, spans: list, end: int) -> list[dict]:
    """结案率 and 按期结案率 per week, with the week's new cases (``reported``)."""
    out = []
    reported_at = c.reported_at[rows]
    for first, last in spans:
        lo, hi = _micros(first), min(_micros(last + timedelta(days=1)), end)
        grades = CaseGrades(c, rows, lo, hi)
        metrics = grades.per_key(np.zeros(len(rows), dtype=np.int64), 1)[0]
        reported = int(np.count_nonzero((reported_at >= lo) & (reported_at < hi)))
        out.append(
            {
                "week_start": (first - timedelta(days=first.weekday())).isoformat(),
                "from": first.isoformat(),
                "to": last.isoformat(),
                "reported": reported,
                **metrics,
            }
        )
    return out


def trend(
    conn: sa.Connection,
    now: datetime,
    code: str | None = None,
    days: int = 30,
    category: str | None = None,
) -> dict:
    """Events per day by category and by status, and closure metrics per week.

    Over the ``days`` calendar days (China Standard Time) ending on ``now``'s
    day, for ``code``'s subtree (the whole store if None), optionally one
    ``category``. Per day, the events reported that day by category and by
    their status now; per calendar week (clipped to the period), the week's
    reported events and :func:`~geogrid.reports.metrics.stats`' closure
    metrics (``due``, ``closed``, ``closed_on_time``, ``closure_rate``,
    ``on_time_rate``, ``median_hours_to_close``). The period ends at ``now``
    (inclusive), as ``stats``' does.

    Raises
    ------
    InvalidInputError
        A malformed ``code``, or ``days`` outside 1 to :data:`MAX_DAYS`.
    """
    _check(code, days, category)
    c = columns_of(conn)
    rows = rows_of(conn, c, code)
    if category is not None:
        rows = rows[c.category[rows] == c.word(category)]
    last = china_day(now)
    first = last - timedelta(days=days - 1)
    lo, hi = _micros(first), _micros(now) + 1
    at = c.reported_at[rows]
    reported = rows[(at >= lo) & (at < hi)]
    day = (c.reported_at[reported] - lo) // _DAY_US
    out = {
        "code": code,
        "category": category,
        "days": days,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days_list": [(first + timedelta(days=i)).isoformat() for i in range(days)],
        "reported": np.bincount(day, minlength=days).tolist(),
        "by_category": _per_day(c, c.category[reported], day, days),
        "by_status": _per_day(c, c.status[reported], day, days),
        "weeks": _weeks(c, rows, week_spans(first, last), hi),
    }
    if category is not None and category not in out["by_category"]:
        out["by_category"][category] = [0] * days
    return out
