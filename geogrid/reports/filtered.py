"""An :class:`~geogrid.cases.queries.EventFilter` applied to the event columns.

The map's layers (open cases per grid, the heat cells, the counts behind the
hot grids) read every event the filter selects. Through SQL that is a query
and 100,000 rows each time the map page is drawn after a write; on the
process's event columns (:mod:`geogrid.reports.columns`, kept in step with the
store's change sequence) it is a few array comparisons. The filters the
columns cannot answer (a bounding box, a source, a queue, ids) return None,
and the caller asks SQL, so every filter keeps its meaning.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from geogrid.cases.queries import EventFilter
from geogrid.cases.workflow import OPEN
from geogrid.reports.columns import NOT_SET, Columns, columns_of
from geogrid.reports.metrics import rows_of
from geogrid.times import utc

__all__ = ["micros", "selected"]

#: the fields the columns answer; any other set means SQL
_ANSWERED = {"code", "category", "status", "overdue", "start", "end", "through"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    """``moment`` as integer microseconds since the epoch, as the columns keep times."""
    return (utc(moment) - _EPOCH) // timedelta(microseconds=1)


def selected(
    conn: sa.Connection, flt: EventFilter, now: datetime
) -> tuple[Columns, np.ndarray] | None:
    """The columns and the positions of the events ``flt`` selects, or None (ask SQL).

    Exactly the events of ``flt.where(now)``: ``code`` its subtree, ``category``
    and ``status`` one value or any of a tuple, ``overdue`` an open case past its
    stage deadline at ``now``, ``start``/``end`` reported in [start, end),
    ``through`` reported at or before it.
    """
    asked = {
        f.name
        for f in dataclasses.fields(flt)
        if getattr(flt, f.name) != f.default and f.name not in _ANSWERED
    }
    if asked:
        return None
    c = columns_of(conn)
    rows = rows_of(conn, c, flt.code)
    for name in ("category", "status"):
        value = getattr(flt, name)
        if isinstance(value, tuple):
            rows = rows[np.isin(getattr(c, name)[rows], [c.word(v) for v in value])]
        elif value:
            rows = rows[getattr(c, name)[rows] == c.word(value)]
    if flt.overdue is not None:
        late = late_at(c, rows, now)
        rows = rows[late if flt.overdue else ~late]
    at = c.reported_at[rows]
    keep = np.ones(len(rows), dtype=bool)
    if flt.start:
        keep &= at >= micros(flt.start)
    if flt.end:
        keep &= at < micros(flt.end)
    if flt.through:
        keep &= at <= micros(flt.through)
    return c, rows[keep]


def late_at(c: Columns, rows: np.ndarray, now: datetime) -> np.ndarray:
    """Whether each event of ``rows`` is an open case past its stage deadline at ``now``."""
    due = c.stage_due_at[rows]
    is_open = np.isin(c.status[rows], [c.word(s) for s in OPEN])
    return is_open & (due != NOT_SET) & (due < micros(now))
