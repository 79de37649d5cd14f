"""The numba kernels of the cell engine (:mod:`geogrid.engine.cells`).

The kernels take the layout of the cell table as one :class:`CellGrid`, and the
polygons flattened as by :func:`shapely.to_ragged_array`: ``coords`` (n, 2),
``ring_offsets`` into ``coords``, ``poly_rings`` (each polygon's first ring and
one past its last) into ``ring_offsets``.

Serial kernels let go of Python's lock (``nogil``): a redraw builds tables on
one thread while the other checks the topology. Parallel ones keep it, so no
two threads launch one at once: numba's fallback threading layer (workqueue,
where neither OpenMP nor TBB loads) aborts the process when they do.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from geogrid.engine.layout import CellGrid

__all__ = [
    "CENTRE_OUTSIDE",
    "EDGE",
    "INSIDE",
    "OUTSIDE",
    "UNSURE",
    "CellGrid",
    "before_fork",
    "cell_values",
    "query",
    "query_one",
    "sweep",
]

_OUTSIDE, _INSIDE, _NEAR, _VERTEX = 0, 1, 2, 3
CENTRE_OUTSIDE = _OUTSIDE  #: the state of a cell's centre outside a candidate
#: Method ids of :func:`sweep`, in the order of :data:`geogrid.engine.assign.METHODS`
INSIDE, EDGE, OUTSIDE = 0, 1, 3
#: ``scratch`` value of a point too near an edge (or not finite): GEOS decides it.
UNSURE = np.iinfo(np.int32).min


def before_fork() -> None:
    """Make numba's typing and target contexts now, in a process about to fork workers.

    The first call of any kernel makes them (numba's typing tables, the LLVM
    target: about 30 MB); made before the fork, every worker shares their pages
    instead of making its own. No kernel is loaded, so numba's thread pool does
    not start: GNU OpenMP must not cross a fork, and each worker starts its own.
    """
    from numba.core.registry import cpu_target

    cpu_target.typing_context.refresh()
    cpu_target.target_context.refresh()


@nb.njit(cache=True, inline="always")
def _value(table, ix, iy, nx, ny):
    """The value of cell (ix, iy) in a table of blocks (``geogrid.engine.cells._blocked``).

    The table starts with one value per block of 4 x 4 cells, ``(nx + 3) // 4``
    blocks across, rows of blocks from the south: the value of all its cells if
    they share one (an owner, or -1 for none), else ``-(b + 2)``, ``b`` the
    block's place among the 16-cell runs that follow, its cells row by row.
    """
    across = (nx + 3) >> 2
    v = table[(iy >> 2) * across + (ix >> 2)]
    if v <= -2:
        v = table[across * ((ny + 3) >> 2) + ((-v - 2) << 4) + ((iy & 3) << 2) + (ix & 3)]
    return v


@nb.njit(cache=True, nogil=True)
def cell_values(table, ix, iy, nx, ny):
    """The values of cells (ix[k], iy[k]) of a table of blocks, for code outside numba."""
    out = np.empty(ix.shape[0], dtype=np.int32)
    for k in range(ix.shape[0]):
        out[k] = _value(table, ix[k], iy[k], nx, ny)
    return out


@intrinsic
def _prefetch(typingctx, array, i):
    """Have the processor fetch ``array[i]`` into its caches, without waiting (LLVM's prefetch)."""

    def codegen(context, builder, signature, args):
        arraytype = signature.args[0]
        made = context.make_array(arraytype)(context, builder, args[0])
        i = context.cast(builder, args[1], signature.args[1], types.intp)
        at = cgutils.get_item_pointer(context, builder, arraytype, made, [i], False)
        byte, int32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte, int32, int32, int32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [byte], fnty)
        builder.call(fn, [builder.bitcast(at, byte), int32(0), int32(3), int32(1)])  # read, keep
        return context.get_dummy_value()

    return types.void(array, i), codegen


@nb.njit(cache=True, inline="always")
def _ahead(values, k, stream, flat):
    """Fetch what points ahead read first in a boundary cell: its first header, its first edge.

    The header 64 points ahead, the edge's coordinates (``flat``: ``coords`` as one row) 32
    ahead. Stale table ``values`` are harmless: ``stream`` is read within bounds only.
    """
    if k + 64 < values.shape[0]:
        j = -np.int64(values[k + 64]) - 2
        if 0 <= j < stream.shape[0]:
            _prefetch(stream, j)
    if k + 32 < values.shape[0]:
        j = -np.int64(values[k + 32]) - 2
        if 0 <= j < stream.shape[0] - 1 and stream[j + 1] >= 0:
            _prefetch(flat, 2 * stream[j + 1])


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _pip(px, py, pid, coords, ring_offsets, poly_rings, near):
    """Even-odd crossing test over every ring of polygon ``pid``; _NEAR if close to an edge."""
    inside = False
    for r in range(poly_rings[pid], poly_rings[pid + 1]):
        for i in range(ring_offsets[r], ring_offsets[r + 1] - 1):
            x1, y1 = coords[i, 0], coords[i, 1]
            x2, y2 = coords[i + 1, 0], coords[i + 1, 1]
            if (px == x1 and py == y1) or (px == x2 and py == y2):
                return _VERTEX  # exactly a vertex: on the boundary, no doubt
            if (
                min(x1, x2) - near <= px <= max(x1, x2) + near
                and min(y1, y2) - near <= py <= max(y1, y2) + near
            ):
                length = max(abs(x2 - x1), abs(y2 - y1))
                cross = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
                if abs(cross) <= near * length or length == 0.0:
                    return _NEAR
            if (y1 > py) != (y2 > py):
                xint = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
                if px < xint:
                    inside = not inside
    return _INSIDE if inside else _OUTSIDE


@nb.njit(cache=True, parallel=True, error_model="numpy")
def _interiors(slot_of, start, cand, coords, ring_offsets, poly_rings, grid):
    """Owners of the cells no edge touches; boundary cells get -(slot + 2).

    Two neighbouring untouched cells of a row share their owner (an edge between
    them would touch both), so only the first of each run is tested, against the
    candidates of the boundary cell before it.
    """
    x0, y0, dx, dy, nx, ny, near = grid
    table = np.empty(nx * ny, dtype=np.int32)
    for iy in nb.prange(ny):
        owner = -1
        previous = -1
        for ix in range(nx):
            c = iy * nx + ix
            s = slot_of[c]
            if s >= 0:
                table[c] = -(s + 2)
                previous = s
                continue
            if previous >= 0:  # the first cell of a run: test its centre
                cx, cy = x0 + (ix + 0.5) * dx, y0 + (iy + 0.5) * dy
                owner = -1
                for j in range(start[previous], start[previous + 1]):
                    if _pip(cx, cy, cand[j], coords, ring_offsets, poly_rings, near) == _INSIDE:
                        owner = cand[j]
                        break
                previous = -1
            table[c] = owner
    return table


@nb.njit(cache=True, parallel=True, error_model="numpy")
def _boundary_lists(
    slot_cells, start, cand, estart, cedges, coord_poly, coords, ring_offsets, poly_rings, grid
):
    """Per boundary cell: candidates in code order, the centre's state, their edge runs."""
    x0, y0, dx, dy, nx, _, near = grid
    n = slot_cells.shape[0]
    bstart = start
    entries = np.zeros((bstart[-1], 4), dtype=np.int32)  # one cache line holds four
    edges = cedges.copy()
    for s in nb.prange(n):
        c = slot_cells[s]
        a, b = estart[s], estart[s + 1]
        for i in range(a + 1, b):  # insertion sort by polygon: a handful per cell
            e = edges[i]
            k = i - 1
            while k >= a and coord_poly[edges[k]] > coord_poly[e]:
                edges[k + 1] = edges[k]
                k -= 1
            edges[k + 1] = e
        cx = x0 + (c % nx + 0.5) * dx
        cy = y0 + (c // nx + 0.5) * dy
        pos = a
        for m in range(start[s + 1] - start[s]):
            p = cand[start[s] + m]
            j = bstart[s] + m
            entries[j, 0] = p
            state = _pip(cx, cy, p, coords, ring_offsets, poly_rings, near)
            entries[j, 1] = state if state in (_INSIDE, _OUTSIDE) else 2
            while pos < b and coord_poly[edges[pos]] < p:
                pos += 1
            entries[j, 2] = pos
            while pos < b and coord_poly[edges[pos]] == p:
                pos += 1
            entries[j, 3] = pos
    return bstart, entries, edges


@nb.njit(cache=True, inline="always", error_model="numpy")
def _local(px, py, cx, cy, j, stream, coords, ring_offsets, poly_rings, near):
    """State at the point of the candidate whose header is ``stream[j]``.

    The cell centre's state, flipped per edge crossing of the segment from the
    centre to the point; the edges follow the header up to the next (negative) one.
    """
    h = -stream[j] - 1
    p, state = h >> 3, h & 3
    if state == 2:
        return _pip(px, py, p, coords, ring_offsets, poly_rings, near)
    lx, ly = px - cx, py - cy
    span = max(abs(lx), abs(ly))
    flip = False
    k = j + 1
    while stream[k] >= 0:
        i = stream[k]
        k += 1
        x1, y1 = coords[i, 0], coords[i, 1]
        x2, y2 = coords[i + 1, 0], coords[i + 1, 1]
        if (px == x1 and py == y1) or (px == x2 and py == y2):
            return _VERTEX
        ex, ey = x2 - x1, y2 - y1
        length = max(abs(ex), abs(ey))
        o_point = ex * (py - y1) - ey * (px - x1)
        if (
            min(x1, x2) - near <= px <= max(x1, x2) + near
            and min(y1, y2) - near <= py <= max(y1, y2) + near
            and (abs(o_point) <= near * length or length == 0.0)
        ):
            return _NEAR
        o_centre = ex * (cy - y1) - ey * (cx - x1)
        o_a = lx * (y1 - cy) - ly * (x1 - cx)
        o_b = lx * (y2 - cy) - ly * (x2 - cx)
        if abs(o_centre) <= near * length or abs(o_a) <= near * span or abs(o_b) <= near * span:
            return _pip(px, py, p, coords, ring_offsets, poly_rings, near)  # degenerate
        if (o_centre > 0) != (o_point > 0) and (o_a > 0) != (o_b > 0):
            flip = not flip
    inside = (state == _INSIDE) != flip
    return _INSIDE if inside else _OUTSIDE


@nb.njit(cache=True, inline="always", error_model="numpy")
def _decide(px, py, o, stream, coords, ring_offsets, poly_rings, grid):
    """A point whose cell's table value ``o`` is -(j + 2): (owner, unsure, on a vertex).

    ``stream[j]`` is the header of the cell's first candidate (see
    ``geogrid.engine.cells._compact``); the candidates are tested in code order.
    """
    x0, y0, dx, dy, _, _, near = grid
    ix, iy, j = int((px - x0) / dx), int((py - y0) / dy), -o - 2
    cx, cy = x0 + (ix + 0.5) * dx, y0 + (iy + 0.5) * dy
    while True:
        state = _local(px, py, cx, cy, j, stream, coords, ring_offsets, poly_rings, near)
        h = -stream[j] - 1
        if state == _NEAR:
            return -1, True, False
        if state in (_INSIDE, _VERTEX):
            return h >> 3, False, state == _VERTEX
        if h & 4:  # the cell's last candidate
            return -1, False, False
        j += 1
        while stream[j] >= 0:  # past this candidate's edges, to the next header
            j += 1


@nb.njit(cache=True)
def query_one(px, py, table, stream, coords, ring_offsets, poly_rings, *grid):
    """Owner of one point (degrees): (owner, unsure, vertex).

    ``table`` and ``stream`` are the tables as the engine keeps them (see
    ``geogrid.engine.cells._compact`` and ``_blocked``), then the polygons, then
    the fields of the :class:`CellGrid` unpacked: numba's dispatcher takes ~1.7 us
    longer to type and unbox a named tuple than seven scalars, 40% of a call.
    ``owner`` is the owning polygon's index, -1 for none; ``unsure`` whether the
    point is too near an edge or not finite (GEOS must decide); ``vertex``
    whether it is exactly a vertex of its owner.
    """
    grid = CellGrid(*grid)
    x0, y0, dx, dy, nx, ny, _ = grid
    fx, fy = (px - x0) / dx, (py - y0) / dy
    if not (0.0 <= fx < nx and 0.0 <= fy < ny):
        return -1, not (math.isfinite(px) and math.isfinite(py)), False
    o = _value(table, int(fx), int(fy), nx, ny)
    if o >= -1:
        return o, False, False
    return _decide(px, py, o, stream, coords, ring_offsets, poly_rings, grid)


@nb.njit(cache=True, parallel=True, error_model="numpy")
def query(xs, ys, table, stream, coords, ring_offsets, poly_rings, grid):
    """Owners of arrays of points (float64 degrees): :func:`query_one` in two parallel passes.

    The first pass only finds each point's cell and reads the table (once, or twice
    in a block of mixed cells): a tight loop whose reads the processor overlaps. The
    second takes the points in boundary cells (a negative table value) and fetches
    ahead what later ones will read (:func:`_ahead`). The arrays are as for
    :func:`query_one`, the grid a :class:`CellGrid`; returns ``owner`` (as int32),
    ``unsure`` and ``vertex`` of :func:`query_one`, as arrays.
    """
    x0, y0, dx, dy, nx, ny, _ = grid
    n = xs.shape[0]
    owners = np.empty(n, dtype=np.int32)
    unsure = np.empty(n, dtype=np.bool_)
    vertex = np.empty(n, dtype=np.bool_)
    for k in nb.prange(n):
        px, py = xs[k], ys[k]
        unsure[k], vertex[k] = False, False
        fx, fy = (px - x0) / dx, (py - y0) / dy
        if 0.0 <= fx < nx and 0.0 <= fy < ny:
            owners[k] = _value(table, int(fx), int(fy), nx, ny)
        else:
            owners[k] = -1
            unsure[k] = not (math.isfinite(px) and math.isfinite(py))
    flat = coords.reshape(coords.shape[0] * 2)
    for k in nb.prange(n):
        _ahead(owners, k, stream, flat)
        o = owners[k]
        if o >= -1:
            continue
        px, py = xs[k], ys[k]
        owners[k], unsure[k], vertex[k] = _decide(
            px, py, o, stream, coords, ring_offsets, poly_rings, grid
        )
    return owners, unsure, vertex


@nb.njit(cache=True, parallel=True, error_model="numpy")
def sweep(
    xs, ys, rows, method, row0, scratch, table, stream, coords, ring_offsets, poly_rings, grid
):
    """Assign the points with method OUTSIDE that this layer's cell table covers.

    Two passes, as :func:`geogrid.engine.kernels.query`: table reads first, then
    the points in boundary cells. A covered point gets ``rows[k] = row0 + owner``
    and INSIDE or EDGE in ``method[k]``. Returns the number of points left unsure,
    marked UNSURE in ``scratch`` (-1 for a point with another method: nothing of
    an earlier layer for :func:`_ahead` to fetch by).
    """
    x0, y0, dx, dy, nx, ny, _ = grid
    n = xs.shape[0]
    west, east = x0 - dx, x0 + (nx + 1) * dx  # a cell wider than the table all round
    south, north = y0 - dy, y0 + (ny + 1) * dy
    for k in nb.prange(n):
        if method[k] != OUTSIDE:
            scratch[k] = -1
            continue
        px, py = xs[k], ys[k]
        if px < west or px > east or py < south or py > north:  # far off: no division
            scratch[k] = -1
            continue
        fx, fy = (px - x0) / dx, (py - y0) / dy
        if 0.0 <= fx < nx and 0.0 <= fy < ny:
            scratch[k] = _value(table, int(fx), int(fy), nx, ny)
        else:
            scratch[k] = -1 if math.isfinite(px) and math.isfinite(py) else UNSURE
    unsure = 0
    flat = coords.reshape(coords.shape[0] * 2)
    for k in nb.prange(n):
        _ahead(scratch, k, stream, flat)
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
            xs[k], ys[k], o, stream, coords, ring_offsets, poly_rings, grid
        )
        if near:
            scratch[k] = UNSURE
            unsure += 1
        elif owner >= 0:
            rows[k] = row0 + owner
            method[k] = EDGE if vertex else INSIDE
    return unsure
