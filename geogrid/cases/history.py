"""Case histories recorded elsewhere, applied in bulk (a migration, the demo's history).

Every step goes through the live workflow's checks (:func:`next_state` and
:func:`check_merge` of :mod:`geogrid.cases.workflow`): a step the workflow would
refuse live is refused here, and nothing of the batch is written.
"""

from __future__ import annotations

import sqlalchemy as sa

from geogrid.cases.categories import Category
from geogrid.cases.workflow import check_merge, next_state, stored_status
from geogrid.errors import NotFoundError
from geogrid.storage.schema import event_history, events
from geogrid.times import to_db_time, utc

__all__ = ["replay"]

_BATCH = 500


def replay(conn: sa.Connection, steps: list[dict], categories: dict[str, Category]) -> int:
    """Apply recorded workflow steps in bulk; returns how many were applied.

    ``steps`` are dicts with ``event_id``, ``at``, ``to``, ``actor`` and optional
    ``note``, ``merge_into`` and ``assignee`` (as :mod:`geogrid.cases.dispatch`
    makes it: the case's assignee from that step on), in time order per event.
    """
    state = _current_state(conn, sorted({s["event_id"] for s in steps}))

    def status_of(event_id: int) -> str | None:
        case = state.get(event_id)
        return case["status"] if case else stored_status(conn, event_id)

    history = []
    for step in steps:
        case = state.get(step["event_id"])
        if case is None:
            raise NotFoundError(f"no event with id {step['event_id']}")
        at = utc(step["at"])
        new = next_state(
            case["status"], case["stage_due_at"], step["to"], at, categories[case["category"]]
        )
        duplicate_of = check_merge(step["event_id"], step["to"], step.get("merge_into"), status_of)
        history.append(
            {
                "event_id": step["event_id"],
                "at": to_db_time(at),
                "actor": step["actor"],
                "from_status": case["status"],
                "to_status": step["to"],
                "note": step.get("note", ""),
                "assignee": step.get("assignee"),
            }
        )
        case.update(new, closed_at=new["closed_at"] or case["closed_at"], changed=True)
        if step.get("assignee") is not None:
            case["staff"] = step["assignee"]["staff_id"]
            case["department"] = step["assignee"]["department_id"]
        if duplicate_of is not None:
            case["duplicate_of"] = duplicate_of
    _write(conn, state)
    conn.execute(sa.insert(event_history), history)
    return len(history)


def _current_state(conn: sa.Connection, ids: list[int]) -> dict[int, dict]:
    state: dict[int, dict] = {}
    for start in range(0, len(ids), _BATCH):
        for row in conn.execute(
            sa.select(
                events.c.id,
                events.c.status,
                events.c.category,
                events.c.stage_due_at,
                events.c.assignee_staff_id,
                events.c.assignee_department_id,
            ).where(events.c.id.in_(ids[start : start + _BATCH]))
        ):
            state[row.id] = {
                "status": row.status,
                "category": row.category,
                "stage_due_at": utc(row.stage_due_at),
                "closed_at": None,
                "duplicate_of": None,
                "status_at": None,
                "changed": False,
                "staff": row.assignee_staff_id,
                "department": row.assignee_department_id,
            }
    return state


def _write(conn: sa.Connection, state: dict[int, dict]) -> None:
    updates = [
        {
            "event_id": i,
            "s": c["status"],
            "sa": to_db_time(c["status_at"]),
            "due": to_db_time(c["stage_due_at"]),
            "closed": to_db_time(c["closed_at"]),
            "dup": c["duplicate_of"],
            "staff": c["staff"],
            "dept": c["department"],
        }
        for i, c in state.items()
        if c["changed"]
    ]
    if not updates:
        return
    conn.execute(
        sa.update(events)
        .where(events.c.id == sa.bindparam("event_id"))
        .values(
            status=sa.bindparam("s"),
            status_at=sa.bindparam("sa"),
            stage_due_at=sa.bindparam("due"),
            closed_at=sa.bindparam("closed"),
            duplicate_of=sa.bindparam("dup"),
            assignee_staff_id=sa.bindparam("staff"),
            assignee_department_id=sa.bindparam("dept"),
        ),
        updates,
    )
