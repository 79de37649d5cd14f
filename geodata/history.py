"""A deterministic case history for the demo events: most closed, some late, a few open.

Each event's path is drawn from a generator seeded with its id, so the same
store gets the same history. Steps that would fall after ``AS_OF`` are not
taken: those cases are still open (and overdue) in the demo.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from geogrid.cases.categories import load_categories
from geogrid.cases.dispatch import choose_many
from geogrid.cases.history import replay
from geogrid.storage.schema import events
from geogrid.storage.store import Store
from geogrid.times import utc

AS_OF = datetime(2026, 9, 2, tzinfo=UTC)
SEED = 20260901


def _steps(rng, event_id, category, reported, duplicate_of, assignee=None) -> list[dict]:
    hours = category.hours
    t = reported
    out = []
    # the command center accepts, dispatches and checks; the assignee handles and resolves
    worker = (assignee or {}).get("name") or (assignee or {}).get("department") or "网格员"

    def step(to: str, after_h: float, **extra) -> bool:
        nonlocal t
        t = t + timedelta(hours=after_h)
        if t > AS_OF:
            return False
        actor = worker if to in ("handling", "resolved") else "街道指挥中心"
        out.append({"event_id": event_id, "at": t, "to": to, "actor": actor, **extra})
        return True

    roll = rng.uniform()
    if duplicate_of is not None and roll < 0.8:
        step("merged", rng.uniform(0.1, 1.0), merge_into=duplicate_of, note="重复上报，合并")
        return out
    if roll < 0.03:
        step("rejected", rng.uniform(0.2, 1.0) * hours["accept"], note="不属于受理范围")
        return out
    late = rng.uniform() < 0.18  # about one case in five misses a deadline
    stretch = 1.6 if late else 0.8
    plan = [
        ("accepted", hours["accept"]),
        ("dispatched", hours["dispatch"]),
        ("handling", 0.05),
        ("resolved", hours["handle"]),
    ]
    if rng.uniform() < 0.08:  # the check fails once: back to handling
        plan += [("handling", hours["check"] * 0.3), ("resolved", hours["handle"] * 0.3)]
    plan.append(("closed", hours["check"]))
    for to, h in plan:
        extra = {"assignee": assignee} if to == "dispatched" and assignee else {}
        if not step(to, h * rng.uniform(0.1, stretch), **extra):
            break
    return out


def replay_demo(store: Store) -> int:
    """Give the stored demo events their history; returns the number of steps."""
    categories = load_categories()
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                events.c.id,
                events.c.category,
                events.c.reported_at,
                events.c.likely_duplicate_of,
                events.c.status,
                events.c.grid,
                events.c.community,
                events.c.dedicated,
            ).order_by(events.c.id)
        ).all()
        assignees = choose_many(conn, rows, categories)  # the roster the demo imported
    steps = []
    merged_into: dict[int, int] = {}  # a merged case's main case
    rejected: set[int] = set()
    for row in rows:
        if row.status != "reported":
            continue
        # merge into the case the duplicate belongs to (the workflow refuses a merged or
        # rejected target), following earlier merges along the chain
        target = row.likely_duplicate_of
        while target in merged_into:
            target = merged_into[target]
        if target in rejected:
            target = None
        rng = np.random.default_rng([SEED, row.id])
        mine = _steps(
            rng,
            row.id,
            categories[row.category],
            utc(row.reported_at),
            target,
            assignees.get(row.id),
        )
        final = mine[-1] if mine else None
        if final and final["to"] == "merged":
            merged_into[row.id] = final["merge_into"]
        elif final and final["to"] == "rejected":
            rejected.add(row.id)
        steps.extend(mine)
    with store.write() as conn:
        return replay(conn, steps, categories)
