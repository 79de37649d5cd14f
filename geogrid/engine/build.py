"""Building the cell tables of :mod:`geogrid.engine.cells`.

:func:`build_tables` marks the cells that edges pass near (boundary cells) and
lists each one's candidate polygons and edges, with the compiled helpers here;
the kernels that test polygons (:func:`geogrid.engine.kernels._interiors` and
``_boundary_lists``) live beside the point-in-polygon test they share with the
queries. A numba function is cached by the file it is defined in, not by the
files of the functions it calls: a kernel that calls another is kept in that
other's file, or a change to the callee could leave a stale compiled caller.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from geogrid.engine import kernels

__all__ = ["build_tables"]


@nb.njit(cache=True, nogil=True)
def _candidates(bounds, grid, slot_of, n_slots):
    """For each boundary cell (slot): the polygons whose bounding box touches it, in order."""
    x0, y0, dx, dy, nx, ny = grid.x0, grid.y0, grid.dx, grid.dy, grid.nx, grid.ny
    counts = np.zeros(n_slots + 1, dtype=np.int64)
    n = bounds.shape[0]
    for phase in range(2):
        if phase == 1:
            counts = np.cumsum(counts)
        fill = counts[:-1].copy()
        out = np.empty(counts[-1] if phase == 1 else 0, dtype=np.int32)
        for p in range(n):
            ix0 = max(0, math.floor((bounds[p, 0] - x0) / dx))
            iy0 = max(0, math.floor((bounds[p, 1] - y0) / dy))
            ix1 = min(nx - 1, math.floor((bounds[p, 2] - x0) / dx))
            iy1 = min(ny - 1, math.floor((bounds[p, 3] - y0) / dy))
            for iy in range(iy0, iy1 + 1):
                for ix in range(ix0, ix1 + 1):
                    s = slot_of[iy * nx + ix]
                    if s < 0:
                        continue
                    if phase == 0:
                        counts[s + 1] += 1
                    else:
                        out[fill[s]] = p
                        fill[s] += 1
        if phase == 1:
            return counts, out
    return counts, np.empty(0, dtype=np.int32)


@nb.njit(cache=True, nogil=True)
def _raster(coords, ring_offsets, grid, slot_of, counts, fill, out, phase):
    """Walk every (edge, cell within ``near`` of it) pair.

    Phase -1 marks the cell in ``counts``, phase 0 counts the pairs per boundary
    cell, phase 1 lists them. Row by row: the part of the edge inside the row's
    band (grown by ``near``) spans a run of cells, grown by ``near`` too.
    """
    x0, y0, dx, dy, nx, ny, pad = grid
    for r in range(ring_offsets.shape[0] - 1):
        for i in range(ring_offsets[r], ring_offsets[r + 1] - 1):
            xa, ya = coords[i, 0], coords[i, 1]
            xb, yb = coords[i + 1, 0], coords[i + 1, 1]
            lo, hi = min(ya, yb), max(ya, yb)
            iy0 = max(0, math.floor((lo - pad - y0) / dy))
            iy1 = min(ny - 1, math.floor((hi + pad - y0) / dy))
            for iy in range(iy0, iy1 + 1):
                band_lo = max(lo, y0 + iy * dy - pad)
                band_hi = min(hi, y0 + (iy + 1) * dy + pad)
                if hi - lo > 0.0:
                    xl = xa + (band_lo - ya) * (xb - xa) / (yb - ya)
                    xh = xa + (band_hi - ya) * (xb - xa) / (yb - ya)
                else:
                    xl, xh = xa, xb
                ix0 = max(0, math.floor((min(xl, xh) - pad - x0) / dx))
                ix1 = min(nx - 1, math.floor((max(xl, xh) + pad - x0) / dx))
                for ix in range(ix0, ix1 + 1):
                    if phase == -1:
                        counts[iy * nx + ix] = 1
                        continue
                    s = slot_of[iy * nx + ix]
                    if phase == 0:
                        counts[s + 1] += 1
                    else:
                        out[fill[s]] = i
                        fill[s] += 1


def _boundary_cells(coords, ring_offsets, grid):
    """Cells an edge passes through or within ``grid.near`` of, and their edges.

    Returns the cell of each slot, the slot of each cell (-1: none) and, per slot
    ``s``, its edges (first coordinate index) ``edges[start[s]:start[s + 1]]``.
    """
    none32, none64 = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    marked = np.zeros(grid.nx * grid.ny, dtype=np.uint8)
    _raster(coords, ring_offsets, grid, none32, marked, none64, none32, -1)
    cells = np.flatnonzero(marked)
    del marked
    slot_of = np.full(grid.nx * grid.ny, -1, dtype=np.int32)
    slot_of[cells] = np.arange(len(cells), dtype=np.int32)
    counts = np.zeros(len(cells) + 1, dtype=np.int64)
    _raster(coords, ring_offsets, grid, slot_of, counts, none64, none32, 0)
    start = np.cumsum(counts)
    edges = np.empty(start[-1], dtype=np.int32)
    _raster(coords, ring_offsets, grid, slot_of, counts, start[:-1].copy(), edges, 1)
    return cells, slot_of, start, edges


def build_tables(coords, ring_offsets, poly_rings, bounds, grid):
    """Cell table and boundary lists of polygons over a grid (``cells._compact`` packs them).

    Parameters
    ----------
    coords, ring_offsets, poly_rings : ndarray
        The flattened polygons (see the module docstring).
    bounds : ndarray of float64, shape (n, 4)
        Bounding box of each polygon.
    grid : CellGrid
        The layout of the cell table.

    Returns
    -------
    table : ndarray of int32, shape (nx * ny,)
        Owner of each cell no edge touches (-1: none); ``-(slot + 2)`` for the others.
    bstart, entries, edges : ndarray
        Per boundary cell (slot) ``s``, rows ``bstart[s]:bstart[s + 1]`` of
        ``entries`` (int32, n by 4), one per candidate polygon in code order: the
        polygon, the state of the cell's centre in it (2: too near an edge) and its
        run ``[start, stop)`` of ``edges`` (the first coordinates of its edges in the cell).
    """
    cells, slot_of, estart, cedges = _boundary_cells(coords, ring_offsets, grid)
    start, cand = _candidates(bounds, grid, slot_of, len(cells))
    ring_poly = np.repeat(np.arange(len(poly_rings) - 1), np.diff(poly_rings))
    coord_ring = np.repeat(np.arange(len(ring_offsets) - 1), np.diff(ring_offsets))
    coord_poly = ring_poly[coord_ring].astype(np.int32)  # the polygon of each coordinate
    polygons = (coords, ring_offsets, poly_rings)
    boundary = kernels._boundary_lists(
        cells, start, cand, estart, cedges, coord_poly, *polygons, grid
    )
    table = kernels._interiors(slot_of, start, cand, *polygons, grid)
    return (table, *boundary)
