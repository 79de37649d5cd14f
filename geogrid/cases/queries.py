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
from geogrid.storage.schema import departments, event_history, event_media, events, staff
from geogrid.times import to_db_time, to_iso, utc

__all__ = [
    "PUBLIC_DECIMALS",
    "PUBLISHED",
    "EventFilter",
    "assignee_dict",
    "event_dict",
    "get_event",
    "last_notes",
    "list_events",
    "media_dict",
    "media_of",
    "public_event_dict",
    "queue_of",
    "select_events",
]


def select_events() -> sa.Select:
    """``SELECT`` of events with their assignee's name, role and department (outer joins)."""
    return sa.select(
        events,
        staff.c.name.label("assignee_name"),
        staff.c.role.label("assignee_role"),
        departments.c.name.label("assignee_department_name"),
    ).select_from(
        events.outerjoin(staff, staff.c.id == events.c.assignee_staff_id).outerjoin(
            departments, departments.c.id == events.c.assignee_department_id
        )
    )


def assignee_dict(row) -> dict | None:
    """Who works the case: a person (and their department), a department's queue, or None."""
    staff_id, department_id = row.assignee_staff_id, row.assignee_department_id
    if staff_id is None and department_id is None:
        return None
    department = None
    if department_id is not None:
        department = {"id": department_id, "name": getattr(row, "assignee_department_name", None)}
    return {
        "staff_id": staff_id,
        "name": getattr(row, "assignee_name", None),
        "role": getattr(row, "assignee_role", None),
        "department": department,
    }


_EXT = {"jpeg": "jpg", "png": "png", "webp": "webp"}


def media_dict(row, personal: bool = False) -> dict:
    """One photo as JSON: its URLs (``/media/…``), kind and hash; its GPS only if ``personal``."""
    out = {
        "url": f"/media/{row.sha256}.{_EXT[row.format]}",
        "thumbnail_url": f"/media/{row.sha256}.thumb.jpg",
        "kind": row.kind,
        "sha256": row.sha256,
        "width": row.width,
        "height": row.height,
    }
    if personal and row.gps_lon is not None:
        out["gps"] = {"lon": row.gps_lon, "lat": row.gps_lat}
    return out


def media_of(conn: sa.Connection, ids: list[int]) -> dict[int, list]:
    """The photo rows of each event in ``ids``, in the order they were added."""
    out: dict[int, list] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        for row in conn.execute(
            sa.select(event_media)
            .where(event_media.c.event_id.in_(ids[start : start + 500]))
            .order_by(event_media.c.id)
        ):
            out[row.event_id].append(row)
    return out


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
    assignee: int | None = None  # a staff id: that person's queue
    department: int | None = None  # a department id: that department's queue

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
        if self.assignee is not None:
            clauses.append(events.c.assignee_staff_id == self.assignee)
        if self.department is not None:
            clauses.append(events.c.assignee_department_id == self.department)
        if self.overdue is not None:
            late = sa.and_(  # a case without a stage deadline is not late (not NULL either)
                events.c.status.in_(OPEN),
                events.c.stage_due_at.is_not(None),
                events.c.stage_due_at < to_db_time(now),
            )
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


def event_dict(row, now: datetime, personal: bool = False, history=None, media=None) -> dict:
    """One event as JSON; reporter name and phone masked unless ``personal``.

    ``row`` comes from :func:`select_events` (the assignee's names with it);
    ``media`` are its photo rows (:func:`media_of`).
    """
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
        "tracking": row.tracking,  # a resident's report's number (/track)
        "assignee": assignee_dict(row),
        "media": [media_dict(m, personal) for m in media or ()],
        "flags": ["photo_far_from_point"] if row.photo_far else [],
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
                "assignee": h.assignee,
                "public": h.public,
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
    if for_update:  # lock the event's row alone (an outer join cannot be locked)
        conn.execute(sa.select(events.c.id).where(events.c.id == event_id).with_for_update())
    row = conn.execute(select_events().where(events.c.id == event_id)).first()
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
    """A page of events and how many match in all.

    ``order``: ``newest`` first, by ``id``, or ``queue`` (a work queue: overdue
    open cases first, then by the next stage deadline, newest last).
    """
    where = flt.where(now)
    total = conn.scalar(sa.select(sa.func.count()).select_from(events).where(*where))
    if order == "queue":
        late = sa.and_(events.c.status.in_(OPEN), events.c.stage_due_at < to_db_time(now))
        by = (
            sa.case((late, 0), else_=1),
            events.c.stage_due_at.is_(None),
            events.c.stage_due_at,
            events.c.id,
        )
    else:
        by = _ORDERS[order]
    rows = conn.execute(
        select_events().where(*where).order_by(*by).limit(limit).offset(offset)
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
