"""Events as cases: reading them with filters, one at a time with their history, as JSON.

Who may see what is decided by the caller (see :mod:`geogrid.auth`); status
changes are :mod:`geogrid.cases.workflow`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from geogrid import codes
from geogrid.cases.workflow import OPEN
from geogrid.errors import NotFoundError
from geogrid.privacy import mask_name, mask_phone
from geogrid.storage.schema import event_history, events
from geogrid.times import to_db_time, to_iso, utc

__all__ = [
    "PUBLIC_DECIMALS",
    "PUBLISHED",
    "EventFilter",
    "event_dict",
    "get_event",
    "last_notes",
    "list_events",
    "public_event_dict",
    "queue_of",
]


@dataclass(frozen=True)
class EventFilter:
    """Filters of an event listing; ``code`` matches its whole subtree.

    ``category`` and ``status`` take one value or a tuple of them; ``end`` is
    exclusive and ``through`` inclusive (OGC and Open311 intervals include their end).
    """

    code: str | None = None
    category: str | tuple[str, ...] | None = None
    status: str | tuple[str, ...] | None = None
    overdue: bool | None = None
    start: datetime | None = None
    end: datetime | None = None
    through: datetime | None = None
    bbox_wgs84: tuple[float, float, float, float] | None = None
    source: str | None = None
    ids: tuple[int, ...] | None = None

    def where(self, now: datetime) -> list:
        """The filter as SQL clauses on ``events`` (overdue is judged at ``now``)."""
        clauses = []
        if self.code:
            level = codes.level_of(self.code)
            clauses.append(events.c[level] == self.code)
        for column, value in (("category", self.category), ("status", self.status)):
            if isinstance(value, tuple):
                clauses.append(events.c[column].in_(value))
            elif value:
                clauses.append(events.c[column] == value)
        if self.source:
            clauses.append(events.c.source == self.source)
        if self.ids is not None:
            clauses.append(events.c.id.in_(self.ids))
        if self.overdue is not None:
            late = sa.and_(events.c.status.in_(OPEN), events.c.stage_due_at < to_db_time(now))
            clauses.append(late if self.overdue else sa.not_(late))
        if self.start:
            clauses.append(events.c.reported_at >= to_db_time(self.start))
        if self.end:
            clauses.append(events.c.reported_at < to_db_time(self.end))
        if self.through:
            clauses.append(events.c.reported_at <= to_db_time(self.through))
        if self.bbox_wgs84:
            x0, y0, x1, y1 = self.bbox_wgs84
            clauses.extend([events.c.lon.between(x0, x1), events.c.lat.between(y0, y1)])
        return clauses


def queue_of(row, now: datetime) -> str | None:
    """Whose queue a case is in: its grid, its street once overdue, the district if outside."""
    if row.method == "outside" or not row.street:
        return row.district
    if row.status in OPEN and row.stage_due_at is not None and utc(row.stage_due_at) < now:
        return row.street
    return row.grid or row.community or row.street


#: What the public view publishes: ``summary`` (category, status, times, grid chain,
#: location to ~100 m), ``full`` (the description too) or ``none`` (nothing).
PUBLISHED = ("summary", "full", "none")
#: decimals of a public location: 0.001° is ~111 m north-south, ~91 m east-west here
PUBLIC_DECIMALS = 3


def public_event_dict(row, now: datetime, publish: str = "summary") -> dict:
    """One event as callers without read rights see it: never notes or personal fields.

    Category, status, times and the grid chain; the location rounded to about
    100 m; the description only when the deployment publishes it (``full``).
    """
    overdue = row.status in OPEN and row.stage_due_at is not None and utc(row.stage_due_at) < now
    out = {
        "id": row.id,
        "category": row.category,
        "status": row.status,
        "reported_at": to_iso(row.reported_at),
        "status_at": to_iso(row.status_at),
        "close_due_at": to_iso(row.close_due_at),
        "closed_at": to_iso(row.closed_at),
        "overdue": bool(overdue),
        "lon": round(row.lon, PUBLIC_DECIMALS),
        "lat": round(row.lat, PUBLIC_DECIMALS),
        "assignment": {
            k: getattr(row, k) for k in ("district", "street", "community", "grid", "micro")
        },
        "duplicate_of": row.duplicate_of,
    }
    if publish == "full":
        out["description"] = row.description
    return out


def event_dict(row, now: datetime, personal: bool = False, history=None) -> dict:
    """One event as JSON; reporter name and phone masked unless ``personal``."""
    overdue = row.status in OPEN and row.stage_due_at is not None and utc(row.stage_due_at) < now
    name, phone = row.reporter_name, row.reporter_phone
    out = {
        "id": row.id,
        "category": row.category,
        "description": row.description,
        "source": row.source,
        "status": row.status,
        "reported_at": to_iso(row.reported_at),
        "status_at": to_iso(row.status_at),
        "stage_due_at": to_iso(row.stage_due_at),
        "close_due_at": to_iso(row.close_due_at),
        "closed_at": to_iso(row.closed_at),
        "overdue": bool(overdue),
        "queue": queue_of(row, now),
        "lon": row.lon,
        "lat": row.lat,
        "crs": row.crs,
        "lon_in": row.lon_in,
        "lat_in": row.lat_in,
        "assignment": {
            k: getattr(row, k)
            for k in ("district", "street", "community", "grid", "micro", "dedicated", "method")
        }
        | {"generation": row.generation_id},
        "likely_duplicate_of": row.likely_duplicate_of,
        "duplicate_of": row.duplicate_of,
        "reporter": {
            "name": name if personal or not name else mask_name(name),
            "phone": phone if personal or not phone else mask_phone(phone),
        },
        "created_by": row.created_by,
        "created_at": to_iso(row.created_at),
    }
    if history is not None:
        out["history"] = [
            {
                "at": to_iso(h.at),
                "actor": h.actor,
                "from": h.from_status,
                "to": h.to_status,
                "note": h.note,
            }
            for h in history
        ]
    return out


def get_event(
    conn: sa.Connection, event_id: int, with_history: bool = False, for_update: bool = False
):
    """The row of one event (and its history rows), or :class:`NotFoundError`.

    ``for_update`` locks the row until the transaction ends (PostgreSQL; a
    SQLite write transaction already excludes other writers).
    """
    query = sa.select(events).where(events.c.id == event_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFoundError(f"no event with id {event_id}")
    if not with_history:
        return row, None
    history = conn.execute(
        sa.select(event_history)
        .where(event_history.c.event_id == event_id)
        .order_by(event_history.c.id)
    ).all()
    return row, history


_ORDERS = {
    "newest": (events.c.reported_at.desc(), events.c.id.desc()),
    "id": (events.c.id,),
}


def list_events(
    conn: sa.Connection,
    flt: EventFilter,
    now: datetime,
    limit: int,
    offset: int,
    order: str = "newest",
) -> tuple[list, int]:
    """A page of events (newest first, or by ``id``) and how many match in all."""
    where = flt.where(now)
    total = conn.scalar(sa.select(sa.func.count()).select_from(events).where(*where))
    rows = conn.execute(
        sa.select(events).where(*where).order_by(*_ORDERS[order]).limit(limit).offset(offset)
    ).all()
    return rows, total


def last_notes(conn: sa.Connection, ids: list[int]) -> dict[int, str]:
    """The latest non-empty workflow note of each event in ``ids`` (if it has one)."""
    if not ids:
        return {}
    return dict(
        conn.execute(
            sa.select(event_history.c.event_id, event_history.c.note)
            .where(event_history.c.event_id.in_(ids), event_history.c.note != "")
            .order_by(event_history.c.id)
        ).all()
    )
