"""Comparing two sets of grids by code: what a redraw adds, removes, reshapes or updates."""

from __future__ import annotations

import numpy as np
import shapely

from geogrid.coords import areas_m2
from geogrid.grid import Grid

__all__ = ["diff"]


def diff(active: list[Grid], new: list[Grid]) -> dict:
    """What ``new`` changes of ``active``: codes added, removed, reshaped (with areas), updated.

    Geometries compare after normalization (a GIS may start a ring elsewhere or
    turn it around); "updated" is a name or attribute changed on an unmoved grid.
    """
    before = {g.code: g for g in active}
    after = {g.code: g for g in new}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    common = sorted(set(before) & set(after))
    moved_flags = _moved(before, after, common).tolist()
    reshaped_codes = [c for c, moved in zip(common, moved_flags, strict=True) if moved]
    reshaped = []
    if reshaped_codes:
        old = areas_m2(np.array([before[c].geometry for c in reshaped_codes], dtype=object))
        new_areas = areas_m2(np.array([after[c].geometry for c in reshaped_codes], dtype=object))
        reshaped = [
            {
                "code": c,
                "area_before_m2": round(float(a), 1),
                "area_after_m2": round(float(b), 1),
                "change_m2": round(float(b - a), 1),
            }
            for c, a, b in zip(reshaped_codes, old, new_areas, strict=True)
        ]
    moved = set(reshaped_codes)
    updated = [
        c
        for c in common
        if c not in moved
        and (before[c].name, before[c].attributes) != (after[c].name, after[c].attributes)
    ]
    return {
        "added": added,
        "removed": removed,
        "reshaped": reshaped,
        "updated": updated,
        "unchanged": len(common) - len(reshaped) - len(updated),
    }


def _moved(before: dict[str, Grid], after: dict[str, Grid], common: list[str]) -> np.ndarray:
    """Per code of ``common``, whether its geometry changed.

    Compared after normalization (a Shapefile or a GIS may start rings
    elsewhere or turn them around); only pairs not already exactly equal are
    normalized, as exact equality implies equality after it.
    """
    old = np.array([before[c].geometry for c in common], dtype=object)
    new = np.array([after[c].geometry for c in common], dtype=object)
    moved = ~shapely.equals_exact(old, new, tolerance=0)
    if moved.any():
        moved[moved] = ~shapely.equals_exact(
            shapely.normalize(old[moved]), shapely.normalize(new[moved]), tolerance=0
        )
    return moved
