"""Consistency checks of a store: what must hold after any crash, on any backend.

Every write in geogrid is one transaction, so a killed process leaves either
all of a change or none of it; ``geogrid check`` confirms that on a live store
(after a crash, a restore, or a hand edit) without changing anything.
"""

from __future__ import annotations

import sqlalchemy as sa

from geogrid.errors import NotFoundError
from geogrid.storage.schema import event_history, events, generations, grids
from geogrid.storage.store import Store

__all__ = ["check"]

_EXAMPLES = 5


def check(store: Store) -> list[str]:
    """The problems found, one message each (with up to five example ids); [] if none."""
    if not store.is_initialized():
        raise NotFoundError(f"{store.display_url} has no geogrid schema: run 'geogrid init'")
    with store.engine.connect() as conn:
        return [
            message
            for message in (
                _active_generations(conn),
                *_grid_ranges(conn),
                *_event_history(conn),
                *_event_assignments(conn),
            )
            if message
        ]


def _examples(conn: sa.Connection, query: sa.Select, what: str) -> str | None:
    found = conn.execute(query.limit(_EXAMPLES + 1)).scalars().all()
    if not found:
        return None
    total = conn.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    shown = ", ".join(str(x) for x in found[:_EXAMPLES])
    return f"{total} {what} (e.g. {shown})"


def _active_generations(conn: sa.Connection) -> str | None:
    total = conn.scalar(sa.select(sa.func.count()).select_from(generations))
    active = conn.scalars(sa.select(generations.c.id).where(generations.c.active)).all()
    if total and len(active) != 1:
        return f"{len(active)} active generations, expected exactly one: {active}"
    return None


def _grid_ranges(conn: sa.Connection) -> list[str | None]:
    low = generations.alias("low")
    high = generations.alias("high")
    active = sa.select(sa.func.max(generations.c.id)).where(generations.c.active).scalar_subquery()
    in_active = sa.and_(grids.c.generation_low <= active, grids.c.generation_high >= active)
    return [
        _examples(
            conn,
            sa.select(grids.c.id).where(grids.c.generation_low > grids.c.generation_high),
            "grid rows whose generation range is empty (grid row ids)",
        ),
        _examples(
            conn,
            sa.select(grids.c.code)
            .where(in_active)
            .group_by(grids.c.code)
            .having(sa.func.count() > 1),
            "codes held by more than one grid of the active generation",
        ),
        _examples(
            conn,
            sa.select(grids.c.id)
            .outerjoin(low, low.c.id == grids.c.generation_low)
            .outerjoin(high, high.c.id == grids.c.generation_high)
            .where(sa.or_(low.c.id.is_(None), high.c.id.is_(None))),
            "grid rows in a generation that does not exist (grid row ids)",
        ),
    ]


def _event_history(conn: sa.Connection) -> list[str | None]:
    has_history = sa.exists().where(event_history.c.event_id == events.c.id)
    latest = (
        sa.select(event_history.c.event_id, sa.func.max(event_history.c.id).label("last"))
        .group_by(event_history.c.event_id)
        .subquery()
    )
    return [
        _examples(
            conn,
            sa.select(events.c.id).where(~has_history).order_by(events.c.id),
            "events without a history (event ids)",
        ),
        _examples(
            conn,
            sa.select(events.c.id)
            .join(latest, latest.c.event_id == events.c.id)
            .join(event_history, event_history.c.id == latest.c.last)
            .where(event_history.c.to_status != events.c.status)
            .order_by(events.c.id),
            "events whose status is not their last step's (event ids)",
        ),
    ]


def _event_assignments(conn: sa.Connection) -> list[str | None]:
    out = [
        _examples(
            conn,
            sa.select(events.c.id).where(events.c.generation_id.is_(None)).order_by(events.c.id),
            "events assigned under no generation (event ids)",
        )
    ]
    for column in ("street", "community", "grid", "micro"):
        code = events.c[column]
        known = sa.exists().where(
            grids.c.code == code,
            grids.c.generation_low <= events.c.generation_id,
            grids.c.generation_high >= events.c.generation_id,
        )
        out.append(
            _examples(
                conn,
                sa.select(events.c.id).where(code.is_not(None), ~known).order_by(events.c.id),
                f"events whose {column} is not a grid of their generation (event ids)",
            )
        )
    return out
