"""The points a cell table cannot decide alone, decided by GEOS among their cell's candidates.

A point within 0.1 mm of an edge it is tested against (or not finite) is
left by the kernels to GEOS. Its boundary cell already lists, in code order,
every polygon that can cover it, so only those are tested, with the same
predicates as :class:`~geogrid.engine.reference.STRtreeEngine`: the first that
intersects the point owns it (the lowest code), and the point is on the
owner's edge unless the owner contains it properly. An engine mapped from an
index file has no polygons in memory; it builds just the candidates asked for
from its flattened coordinates, instead of every polygon of the layer (about
100 MB for 200,000 micro grids).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import shapely

from geogrid.engine.kernels import cell_values
from geogrid.engine.reference import NO_OWNER

__all__ = ["settle"]

_KEPT = 4096  # polygons a mapped engine keeps built between calls


def settle(engine, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner (lowest code among the polygons covering it) and on-edge flag of each point."""
    owner = np.full(len(x), NO_OWNER, dtype=np.int64)
    on_edge = np.zeros(len(x), dtype=bool)
    g = engine.grid
    with np.errstate(invalid="ignore"):
        fx, fy = (x - g.x0) / g.dx, (y - g.y0) / g.dy
        ok = np.isfinite(fx) & np.isfinite(fy) & (fx >= 0) & (fx < g.nx) & (fy >= 0) & (fy < g.ny)
    at = np.flatnonzero(ok)  # a point off the table, or not finite, has no owner
    ix, iy = fx[at].astype(np.int64), fy[at].astype(np.int64)
    value = cell_values(np.asarray(engine.table), ix, iy, g.nx, g.ny)
    owner[at] = np.where(value >= NO_OWNER, value, NO_OWNER)  # a cell no edge touches
    at, value = at[value < NO_OWNER], value[value < NO_OWNER]
    if not len(at):
        return owner, on_edge
    first = -value.astype(np.int64) - 2  # the cell's first candidate in the stream
    candidate, count = _candidates(np.asarray(engine.stream), first)
    point = np.repeat(np.arange(len(at)), count)  # (point, candidate) pairs, in code order
    polygons = _polygons(engine, candidate)
    points = shapely.points(x[at], y[at])
    hit = np.flatnonzero(shapely.intersects(polygons, points[point]))
    if not len(hit):
        return owner, on_edge
    taken = np.unique(point[hit], return_index=True)[1]  # each point's first hit
    pair = hit[taken]
    won = at[point[pair]]
    owner[won] = candidate[pair]
    on_edge[won] = ~shapely.contains_properly(polygons[pair], points[point[pair]])
    return owner, on_edge


@nb.njit(cache=True, nogil=True)
def _candidates(stream, first):
    """The candidates of boundary cells, given the positions of their first headers.

    Returns every cell's polygons in code order, one cell after the other, and
    how many each cell has.
    """
    count = np.zeros(first.shape[0], dtype=np.int64)
    polygons = np.empty(0, dtype=np.int64)
    for fill in range(2):  # count, then write
        n = 0
        for m in range(first.shape[0]):
            j = first[m]
            while True:
                h = -stream[j] - 1
                if fill:
                    polygons[n] = h >> 3
                else:
                    count[m] += 1
                n += 1
                if h & 4:  # the cell's last
                    break
                j += 1
                while stream[j] >= 0:
                    j += 1
        if not fill:
            polygons = np.empty(n, dtype=np.int64)
    return polygons, count


def _polygons(engine, ids: np.ndarray) -> np.ndarray:
    """The polygons ``ids`` of ``engine``: its own if it holds them, else built from its arrays."""
    if engine._geometries is not None:
        return engine._geometries[ids]
    kept = engine.__dict__.setdefault("_settled", {})  # shared by the worker's threads
    wanted = {}
    for i in np.unique(ids).tolist():
        found = kept.get(i)  # one atomic read: another thread may clear the cache meanwhile
        wanted[i] = found if found is not None else _polygon(engine, i)
    if len(kept) > _KEPT:
        kept.clear()
    kept.update(wanted)
    return np.array([wanted[i] for i in ids.tolist()], dtype=object)


def _polygon(engine, i: int):
    """Polygon ``i`` from the flattened arrays, exactly as ``engine.geometries[i]`` would be."""
    part_offsets, geom_offsets = (np.asarray(a) for a in engine._parts)
    p0, p1 = int(geom_offsets[i]), int(geom_offsets[i + 1])
    r0, r1 = int(part_offsets[p0]), int(part_offsets[p1])
    rings = np.asarray(engine.ring_offsets)[r0 : r1 + 1]
    c0, c1 = int(rings[0]), int(rings[-1])
    return shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON,
        np.asarray(engine.coords)[c0:c1],
        (rings - c0, part_offsets[p0 : p1 + 1] - r0, np.array([0, p1 - p0])),
    )[0]
