"""The vacancy table: where no layer of an index can own a point.

:meth:`GridIndex.assign <geogrid.engine.assign.GridIndex.assign>` asks the layers
finest first, each with one in-place sweep over every point
(:func:`geogrid.engine.kernels.sweep`); a point far from every grid is set
VACANT first, so the layers skip it.
"""

from __future__ import annotations

import copy
import math

import numba as nb
import numpy as np

from geogrid.engine.kernels import OUTSIDE, cell_values
from geogrid.engine.layout import BLOCK, blocks

__all__ = ["FAR", "VACANT", "Vacancy"]

#: ``method`` of a point in a vacant cell within the nearest search's reach, while
#: the layers run; FAR: beyond it too (no nearest search either)
VACANT, FAR = 4, 5
#: Cells of the vacancy table, at most (1 MB)
_VACANCY_CELLS = 1_000_000
_LAYER, _REACH = 1, 2  # the bits of a cell


class Vacancy:
    """Where no layer of an index can own a point: one byte per cell, 1 MB at most.

    A point far from every grid (a third of the demo bench's points) used to be
    looked up in every layer, finest first, each answering "none", and then in
    the reach of the nearest search. A cell of this table has its first bit
    clear where every layer's own table holds only "no owner" cells over it (and
    a cell more all round, against rounding), so a point there is outside every
    layer without asking them; its second bit clear where the reach's table
    does too, so the point is not near enough to any grid for the nearest search.

    Parameters
    ----------
    engines : sequence of CellEngine
        The layers' engines (empty ones are skipped).
    reach : CellEngine, optional
        The reach of the nearest search, if built.
    searched : bool
        Whether points no layer covers are searched for the nearest grid: if so
        and ``reach`` is None, every vacant cell counts as within reach.
    """

    def __init__(self, engines, reach=None, searched: bool = False) -> None:
        engines = [e for e in engines if e.size]
        tables = engines + ([reach] if reach is not None and reach.size else [])
        x0 = min((e.grid.x0 for e in tables), default=0.0)
        y0 = min((e.grid.y0 for e in tables), default=0.0)
        x1 = max((e.grid.x0 + e.grid.nx * e.grid.dx for e in tables), default=1.0)
        y1 = max((e.grid.y0 + e.grid.ny * e.grid.dy for e in tables), default=1.0)
        d = math.sqrt((x1 - x0) * (y1 - y0) / _VACANCY_CELLS)
        nx, ny = max(1, math.ceil((x1 - x0) / d)), max(1, math.ceil((y1 - y0) / d))
        self.layout = (x0, y0, d, nx, ny)
        self.table = np.zeros(nx * ny, dtype=np.uint8)
        for e in tables:
            _mark_layer(e, self.table, _REACH if e is reach else _LAYER, self.layout)
        self.off = _REACH if searched and reach is None else 0  # the cell value off the table
        self.table |= self.off

    def knowing(self, reach) -> Vacancy:
        """A copy with the reach of the nearest search, now built, marked in (a few ms).

        A point off the table still counts as within reach unless the table covers
        the reach's own table.
        """
        twin = copy.copy(self)
        twin.table = self.table & _LAYER
        g, (x0, y0, d, nx, ny) = reach.grid, self.layout
        _mark_layer(reach, twin.table, _REACH, self.layout)
        covered = (
            x0 <= g.x0 and g.x0 + g.nx * g.dx <= x0 + nx * d
            and y0 <= g.y0 and g.y0 + g.ny * g.dy <= y0 + ny * d
        )  # fmt: skip
        twin.off = 0 if covered else _REACH
        return twin

    def screen(self, x, y, method) -> None:
        """Set ``method`` VACANT or FAR where the point lies in a vacant cell (or off the table)."""
        _screen(x, y, method, self.table, self.off, *self.layout)

    @staticmethod
    def restore(method, mark: int) -> None:
        """Set ``method`` OUTSIDE where :meth:`screen` set it ``mark`` (VACANT or FAR)."""
        _restore(method, mark, OUTSIDE)


@nb.njit(cache=True, nogil=True)
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


def _mark_layer(engine, out, bit, layout) -> None:
    """:func:`_mark` over a layer's table: its blocks of 4 x 4 cells where they are small.

    The table starts with a value per block (see ``geogrid.engine.cells._blocked``):
    -1 where none of its cells has an owner. Where a block fits in a vacancy cell,
    one of mixed cells is marked whole: a vacancy cell more at most, as :func:`_span`
    adds anyway, and 16 times fewer values to read. Coarser cells (three-level grids,
    the reach of the nearest search) are marked one by one. The demo district's
    vacancy table takes 40 ms, as before the blocks (450 ms marking every cell).
    """
    g, table, d = engine.grid, np.asarray(engine.table), layout[2]
    if BLOCK * max(g.dx, g.dy) <= d:
        across, up = blocks(g.nx, g.ny)
        block = (BLOCK * g.dx, BLOCK * g.dy, across, up)
        _mark(table[: across * up], g.x0, g.y0, *block, out, bit, *layout)
    else:
        iy, ix = np.divmod(np.arange(g.nx * g.ny), g.nx)
        cells = cell_values(table, ix, iy, g.nx, g.ny)
        _mark(cells, g.x0, g.y0, g.dx, g.dy, g.nx, g.ny, out, bit, *layout)


@nb.njit(cache=True, nogil=True)
def _mark(table, x0, y0, dx, dy, nx, ny, out, bit, ox, oy, d, mx, my):
    """Set ``bit`` in each cell of ``out`` that a cell of ``table`` not "no owner" overlaps."""
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
                    out[jy * mx + jx] |= bit


@nb.njit(cache=True, parallel=True)
def _screen(xs, ys, method, table, off, ox, oy, d, mx, my):
    for k in nb.prange(xs.shape[0]):
        fx, fy = (xs[k] - ox) / d, (ys[k] - oy) / d
        cell = table[int(fy) * mx + int(fx)] if 0.0 <= fx < mx and 0.0 <= fy < my else off
        if not cell & _LAYER:
            method[k] = VACANT if cell & _REACH else FAR


@nb.njit(cache=True, parallel=True)
def _restore(method, mark, outside):  # outside as an argument: numba would cache kernels' value
    for k in nb.prange(method.shape[0]):
        if method[k] == mark:
            method[k] = outside
