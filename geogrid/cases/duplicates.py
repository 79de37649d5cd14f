"""Likely duplicates: an open event of the same category within 50 m and 72 h.

Open events live in an ``rtree`` (libspatialindex) index in three dimensions —
metres east, metres north, hours — one index per category, so the question is
one box query and an exact distance check. The index follows the store: before
each query it reads the events and status changes added since it last looked,
so events stored by other threads or web workers are seen too.

libspatialindex is not thread-safe: every method that reads or changes the
trees holds the finder's lock (a web worker's threads share one finder).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyproj
import sqlalchemy as sa
from rtree import index as rtree_index

from geogrid.cases.workflow import FINAL, OPEN
from geogrid.storage.schema import event_history, events
from geogrid.times import utc

__all__ = ["DuplicateFinder", "DEFAULT_RADIUS_M", "DEFAULT_WINDOW_H"]

DEFAULT_RADIUS_M = 50.0
DEFAULT_WINDOW_H = 72.0
_GEOD = pyproj.Geod(ellps="WGS84")


class _Seen:
    """Which ids of a table the finder has read: all up to ``top``, except ``holes``.

    On PostgreSQL an id is taken when a row is inserted but seen when its
    transaction commits, which need not be in id order: an id skipped over may
    appear later. It is asked for again until it does, or until ``TTL_S`` has
    passed (a rolled-back insert never appears).
    """

    TTL_S = 120.0
    MAX_HOLES = 20_000

    def __init__(self) -> None:
        self.top = 0
        self.holes: dict[int, float] = {}

    def unread(self, column: sa.Column):
        condition = column > self.top
        return sa.or_(condition, column.in_(sorted(self.holes))) if self.holes else condition

    def saw(self, ids: list[int]) -> None:
        now = time.monotonic()
        for i in ids:
            self.holes.pop(i, None)
        top = max(ids, default=0)
        if top > self.top:
            if top - self.top <= self.MAX_HOLES:
                seen = set(ids)
                self.holes.update({i: now for i in range(self.top + 1, top) if i not in seen})
            self.top = top
        self.holes = {i: t for i, t in self.holes.items() if now - t < self.TTL_S}


@dataclass(frozen=True)
class _Entry:
    category: str
    lon: float
    lat: float
    hours: float


class DuplicateFinder:
    """Finds open events near a new one in space and time; synced from the store."""

    def __init__(
        self,
        engine: sa.Engine,
        radius_m: float = DEFAULT_RADIUS_M,
        window_h: float = DEFAULT_WINDOW_H,
    ) -> None:
        self.engine = engine
        self.radius_m = float(radius_m)
        self.window_h = float(window_h)
        self._lock = threading.RLock()
        self._trees: dict[str, rtree_index.Index] = {}
        self._entries: dict[int, _Entry] = {}
        self._events_seen = _Seen()
        self._history_seen = _Seen()
        self._origin: tuple[float, float] | None = None

    def locked(self) -> threading.RLock:
        """Hold the finder for a run of calls (``with finder.locked():``): one hand-over
        between threads per batch instead of one per call."""
        return self._lock

    def _xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Local metres (equirectangular about the first event: ample for a 50 m box)."""
        if self._origin is None:
            self._origin = (lon, lat)
        x0, y0 = self._origin
        return (lon - x0) * 111_320.0 * np.cos(np.radians(y0)), (lat - y0) * 110_574.0

    def _box(self, entry: _Entry, pad_m: float = 0.0, pad_h: float = 0.0) -> tuple:
        x, y = self._xy(entry.lon, entry.lat)
        return (
            x - pad_m,
            y - pad_m,
            entry.hours - pad_h,
            x + pad_m,
            y + pad_m,
            entry.hours + pad_h,
        )

    def _tree(self, category: str) -> rtree_index.Index:
        if category not in self._trees:
            props = rtree_index.Property()
            props.dimension = 3
            self._trees[category] = rtree_index.Index(properties=props)
        return self._trees[category]

    def add(
        self, event_id: int, category: str, lon: float, lat: float, reported_at: datetime
    ) -> None:
        """Index an open event."""
        entry = _Entry(category, lon, lat, utc(reported_at).timestamp() / 3600.0)
        with self._lock:
            self._entries[event_id] = entry
            self._tree(category).insert(event_id, self._box(entry))

    def remove(self, event_id: int) -> None:
        """Forget an event that is no longer open."""
        with self._lock:
            entry = self._entries.pop(event_id, None)
            if entry is not None:
                self._tree(entry.category).delete(event_id, self._box(entry))

    def sync(self, conn: sa.Connection | None = None) -> None:
        """Read the events and status changes stored since the last sync."""
        with self._lock:
            if conn is None:
                with self.engine.connect() as own:
                    self._sync(own)
            else:
                self._sync(conn)

    def _sync(self, conn: sa.Connection) -> None:
        new = conn.execute(
            sa.select(
                events.c.id,
                events.c.category,
                events.c.lon,
                events.c.lat,
                events.c.reported_at,
                events.c.status,
            )
            .where(self._events_seen.unread(events.c.id))
            .order_by(events.c.id)
        ).all()
        steps = conn.execute(
            sa.select(
                event_history.c.id,
                event_history.c.event_id,
                event_history.c.from_status,
                events.c.status,
            )
            .join(events, events.c.id == event_history.c.event_id)
            .where(self._history_seen.unread(event_history.c.id))
        ).all()
        for row in new:
            if row.status in OPEN:
                self.add(row.id, row.category, row.lon, row.lat, row.reported_at)
        for step in steps:
            if step.from_status is not None and step.status in FINAL:
                self.remove(step.event_id)
        self._events_seen.saw([row.id for row in new])
        self._history_seen.saw([step.id for step in steps])

    def find(
        self,
        category: str,
        lon: float,
        lat: float,
        reported_at: datetime,
        exclude: int | None = None,
    ) -> list[int]:
        """Ids of open events of ``category`` within the radius and window, nearest first."""
        probe = _Entry(category, lon, lat, utc(reported_at).timestamp() / 3600.0)
        with self._lock:
            if category not in self._trees:
                return []
            box = self._box(probe, self.radius_m, self.window_h)
            hits = [i for i in self._tree(category).intersection(box) if i != exclude]
            lons = np.array([self._entries[i].lon for i in hits])
            lats = np.array([self._entries[i].lat for i in hits])
        if not hits:
            return []
        _, _, metres = _GEOD.inv(np.full(len(hits), lon), np.full(len(hits), lat), lons, lats)
        return sorted(
            (float(m), int(i)) for m, i in zip(metres, hits, strict=True) if m <= self.radius_m
        )
