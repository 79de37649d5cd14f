"""The vacancy table: where no layer of an index can own a point.

:meth:`GridIndex.assign <geogrid.engine.assign.GridIndex.assign>` asks the layers
finest first, each with one in-place sweep over every point
(:func:`geogrid.engine.kernels.sweep`); a point far from every grid is set
VACANT first, so the layers skip it.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from geogrid.engine.kernels import OUTSIDE

__all__ = ["VACANT", "Vacancy"]

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
