"""Events as cases: reading them with filters, their history, and status transitions.

Who may do what is decided by the caller (see :mod:`geogrid.auth`); this module
only keeps the workflow's rules and records every change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from geogrid import codes
from geogrid.categories import Category
from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.events import utc
from geogrid.privacy import mask_name, mask_phone
from geogrid.schema import event_history, events
from geogrid.workflow import FINAL, OPEN, check_transition, stage_due

__all__ = [
    "EventFilter",
    "event_dict",
    "get_event",
    "list_events",
    "transition",
    "queue_of",
    "replay",
]


@dataclass(frozen=True)
class EventFilter:
    """Filters of an event listing; ``code`` matches its whole subtree."""

    code: str | None = None
    category: str | None = None
    status: str | None = None
    overdue: bool | None = None
    start: datetime | None = None
    end: datetime | None = None
    bbox_wgs84: tuple[float, float, float, float] | None = None

    def where(self, now: datetime) -> list:
        clauses = []
        if self.code:
            level = codes.level_of(self.code)
            clauses.append(events.c[level] == self.code)
        if self.category:
            clauses.append(events.c.category == self.category)
        if self.status:
            clauses.append(events.c.status == self.status)
        if self.overdue is not None:
            late = sa.and_(events.c.status.in_(OPEN), events.c.stage_due_at < _db(now))
            clauses.append(late if self.overdue else sa.not_(late))
        if self.start:
            clauses.append(events.c.reported_at >= _db(self.start))
        if self.end:
            clauses.append(events.c.reported_at < _db(self.end))
        if self.bbox_wgs84:
            x0, y0, x1, y1 = self.bbox_wgs84
            clauses.extend([events.c.lon.between(x0, x1), events.c.lat.between(y0, y1)])
        return clauses


def _db(value: datetime) -> datetime:
    """Datetimes go to the database as naive UTC, the same on every backend."""
    return utc(value).replace(tzinfo=None)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else utc(value).isoformat()


def queue_of(row, now: datetime) -> str | None:
    """Whose queue a case is in: its grid, its street once overdue, the district if outside."""
    if row.method == "outside" or not row.street:
        return row.district
    if row.status in OPEN and row.stage_due_at is not None and utc(row.stage_due_at) < now:
        return row.street
    return row.grid or row.community or row.street


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
        "reported_at": _iso(row.reported_at),
        "status_at": _iso(row.status_at),
        "stage_due_at": _iso(row.stage_due_at),
        "close_due_at": _iso(row.close_due_at),
        "closed_at": _iso(row.closed_at),
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
        "created_at": _iso(row.created_at),
    }
    if history is not None:
        out["history"] = [
            {
                "at": _iso(h.at),
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


def list_events(
    conn: sa.Connection, flt: EventFilter, now: datetime, limit: int, offset: int
) -> tuple[list, int]:
    """A page of events (newest first) and how many match in all."""
    where = flt.where(now)
    total = conn.scalar(sa.select(sa.func.count()).select_from(events).where(*where))
    rows = conn.execute(
        sa.select(events)
        .where(*where)
        .order_by(events.c.reported_at.desc(), events.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def transition(
    conn: sa.Connection,
    row,
    target: str,
    actor: str,
    now: datetime,
    category: Category,
    note: str = "",
    merge_into: int | None = None,
) -> None:
    """Move one case to ``target``, recording who, when, from, to and the note."""
    check_transition(row.status, target)
    values = {
        "status": target,
        "status_at": _db(now),
        "stage_due_at": _db_or_none(
            stage_due(target, now, category, row.status, utc(row.stage_due_at))
        ),
    }
    if target == "merged":
        values["duplicate_of"] = _merge_target(conn, row, merge_into)
    elif merge_into is not None:
        raise InvalidInputError(
            "merge_into: only with status 'merged'",
            details=[{"field": "merge_into", "message": "only with status 'merged'"}],
        )
    if target == "closed":
        values["closed_at"] = _db(now)
    updated = conn.execute(
        sa.update(events)
        .where(events.c.id == row.id, events.c.status == row.status)
        .values(**values)
    )
    if updated.rowcount != 1:
        raise ConflictError(f"event {row.id} changed meanwhile; read it again and retry")
    conn.execute(
        sa.insert(event_history).values(
            event_id=row.id,
            at=_db(now),
            actor=actor,
            from_status=row.status,
            to_status=target,
            note=note,
        )
    )


def _db_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _db(value)


def _merge_target(conn: sa.Connection, row, merge_into: int | None) -> int:
    def bad(message: str) -> InvalidInputError:
        return InvalidInputError(
            f"merge_into: {message}", details=[{"field": "merge_into", "message": message}]
        )

    if isinstance(merge_into, bool) or not isinstance(merge_into, int):
        raise bad("is required with status 'merged': the id of the case to merge into")
    if merge_into == row.id:
        raise bad("an event cannot be merged into itself")
    target = conn.execute(
        sa.select(events.c.status, events.c.category).where(events.c.id == merge_into)
    ).first()
    if target is None:
        raise bad(f"no event with id {merge_into}")
    if target.status in FINAL and target.status != "closed":
        raise bad(f"event {merge_into} is {target.status}; merge into the case it belongs to")
    return merge_into


def replay(conn: sa.Connection, steps: list[dict], categories: dict[str, Category]) -> int:
    """Apply recorded workflow steps in bulk (a case history migrated from elsewhere).

    ``steps`` are dicts with ``event_id``, ``at``, ``to``, ``actor`` and optional
    ``note`` and ``merge_into``, in time order per event. Every step is checked
    against the workflow like a live one; returns how many were applied.
    """
    ids = sorted({s["event_id"] for s in steps})
    state: dict[int, dict] = {}
    for start in range(0, len(ids), 500):
        for row in conn.execute(
            sa.select(events.c.id, events.c.status, events.c.category, events.c.stage_due_at).where(
                events.c.id.in_(ids[start : start + 500])
            )
        ):
            state[row.id] = {
                "status": row.status,
                "category": row.category,
                "stage_due_at": utc(row.stage_due_at),
                "closed_at": None,
                "duplicate_of": None,
                "status_at": None,
            }
    history = []
    for step in steps:
        case = state.get(step["event_id"])
        if case is None:
            raise NotFoundError(f"no event with id {step['event_id']}")
        check_transition(case["status"], step["to"])
        at = utc(step["at"])
        due = stage_due(
            step["to"], at, categories[case["category"]], case["status"], case["stage_due_at"]
        )
        history.append(
            {
                "event_id": step["event_id"],
                "at": _db(at),
                "actor": step["actor"],
                "from_status": case["status"],
                "to_status": step["to"],
                "note": step.get("note", ""),
            }
        )
        case.update(status=step["to"], status_at=at, stage_due_at=due)
        if step["to"] == "closed":
            case["closed_at"] = at
        if step["to"] == "merged":
            case["duplicate_of"] = step["merge_into"]
    updates = [
        {
            "event_id": i,
            "s": c["status"],
            "sa": _db(c["status_at"]),
            "due": _db_or_none(c["stage_due_at"]),
            "closed": _db_or_none(c["closed_at"]),
            "dup": c["duplicate_of"],
        }
        for i, c in state.items()
        if c["status_at"]
    ]
    conn.execute(
        sa.update(events)
        .where(events.c.id == sa.bindparam("event_id"))
        .values(
            status=sa.bindparam("s"),
            status_at=sa.bindparam("sa"),
            stage_due_at=sa.bindparam("due"),
            closed_at=sa.bindparam("closed"),
            duplicate_of=sa.bindparam("dup"),
        ),
        updates,
    )
    conn.execute(sa.insert(event_history), history)
    return len(history)
