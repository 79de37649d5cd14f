"""The case workflow of digital city management, with stage deadlines.

``reported`` (上报) → ``accepted`` (立案) → ``dispatched`` (派遣) → ``handling`` (处置)
→ ``resolved`` (处置完毕) → ``closed`` (核查结案); ``rejected`` (不予立案) and
``merged`` (a duplicate of another case) end a case early; a failed check sends a
``resolved`` case back to ``handling``. :func:`transition` applies one step to a
stored case; :func:`geogrid.cases.history.replay` applies recorded steps in bulk,
through the same checks (:func:`next_state`, :func:`check_merge`).

Examples
--------
>>> check_transition("reported", "accepted")
>>> check_transition("closed", "handling")
Traceback (most recent call last):
...
geogrid.errors.ConflictError: cannot go from 'closed' to 'handling': 'closed' is final
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from geogrid.cases.categories import Category
from geogrid.errors import ConflictError, InvalidInputError
from geogrid.parse import MAX_ID, check_text
from geogrid.storage.schema import event_history, events
from geogrid.times import to_db_time, utc

__all__ = [
    "FINAL",
    "OPEN",
    "STATUSES",
    "TRANSITIONS",
    "check_merge",
    "check_status",
    "check_transition",
    "next_state",
    "record_step",
    "stage_due",
    "transition",
]

STATUSES = (
    "reported",
    "accepted",
    "dispatched",
    "handling",
    "resolved",
    "closed",
    "rejected",
    "merged",
)
OPEN = ("reported", "accepted", "dispatched", "handling", "resolved")
FINAL = ("closed", "rejected", "merged")
TRANSITIONS = {
    "reported": ("accepted", "rejected", "merged"),
    "accepted": ("dispatched", "rejected", "merged"),
    "dispatched": ("handling",),
    "handling": ("resolved",),
    "resolved": ("closed", "handling"),
}
# Which stage's deadline runs while a case is in each status.
_STAGE_OF = {
    "reported": "accept",
    "accepted": "dispatch",
    "dispatched": "handle",
    "resolved": "check",
}


def check_status(value: object) -> str:
    """``value`` if it is a workflow status, else :class:`InvalidInputError`."""
    if value not in STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}, got {value!r}")
    return value  # type: ignore[return-value]


def check_transition(current: str, target: str) -> None:
    """Raise :class:`ConflictError` unless ``current`` → ``target`` is allowed."""
    check_status(target)
    if current in FINAL:
        raise ConflictError(f"cannot go from {current!r} to {target!r}: {current!r} is final")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise ConflictError(
            f"cannot go from {current!r} to {target!r}; allowed: {', '.join(allowed)}"
        )


def stage_due(
    status: str,
    at: datetime,
    category: Category,
    previous: str | None = None,
    current_due: datetime | None = None,
) -> datetime | None:
    """The deadline of the stage a case enters at ``at``.

    Handling right after dispatch keeps the handle deadline that dispatch set;
    handling again after a failed check gets a fresh one.
    """
    if status in FINAL:
        return None
    if status == "handling":
        if previous == "dispatched" and current_due is not None:
            return current_due
        return at + timedelta(hours=category.hours["handle"])
    return at + timedelta(hours=category.hours[_STAGE_OF[status]])


def next_state(
    current: str, current_due: datetime | None, target: str, at: datetime, category: Category
) -> dict:
    """The status, times and deadline a case takes on moving from ``current`` to ``target``.

    Raises :class:`ConflictError` if the workflow does not allow the step.
    """
    check_transition(current, target)
    return {
        "status": target,
        "status_at": at,
        "stage_due_at": stage_due(target, at, category, current, current_due),
        "closed_at": at if target == "closed" else None,
    }


def check_merge(
    event_id: int, target: str, merge_into: object, status_of: Callable[[int], str | None]
) -> int | None:
    """The case ``event_id`` merges into (None unless ``target`` is ``merged``).

    ``status_of(id)`` gives another case's status, or None if there is no such case.
    """

    def bad(message: str) -> InvalidInputError:
        return InvalidInputError(
            f"merge_into: {message}", details=[{"field": "merge_into", "message": message}]
        )

    if target != "merged":
        if merge_into is not None:
            raise bad("only with status 'merged'")
        return None
    if isinstance(merge_into, bool) or not isinstance(merge_into, int):
        raise bad("is required with status 'merged': the id of the case to merge into")
    if not 1 <= merge_into <= MAX_ID:
        raise bad(f"expected an integer id from 1 to {MAX_ID}, got {merge_into}")
    if merge_into == event_id:
        raise bad("an event cannot be merged into itself")
    status = status_of(merge_into)
    if status is None:
        raise bad(f"no event with id {merge_into}")
    if status in FINAL and status != "closed":
        raise bad(f"event {merge_into} is {status}; merge into the case it belongs to")
    return merge_into


def stored_status(conn: sa.Connection, event_id: int) -> str | None:
    """The stored status of one case, or None if there is none."""
    return conn.scalar(sa.select(events.c.status).where(events.c.id == event_id))


def transition(
    conn: sa.Connection,
    row,
    target: str,
    actor: str,
    now: datetime,
    category: Category,
    note: str = "",
    merge_into: int | None = None,
    assignee: dict | None = None,
    public: bool = False,
) -> None:
    """Move one case to ``target``, recording who, when, from, to and the note.

    ``assignee`` (a dispatch: ``{"staff_id", "department_id", …}`` as
    :mod:`geogrid.cases.dispatch` makes it) becomes the case's assignee and is
    recorded in the step; ``public`` marks the note as one the reporter may read.
    """
    check_text("note", note)
    state = next_state(row.status, utc(row.stage_due_at), target, now, category)
    duplicate_of = check_merge(row.id, target, merge_into, lambda i: stored_status(conn, i))
    values = {key: to_db_time(value) for key, value in state.items() if key != "status"}
    if target != "closed":
        del values["closed_at"]
    if duplicate_of is not None:
        values["duplicate_of"] = duplicate_of
    if assignee is not None:
        values["assignee_staff_id"] = assignee["staff_id"]
        values["assignee_department_id"] = assignee["department_id"]
    updated = conn.execute(
        sa.update(events)
        .where(events.c.id == row.id, events.c.status == row.status)
        .values(status=target, **values)
    )
    if updated.rowcount != 1:
        raise ConflictError(f"event {row.id} changed meanwhile; read it again and retry")
    record_step(conn, row.id, now, actor, row.status, target, note, assignee, public)


def record_step(
    conn,
    event_id: int,
    at,
    actor: str,
    from_status,
    to_status: str,
    note="",
    assignee=None,
    public=False,
) -> None:
    """One step of a case's history: who, when, from, to, the note and any new assignee."""
    conn.execute(
        sa.insert(event_history).values(
            event_id=event_id,
            at=to_db_time(at),
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            note=note,
            assignee=assignee,
            public=public,
        )
    )
