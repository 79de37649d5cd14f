"""One layer of the assignment rule over every point still unassigned, in place.

:meth:`GridIndex.assign <geogrid.engine.assign.GridIndex.assign>` asks the layers
finest first; a point a layer covers is done. Gathering the points left before
each layer, and scattering its answers back, cost more than the layer's own
lookups (7 of 17 ms for the demo's micro grids), so one compiled sweep per layer
reads every point's method, skips the points already assigned and writes a
covered point's chain row and method where they are.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from geogrid.engine.kernels import _decide

__all__ = ["EDGE", "INSIDE", "OUTSIDE", "UNSURE", "sweep"]

#: Method ids, in the order of :data:`geogrid.engine.assign.METHODS`.
INSIDE, EDGE, OUTSIDE = 0, 1, 3
#: ``scratch`` value of a point too near an edge (or not finite): GEOS decides it.
UNSURE = np.iinfo(np.int32).min


@nb.njit(cache=True, parallel=True, error_model="numpy")
def sweep(
    xs, ys, rows, method, row0, scratch, table, bstart, entries, edges, coords, ring_offsets,
    poly_rings, grid,
):  # fmt: skip
    """Assign the points with method OUTSIDE that this layer's cell table covers.

    Two passes, as :func:`geogrid.engine.kernels.query`: table reads first, then
    the points in boundary cells. A covered point gets ``rows[k] = row0 + owner``
    and INSIDE or EDGE in ``method[k]``.

    Returns
    -------
    int
        The number of points left unsure, marked UNSURE in ``scratch`` (a point
        with another method may carry a stale mark of an earlier layer).
    """
    x0, y0, dx, dy, nx, ny, _ = grid
    n = xs.shape[0]
    west, east = x0 - dx, x0 + (nx + 1) * dx  # a cell wider than the table all round
    south, north = y0 - dy, y0 + (ny + 1) * dy
    for k in nb.prange(n):
        if method[k] != OUTSIDE:
            continue
        px, py = xs[k], ys[k]
        if px < west or px > east or py < south or py > north:  # far off: no division
            scratch[k] = -1
            continue
        fx, fy = (px - x0) / dx, (py - y0) / dy
        if 0.0 <= fx < nx and 0.0 <= fy < ny:
            scratch[k] = table[int(fy) * nx + int(fx)]  # no branch on it: reads overlap
        else:
            scratch[k] = -1 if math.isfinite(px) and math.isfinite(py) else UNSURE
    unsure = 0
    for k in nb.prange(n):
        if method[k] != OUTSIDE:
            continue
        o = scratch[k]
        if o >= 0:
            rows[k] = row0 + o
            method[k] = INSIDE
            continue
        if o == UNSURE:
            unsure += 1
            continue
        if o == -1:
            continue
        owner, near, vertex = _decide(
            xs[k], ys[k], o, bstart, entries, edges, coords, ring_offsets, poly_rings, grid
        )
        if near:
            scratch[k] = UNSURE
            unsure += 1
        elif owner >= 0:
            rows[k] = row0 + owner
            method[k] = EDGE if vertex else INSIDE
    return unsure


#: ``method`` of a point the vacancy table shows outside every layer, while the layers run
VACANT = 4
#: Cells of the vacancy table, at most (1 MB)
_VACANCY_CELLS = 1_000_000


class Vacancy:
    """Where no layer of an index can own a point: one byte per cell, 1 MB at most.

    A point far from every grid (a third of the demo bench's points) used to be
    looked up in every layer, finest first, each answering "none". A cell of this
    table is 0 where every layer's own table holds only "no owner" cells over it
    (and a cell more all round, against rounding), so a point there is outside
    every layer without asking them.

    Parameters
    ----------
    engines : sequence of CellEngine
        The layers' engines (empty ones are skipped).
    """

    def __init__(self, engines) -> None:
        engines = [e for e in engines if e.size]
        x0 = min((e.grid.x0 for e in engines), default=0.0)
        y0 = min((e.grid.y0 for e in engines), default=0.0)
        x1 = max((e.grid.x0 + e.grid.nx * e.grid.dx for e in engines), default=1.0)
        y1 = max((e.grid.y0 + e.grid.ny * e.grid.dy for e in engines), default=1.0)
        d = math.sqrt((x1 - x0) * (y1 - y0) / _VACANCY_CELLS)
        nx, ny = max(1, math.ceil((x1 - x0) / d)), max(1, math.ceil((y1 - y0) / d))
        self.layout = (x0, y0, d, nx, ny)
        self.table = np.zeros(nx * ny, dtype=np.uint8)
        for e in engines:
            g = e.grid
            _mark(np.asarray(e.table), g.x0, g.y0, g.dx, g.dy, g.nx, g.ny, self.table, *self.layout)

    def screen(self, x, y, method) -> None:
        """Set ``method`` VACANT where the point lies in a vacant cell (or off the table)."""
        _screen(x, y, method, self.table, *self.layout)

    @staticmethod
    def restore(method) -> None:
        """Set ``method`` OUTSIDE where :meth:`screen` set it VACANT."""
        _restore(method)


@nb.njit(cache=True)
def _span(start, step, n, origin, d, m):
    """The first and last cell of size ``d`` that each cell of size ``step`` overlaps.

    Cells of ``step`` are ``n`` from ``start``, those of ``d`` are ``m`` from
    ``origin``; each range is a cell wider each way, against rounding.
    """
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    for i in range(n):
        lo[i] = max(0, math.floor((start + i * step - origin) / d) - 1)
        hi[i] = min(m - 1, math.floor((start + (i + 1) * step - origin) / d) + 1)
    return lo, hi


@nb.njit(cache=True)
def _mark(table, x0, y0, dx, dy, nx, ny, out, ox, oy, d, mx, my):
    """Mark in ``out`` every cell that a cell of ``table`` other than "no owner" overlaps."""
    xlo, xhi = _span(x0, dx, nx, ox, d, mx)
    ylo, yhi = _span(y0, dy, ny, oy, d, my)
    for iy in range(ny):
        ix = 0
        while ix < nx:
            if table[iy * nx + ix] == -1:
                ix += 1
                continue
            first = ix
            while ix < nx and table[iy * nx + ix] != -1:  # a run: marked at once
                ix += 1
            for jy in range(ylo[iy], yhi[iy] + 1):
                for jx in range(xlo[first], xhi[ix - 1] + 1):
                    out[jy * mx + jx] = 1


@nb.njit(cache=True, parallel=True)
def _screen(xs, ys, method, table, ox, oy, d, mx, my):
    for k in nb.prange(xs.shape[0]):
        fx, fy = (xs[k] - ox) / d, (ys[k] - oy) / d
        if not (0.0 <= fx < mx and 0.0 <= fy < my) or table[int(fy) * mx + int(fx)] == 0:
            method[k] = VACANT


@nb.njit(cache=True, parallel=True)
def _restore(method):
    for k in nb.prange(method.shape[0]):
        if method[k] == VACANT:
            method[k] = OUTSIDE
