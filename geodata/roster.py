"""The demo district's roster: who serves which grid, drawn from the bundled grids.

A 网格员 per three-level grid and a 网格长 per community (the ``leader`` and
``phone`` each grid of the bundled file carries), a 专职网格员 per dedicated grid
(the unit's contact), and eight departments with one liaison each. Everything
is synthetic, and the same grids give the same roster.
"""

from __future__ import annotations

import numpy as np

from geodata import district as d
from geogrid.cases.staff import StaffRow

__all__ = ["DEPARTMENTS", "roster_rows"]

#: the departments a street command center dispatches to (categories.toml names three)
DEPARTMENTS = ("城管执法", "市场监管", "消防", "环保", "住建", "公安", "供电", "水务")
_SEED = 20261201


def roster_rows(grids) -> list[StaffRow]:
    """The demo roster for ``grids`` (the bundled generation), as rows of a roster file."""
    rows: list[StaffRow] = []

    def add(ref: str, name: str, phone: str | None, role: str, codes=(), department=None):
        rows.append(StaffRow(len(rows) + 2, ref, name, phone, role, department, tuple(codes)))

    for grid in sorted(grids, key=lambda g: g.code):
        leader, phone = grid.attributes.get("leader"), grid.attributes.get("phone")
        if not leader:
            continue
        if grid.level == "grid":
            add(f"W{grid.code}", leader, phone, "网格员", [grid.code])
        elif grid.level == "community":
            add(f"L{grid.code}", leader, phone, "网格长", [grid.code])
        elif grid.level == "dedicated":
            add(f"Z{grid.code}", leader, phone, "专职网格员", [grid.code])
    rng = np.random.default_rng(_SEED)
    for number, department in enumerate(DEPARTMENTS, start=1):
        name, phone = d.person(rng)
        add(f"D{number:02d}", name, phone, "部门联络员", department=department)
    return rows
