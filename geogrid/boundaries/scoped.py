"""A preview about the scope: the problems an upload may have caused first, the rest in one line.

A scoped upload replaces one subtree; problems inside it, or in the grids that
touch it (where it meets its neighbours), are what the upload may have caused.
Those come first, errors before warnings. Problems elsewhere in the district are
counted in one line, and listed only when asked.
"""

from __future__ import annotations

import numpy as np
import shapely

from geogrid import codes
from geogrid.boundaries.topology import Problem
from geogrid.grid import Grid

__all__ = ["near_scope", "ordered", "where"]

_TOUCH_DEG = 1e-6  # ~0.1 m: grids sharing an edge or a corner with the scope


def near_scope(grids: list[Grid], scope: str | None) -> set[str] | None:
    """Codes inside ``scope``, or its neighbours: grids as fine as it that touch it.

    A coarser grid (the street around a community, the district) touches
    everything and says nothing about where the upload meets its neighbours.
    None: no scope, everything is near.
    """
    if scope is None:
        return None
    inside = [g for g in grids if g.code.startswith(scope)]
    if not inside:
        return set()
    depth = codes.LEVELS.index(codes.level_of(scope)) if "Z" not in scope else len(codes.LEVELS)
    peers = [g for g in grids if g.level == "dedicated" or codes.LEVELS.index(g.level) >= depth]
    area = shapely.union_all([g.geometry for g in inside]).buffer(_TOUCH_DEG)
    geoms = np.array([g.geometry for g in peers], dtype=object)
    touching = shapely.STRtree(geoms).query(area, predicate="intersects")
    return {g.code for g in inside} | {peers[i].code for i in touching}


def _is_near(problem: Problem, scope: str, near: set[str], area) -> bool:
    """Whether ``problem`` is about the scope.

    Inside it; or at its edge (its geometry touches it); or, with no geometry
    to tell, about a neighbour.
    """
    if any(str(code).startswith(scope) for code in problem.codes):
        return True
    if problem.geometry is not None and area is not None:
        return bool(shapely.intersects(shapely.geometry.shape(problem.geometry), area))
    return any(code in near for code in problem.codes)


def ordered(problems: list[Problem], grids: list[Grid], scope: str | None) -> tuple[list, list]:
    """(near, elsewhere): the problems about the scope first, errors before warnings."""
    rank = {"error": 0, "warning": 1}
    near = near_scope(grids, scope)
    if near is None:
        return sorted(problems, key=lambda p: rank.get(p.severity, 2)), []
    # a problem without a grid of its own (a gap) is near when it touches the scope itself
    shapes = [g.geometry for g in grids if g.code.startswith(scope)]
    area = shapely.union_all(shapes).buffer(_TOUCH_DEG) if shapes else None
    close, far = [], []
    for problem in problems:
        (close if _is_near(problem, scope, near, area) else far).append(problem)
    return sorted(close, key=lambda p: rank.get(p.severity, 2)), far


def where(problems: list[dict], grids: list[Grid]) -> list[dict]:
    """Each problem with ``bounds`` (lon/lat box) to zoom the preview map to, or None.

    The box of its geometry; for a problem counted without one, the box of the
    grids it names.
    """
    by_code = {g.code: g.geometry for g in grids}
    for problem in problems:
        if problem.get("geometry"):
            box = shapely.bounds(shapely.geometry.shape(problem["geometry"]))
        else:
            shapes = [by_code[c] for c in problem["codes"] if c in by_code]
            box = shapely.total_bounds(shapes) if shapes else None
        ok = box is not None and bool(np.all(np.isfinite(box)))
        problem["bounds"] = [round(float(v), 7) for v in box] if ok else None
    return problems
