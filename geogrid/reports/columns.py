"""The events as numpy columns, kept in step with the store by its change sequence.

District statistics read every event of the district; reading 100,000 rows
through the database driver takes about a second, and a million ten. So each
process keeps the few columns the statistics need (codes and categories as
small integers, times as integer microseconds) and, on each use, reads only
the rows written since it last looked: every write transaction raises the
store's change sequence and stamps the events it writes with it (migration
0005). A store whose sequence went backwards (restored from a backup) is
read afresh.

Examples
--------
>>> table = EventColumns()
>>> table.seen is None
True
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geogrid.storage.rawread import column_chunks
from geogrid.storage.schema import events, store_changes

__all__ = ["NOT_SET", "Columns", "EventColumns", "columns_of"]

NOT_SET = np.iinfo(np.int64).min  # a time that is not set (closed_at of an open case)
_CODES = ("district", "street", "community", "grid")  # micro, dedicated: ask SQL (rare)
_WORDS = ("status", "category")
_TIMES = ("reported_at", "closed_at", "close_due_at", "stage_due_at")
_FLOATS = ("lon", "lat")
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy keeps a DateTime in SQLite


@dataclass(frozen=True)
class Columns:
    """One consistent snapshot: parallel arrays sorted by event id.

    The code columns (district to grid), ``status`` and ``category`` index
    into ``vocabulary`` (-1 where the value is null); times are microseconds
    since the epoch in UTC, :data:`NOT_SET` where null; ``lon`` and ``lat`` the
    event's WGS-84 point.
    """

    id: np.ndarray
    district: np.ndarray
    street: np.ndarray
    community: np.ndarray
    grid: np.ndarray
    status: np.ndarray
    category: np.ndarray
    reported_at: np.ndarray
    closed_at: np.ndarray
    close_due_at: np.ndarray
    stage_due_at: np.ndarray
    lon: np.ndarray  # the WGS-84 point, float64
    lat: np.ndarray
    vocabulary: np.ndarray  # object array of the strings the integer columns index
    words: dict[str, int]  # vocabulary's inverse

    def __len__(self) -> int:
        """The number of events."""
        return len(self.id)

    def word(self, value: str) -> int:
        """The integer standing for ``value`` (-2, matching nothing, if it never occurs)."""
        return self.words.get(value, -2)


def _micros(column: sa.ColumnElement) -> sa.ColumnElement:
    """Integer microseconds since the epoch, computed by PostgreSQL (exact)."""
    return sa.cast(sa.extract("epoch", column) * 1_000_000, sa.BigInteger)


class EventColumns:
    """The columns of every event in one store, refreshed from its change sequence."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._columns: Columns | None = None
        self._words: dict[str, int] = {}
        self.seen: int | None = None  # the change sequence the snapshot reflects

    def read(self, conn: sa.Connection) -> Columns:
        """The snapshot as of now, reading only what changed since the last call."""
        with self._lock:
            seq = int(conn.scalar(sa.select(store_changes.c.seq).where(store_changes.c.id == 1)))
            if self._columns is None or self.seen is None or seq < self.seen:
                self._words = {}
                self._columns = self._merge(None, self._fetch(conn, None))
            elif seq > self.seen:
                # every write goes through Store.write, which raises the sequence first; on
                # PostgreSQL its row lock orders writers, so a sequence that is visible has
                # committed with all its rows, and later ones carry higher values
                self._columns = self._merge(self._columns, self._fetch(conn, self.seen))
            self.seen = seq
            return self._columns

    def _fetch(self, conn: sa.Connection, since: int | None) -> dict[str, np.ndarray]:
        """The rows written after ``since`` (all if None) as columns, read in chunks.

        Through :func:`~geogrid.storage.rawread.column_chunks` (the driver's
        cursor): strings become integers chunk by chunk, so a million rows
        never sit in memory as Python tuples at once.
        """
        postgres = conn.dialect.name == "postgresql"
        times = (
            (_micros(events.c[name]) for name in _TIMES)
            if postgres
            else (sa.type_coerce(events.c[name], sa.String) for name in _TIMES)
        )
        query = sa.select(
            events.c.id,
            *(events.c[name] for name in _CODES + _WORDS),
            *times,
            *(events.c[name] for name in _FLOATS),
        )
        if since is not None:
            query = query.where(events.c.change_seq > since)
        parts: list[dict[str, np.ndarray]] = []
        for fields in column_chunks(conn, query):
            part = {"id": np.array(fields[0], dtype=np.int64)}
            for i, name in enumerate(_CODES + _WORDS, start=1):
                part[name] = self._encode(fields[i])
            for i, name in enumerate(_TIMES, start=1 + len(_CODES + _WORDS)):
                part[name] = _times(fields[i], postgres)
            for i, name in enumerate(_FLOATS, start=1 + len(_CODES + _WORDS + _TIMES)):
                part[name] = np.array(fields[i], dtype=np.float64)
            parts.append(part)
        names = ("id", *_CODES, *_WORDS, *_TIMES, *_FLOATS)
        if not parts:
            return {
                name: np.empty(0, dtype=np.float64 if name in _FLOATS else np.int64)
                for name in names
            }
        return {name: np.concatenate([p[name] for p in parts]) for name in names}

    def _encode(self, values: tuple) -> np.ndarray:
        found, uniques = pd.factorize(np.array(values, dtype=object))  # None → -1
        words = self._words
        ids = np.array([words.setdefault(u, len(words)) for u in uniques], dtype=np.int32)
        return np.where(found < 0, -1, ids[found] if len(ids) else -1).astype(np.int32)

    def _merge(self, old: Columns | None, new: dict[str, np.ndarray]) -> Columns:
        if old is not None and not len(new["id"]):
            return old
        vocabulary = np.array(list(self._words), dtype=object)
        if old is None:
            order = np.argsort(new["id"], kind="stable")
            return Columns(
                **{k: v[order] for k, v in new.items()},
                vocabulary=vocabulary,
                words=dict(self._words),
            )
        # updated rows overwrite their old values in a copy (readers keep the old snapshot)
        at = np.searchsorted(old.id, new["id"])
        found = at < len(old.id)
        found[found] = old.id[at[found]] == new["id"][found]
        merged = {}
        for name, values in new.items():
            column = getattr(old, name).copy()
            column[at[found]] = values[found]
            merged[name] = np.concatenate([column, values[~found]])
        if len(old.id) and (~found).any() and new["id"][~found].min() < old.id[-1]:
            order = np.argsort(merged["id"], kind="stable")  # committed out of id order
            merged = {k: v[order] for k, v in merged.items()}
        return Columns(**merged, vocabulary=vocabulary, words=dict(self._words))


def _times(values: tuple, integers: bool) -> np.ndarray:
    """Microseconds since the epoch (:data:`NOT_SET` for None) from the database's values.

    PostgreSQL computed the integers; SQLite gives SQLAlchemy's text, parsed here.
    """
    if integers:
        out = np.array(values, dtype=object)
        out[out == None] = NOT_SET  # noqa: E711 (elementwise)
        return out.astype(np.int64)
    parsed = pd.to_datetime(pd.Series(values, dtype=object), format=_SQLITE_TIME)
    return parsed.to_numpy(dtype="datetime64[us]").view(np.int64)  # NaT is int64's minimum


_TABLES: weakref.WeakKeyDictionary[sa.Engine, EventColumns] = weakref.WeakKeyDictionary()
_TABLES_LOCK = threading.Lock()


def columns_of(conn: sa.Connection) -> Columns:
    """The event columns of ``conn``'s store, shared by every caller of this process."""
    with _TABLES_LOCK:
        table = _TABLES.setdefault(conn.engine, EventColumns())
    return table.read(conn)
