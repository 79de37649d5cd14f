"""Event intake: validate, convert, assign, flag likely duplicates, store — per item.

Good items are stored in one transaction, bad ones reported by index with the
reason; nothing is half-stored. An idempotency key (per reporter) makes a
retried request return the stored event instead of storing it twice. A point
outside every grid is stored with method ``outside``, never refused.

Each batch is assigned wholly under one generation, and only under the active
one: the write transaction checks the index's generation against the store's
(after :meth:`Store.write` has ordered it against boundary changes) and, if a
redraw has been committed meanwhile, assigns the batch again under the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from geogrid.cases.categories import Category
from geogrid.cases.duplicates import DuplicateFinder
from geogrid.cases.queries import event_dict, select_events
from geogrid.cases.validate import EventInput, parse_event
from geogrid.cases.workflow import stage_due
from geogrid.coords import to_wgs84
from geogrid.engine.assign import GridIndex
from geogrid.errors import ConflictError, InvalidInputError
from geogrid.storage.schema import event_history, events, generations
from geogrid.storage.store import Store
from geogrid.times import to_db_time

__all__ = ["MAX_BATCH", "Intake", "IntakeResult", "StaleIndexError"]

MAX_BATCH = 10_000
_CHUNK = 500  # SQLite's bound-parameter limit is generous, not infinite
_RETRIES = 3


class StaleIndexError(ConflictError):
    """The index's generation is no longer the active one."""

    def __init__(self, index_generation: int | None, active: int | None) -> None:
        super().__init__(
            f"the boundaries changed from generation {index_generation} to {active} "
            "while this batch was being assigned; submit it again"
        )
        self.active = active


@dataclass
class IntakeResult:
    """One submitted item: ``created``, ``existing`` (a replayed key) or ``invalid``."""

    index: int
    outcome: str
    event: dict | None = None
    error: dict | None = None


class Intake:
    """Takes events into a store, assigning each under the index's generation."""

    def __init__(
        self, store: Store, categories: dict[str, Category], finder: DuplicateFinder | None = None
    ) -> None:
        self.store = store
        self.categories = categories
        self.finder = finder or DuplicateFinder(store.engine)

    def submit(
        self,
        items: list,
        actor: str,
        index: GridIndex,
        now: datetime,
        personal: bool = False,
        describe: bool = True,
        reindex: Callable[[], GridIndex] | None = None,
        attach: Callable[[sa.Connection, int], None] | None = None,
    ) -> list[IntakeResult]:
        """Validate and store ``items``; one result per item, in order.

        With ``describe`` each stored item's result carries the event as JSON
        (reporter fields masked unless ``personal``); without, only its id.
        If the active generation is no longer ``index``'s, ``reindex()`` gives
        the index to assign under instead; without it :class:`StaleIndexError`.
        ``attach(conn, event_id)`` runs in the same transaction for each event
        this call creates (photos of the report), so both are stored or neither.
        """
        if len(items) > MAX_BATCH:
            raise InvalidInputError(
                f"events: a batch of {len(items)} is over the limit of {MAX_BATCH}",
                details=[{"field": "events", "message": f"at most {MAX_BATCH} per request"}],
            )
        results: list[IntakeResult | None] = [None] * len(items)
        good: list[tuple[int, EventInput]] = []
        for i, obj in enumerate(items):
            try:
                good.append((i, parse_event(obj, self.categories, now)))
            except InvalidInputError as err:
                results[i] = IntakeResult(
                    i,
                    "invalid",
                    error={
                        "type": type(err).__name__,
                        "message": err.message,
                        "details": err.details,
                    },
                )
        # Idempotency keys need no retry: SQLite's write lock lets one request at a time
        # look them up, and PostgreSQL's insert waits on a concurrent one (ON CONFLICT).
        for attempt in range(1, _RETRIES + 1):
            try:
                with self.store.write() as conn:
                    stored = self._store(conn, good, actor, index, now)
                    for event_id, outcome in stored.values() if attach else ():
                        if outcome == "created":
                            attach(conn, event_id)
                break
            except StaleIndexError:
                if reindex is None or attempt == _RETRIES:
                    raise
                index = reindex()  # a redraw was committed: assign under the new generation
        rows = self._read(stored) if describe else {}
        for i, (event_id, outcome) in stored.items():
            event = event_dict(rows[event_id], now, personal) if describe else {"id": event_id}
            results[i] = IntakeResult(i, outcome, event=event)
        return results  # type: ignore[return-value]

    def _read(self, stored: dict) -> dict:
        rows = {}
        ids = sorted({event_id for event_id, _ in stored.values()})
        with self.store.engine.connect() as conn:
            for start in range(0, len(ids), _CHUNK):
                query = select_events().where(events.c.id.in_(ids[start : start + _CHUNK]))
                rows.update({r.id: r for r in conn.execute(query)})
        return rows

    def _store(self, conn, good, actor, index, now) -> dict[int, tuple[int, str]]:
        """Insert the new items; return item index → (event id, outcome)."""
        active = conn.scalar(sa.select(generations.c.id).where(generations.c.active))
        if active != index.generation:
            raise StaleIndexError(index.generation, active)
        existing = self._existing_keys(conn, actor, [e.idempotency_key for _, e in good])
        out: dict[int, tuple[int, str]] = {}
        first_of_key: dict[str, int] = {}
        new: list[tuple[int, EventInput]] = []
        for i, event in good:
            key = event.idempotency_key
            if key in existing:
                out[i] = (existing[key], "existing")
            elif key is not None and key in first_of_key:
                out[i] = (-1 - first_of_key[key], "existing")  # resolved below
            else:
                if key is not None:
                    first_of_key[key] = i
                new.append((i, event))
        stored = self._insert(conn, new, actor, index, now)
        for (i, _), (event_id, created) in zip(new, stored, strict=True):
            out[i] = (event_id, "created" if created else "existing")
        for i, (event_id, outcome) in list(out.items()):
            if event_id < 0:
                out[i] = (out[-1 - event_id][0], outcome)
        return out

    def _existing_keys(self, conn, actor: str, keys: list) -> dict[str, int]:
        keys = sorted({k for k in keys if k is not None})
        found = {}
        for start in range(0, len(keys), _CHUNK):
            found.update(
                dict(
                    conn.execute(
                        sa.select(events.c.idempotency_key, events.c.id).where(
                            events.c.created_by == actor,
                            events.c.idempotency_key.in_(keys[start : start + _CHUNK]),
                        )
                    ).all()
                )
            )
        return found

    def _insert(self, conn, new, actor, index, now) -> list[tuple[int, bool]]:
        """Assign and insert ``new``: per item its event id and whether this stored it."""
        if not new:
            return []
        lon = np.array([e.lon for _, e in new])
        lat = np.array([e.lat for _, e in new])
        x, y = lon.copy(), lat.copy()
        for crs in {e.crs for _, e in new}:
            mask = np.array([e.crs == crs for _, e in new])
            x[mask], y[mask] = to_wgs84(lon[mask], lat[mask], crs)
        found = index.assign(x, y)
        rows = [self._row(e, k, x[k], y[k], found, actor, now) for k, (_, e) in enumerate(new)]
        maybe_ids = self._insert_rows(conn, rows)
        lost = [row["idempotency_key"] for row, i in zip(rows, maybe_ids, strict=True) if i is None]
        theirs = self._existing_keys(conn, actor, lost) if lost else {}
        stored = [
            (i, True) if i is not None else (theirs[row["idempotency_key"]], False)
            for row, i in zip(rows, maybe_ids, strict=True)
        ]
        rows = [row for row, i in zip(rows, maybe_ids, strict=True) if i is not None]
        ids = [i for i in maybe_ids if i is not None]
        if not ids:
            return stored
        conn.execute(
            sa.insert(event_history),
            [
                {
                    "event_id": i,
                    "at": to_db_time(now),
                    "actor": actor,
                    "from_status": None,
                    "to_status": "reported",
                    "note": "",
                }
                for i in ids
            ],
        )
        self._flag_duplicates(conn, ids, rows)
        return stored

    @staticmethod
    def _insert_rows(conn: sa.Connection, rows: list[dict]) -> list[int | None]:
        """Insert event rows, returning their ids in order.

        None where a concurrent request stored the same idempotency key first
        (PostgreSQL: ON CONFLICT DO NOTHING waits for that request to commit).
        """
        if conn.dialect.name == "sqlite":
            # The write transaction holds SQLite's only write lock (BEGIN IMMEDIATE), so the
            # next ids are ours to give; one executemany beats row-at-a-time RETURNING.
            top = conn.scalar(sa.select(sa.func.max(events.c.id))) or 0
            ids = list(range(top + 1, top + 1 + len(rows)))
            conn.execute(sa.insert(events), [r | {"id": i} for r, i in zip(rows, ids, strict=True)])
            return ids
        ids: list[int | None] = [None] * len(rows)
        keyed = [k for k, row in enumerate(rows) if row["idempotency_key"] is not None]
        plain = [k for k, row in enumerate(rows) if row["idempotency_key"] is None]
        insert_keyed = (
            pg_insert(events)
            .on_conflict_do_nothing(constraint="uq_events_idempotency")
            .returning(events.c.id, events.c.idempotency_key)
        )
        insert_plain = sa.insert(events).returning(events.c.id, sort_by_parameter_order=True)
        for start in range(0, len(keyed), _CHUNK):
            chunk = keyed[start : start + _CHUNK]
            by_key = {k: i for i, k in conn.execute(insert_keyed, [rows[k] for k in chunk])}
            for k in chunk:
                ids[k] = by_key.get(rows[k]["idempotency_key"])
        for start in range(0, len(plain), _CHUNK):
            chunk = plain[start : start + _CHUNK]
            result = conn.execute(insert_plain, [rows[k] for k in chunk])
            for k, r in zip(chunk, result, strict=True):
                ids[k] = r.id
        return ids

    def _row(self, event: EventInput, k: int, x: float, y: float, found, actor, now) -> dict:
        category = self.categories[event.category]
        return {
            "created_at": to_db_time(now),
            "created_by": actor,
            "reported_at": to_db_time(event.reported_at),
            "lon": float(x),
            "lat": float(y),
            "crs": event.crs,
            "lon_in": event.lon,
            "lat_in": event.lat,
            "category": event.category,
            "description": event.description,
            "source": event.source,
            "reporter_name": event.reporter_name,
            "reporter_phone": event.reporter_phone,
            "status": "reported",
            "status_at": to_db_time(now),
            "stage_due_at": to_db_time(stage_due("reported", event.reported_at, category)),
            "close_due_at": to_db_time(event.reported_at + timedelta(hours=category.close_hours)),
            "closed_at": None,
            "generation_id": found.generation,
            "idempotency_key": event.idempotency_key,
            **{
                c: (str(getattr(found, c)[k]) or None)
                for c in ("district", "street", "community", "grid", "micro", "dedicated", "method")
            },
        }

    def _flag_duplicates(self, conn, ids: list[int], rows: list[dict]) -> None:
        """Flag each new event near an open one; earlier items of the batch count too."""
        batch = DuplicateFinder(None, self.finder.radius_m, self.finder.window_h)
        flags = []
        with self.finder.locked():
            self.finder.sync()
            for event_id, row in zip(ids, rows, strict=True):
                args = (row["category"], row["lon"], row["lat"], row["reported_at"])
                hits = [h for h in (self.finder.nearest(*args), batch.nearest(*args)) if h]
                if hits:
                    flags.append({"event_id": event_id, "dup": min(hits)[1]})
                batch.add(event_id, *args)
        if flags:
            conn.execute(
                sa.update(events)
                .where(events.c.id == sa.bindparam("event_id"))
                .values(likely_duplicate_of=sa.bindparam("dup")),
                flags,
            )
