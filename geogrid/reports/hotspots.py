"""Hot grids: Getis-Ord Gi* of event counts over grid contiguity (esda/libpysal).

Examples
--------
A 5 x 5 block of square grids with a hot 2 x 2 corner:

>>> from shapely import box
>>> geoms = [box(x, y, x + 1, y + 1) for y in range(5) for x in range(5)]
>>> counts = [20 if x < 2 and y < 2 else 1 for y in range(5) for x in range(5)]
>>> result = hot_grids([f"g{i:02d}" for i in range(25)], geoms, counts)
>>> sorted(r["code"] for r in result if r["class"].startswith("hot"))
['g00', 'g01', 'g05', 'g06']
"""

from __future__ import annotations

from collections.abc import Sequence

import esda
import libpysal
import numpy as np
from shapely.geometry.base import BaseGeometry

__all__ = ["Z95", "Z99", "contiguity", "hot_grids"]

Z95 = 1.959964  # two-sided 95 %
Z99 = 2.575829  # two-sided 99 %


def _classify(z: float) -> str:
    if z >= Z99:
        return "hot99"
    if z >= Z95:
        return "hot95"
    if z <= -Z99:
        return "cold99"
    if z <= -Z95:
        return "cold95"
    return "ns"


def contiguity(codes: Sequence[str], geometries: Sequence[BaseGeometry]) -> libpysal.weights.W:
    """Queen contiguity of the grids: neighbours share an edge or a vertex.

    Depends on the boundaries only: build it once per generation and pass it to
    :func:`hot_grids`.
    """
    return libpysal.weights.Queen.from_iterable(list(geometries), ids=list(codes))


def hot_grids(
    codes: Sequence[str],
    geometries: Sequence[BaseGeometry],
    counts: Sequence[float],
    weights: libpysal.weights.W | None = None,
) -> list[dict]:
    """Gi* z-score, two-sided p-value and class (hot/cold at 95 %/99 %) of each grid.

    Neighbours share an edge or a vertex (queen contiguity); the focal grid is
    included (Gi*, binary weights); p-values from the normal approximation.
    """
    if not (len(codes) == len(geometries) == len(counts)):
        raise ValueError("codes, geometries and counts must have the same length")
    y = np.asarray(counts, dtype=float)
    if len(y) < 3 or np.all(y == y[0]):
        return [
            {"code": c, "count": float(v), "z": 0.0, "p": 1.0, "class": "ns"}
            for c, v in zip(codes, y, strict=True)
        ]
    if weights is None:
        weights = contiguity(codes, geometries)
    # a grid whose neighbourhood is the whole map has no variance: z is 0, not NaN
    with np.errstate(invalid="ignore", divide="ignore"):
        gi = esda.G_Local(y, weights, transform="B", permutations=0, star=True)
    zs = np.nan_to_num(gi.Zs, nan=0.0)
    ps = np.nan_to_num(gi.p_norm, nan=0.5)
    return [
        {
            "code": c,
            "count": float(v),
            "z": round(float(z), 3),
            "p": round(float(min(1.0, 2 * p)), 5),
            "class": _classify(float(z)),
        }
        for c, v, z, p in zip(codes, y, zs, ps, strict=True)
    ]
