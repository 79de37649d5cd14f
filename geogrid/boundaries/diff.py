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
    # normalized first: a Shapefile or a GIS may start rings elsewhere or turn them around
    reshaped_codes = [
        c
        for c in common
        if not shapely.equals_exact(
            shapely.normalize(before[c].geometry), shapely.normalize(after[c].geometry), 0
        )
    ]
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
