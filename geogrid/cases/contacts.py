"""Who answers for a grid, from the roster: the grids' ``leader`` and ``phone`` as a view of it.

A grid file may carry ``leader`` and ``phone`` attributes (the demo's do), but
the roster (:mod:`geogrid.cases.staff`) is the one source of who serves a grid:
wherever grids are shown (the API, the OGC API, the map, exports), a grid some
active person serves shows that person, by the role its level calls for; a grid
nobody serves keeps what its file said.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from geogrid import codes
from geogrid.grid import Grid
from geogrid.storage.schema import staff, staff_grids

__all__ = ["LEVEL_ROLES", "grid_contacts", "roster_stamp", "with_contacts"]

#: the roles that answer for a grid of each level, in order of preference
LEVEL_ROLES = {
    "grid": ("网格员", "专职网格员"),
    "micro": ("网格员", "专职网格员"),
    "community": ("网格长", "社区书记"),
    "dedicated": ("专职网格员", "网格员", "部门联络员"),
}


def roster_stamp(conn: sa.Connection) -> tuple:
    """Changes whenever the roster does (people and their grids): a cache key."""
    people = conn.execute(sa.select(sa.func.count(), sa.func.max(staff.c.updated_at))).one()
    links = conn.scalar(sa.select(sa.func.count()).select_from(staff_grids))
    return (*people, links)


def grid_contacts(conn: sa.Connection) -> dict[str, tuple[str, str | None]]:
    """Code → (name, phone) of who answers for it: by :data:`LEVEL_ROLES`, then the lowest id."""
    rows = conn.execute(
        sa.select(staff_grids.c.code, staff.c.id, staff.c.name, staff.c.phone, staff.c.role)
        .join(staff, staff.c.id == staff_grids.c.staff_id)
        .where(staff.c.active)
        .order_by(staff.c.id)
    ).all()
    best: dict[str, tuple[int, str, str | None]] = {}
    for code, _, name, phone, role in rows:
        roles = LEVEL_ROLES.get(codes.level_of(code), ())
        if role not in roles:
            continue
        rank = roles.index(role)
        if code not in best or rank < best[code][0]:
            best[code] = (rank, name, phone)
    return {code: (name, phone) for code, (_, name, phone) in best.items()}


def with_contacts(grids: list[Grid], contacts: dict[str, tuple[str, str | None]]) -> list[Grid]:
    """``grids`` with ``leader`` and ``phone`` taken from ``contacts`` where it has the code."""
    if not contacts:
        return grids
    out = []
    for grid in grids:
        found = contacts.get(grid.code)
        if found is None:
            out.append(grid)
            continue
        attributes = {**grid.attributes, "leader": found[0], "phone": found[1]}
        if found[1] is None:
            del attributes["phone"]
        out.append(dataclasses.replace(grid, attributes=attributes))
    return out
