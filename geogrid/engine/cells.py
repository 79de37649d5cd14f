"""A cell-table point-in-polygon engine: exact, vectorized, compiled with numba.

The bounding box of the polygons is cut into cells of about ``cell_m`` metres
(by default ~1,600 cells per polygon: 2-3 m for micro grids; at most 40M cells).
A cell that no edge comes near belongs wholly to one polygon (or to none): a
point there is answered by one table read. In a cell that edges cross, the
candidate polygons are tested in code order with a crossing-number test
compiled by numba; the first that holds the point owns it. A point closer than
``near_deg`` (1e-9 degrees, ~0.1 mm) to any edge it is tested against is handed
to GEOS (the :class:`~geogrid.engine.reference.STRtreeEngine`), so the answer is the
reference's on every point, on boundaries by the same lowest-code rule.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import shapely
from shapely.geometry import MultiPolygon

from geogrid.engine.reference import NO_OWNER, STRtreeEngine

__all__ = ["CellEngine"]

_BOUNDARY = -2
_OUTSIDE, _INSIDE, _NEAR, _VERTEX = 0, 1, 2, 3
_MAX_CELLS = 40_000_000
_CELLS_PER_POLYGON = 1600


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


@nb.njit(cache=True)
def _candidates(bounds, x0, y0, dx, dy, nx, ny, slot_of, n_slots):
    """For each boundary cell (slot): the polygons whose bounding box touches it, in order."""
    counts = np.zeros(n_slots + 1, dtype=np.int64)
    n = bounds.shape[0]
    for phase in range(2):
        if phase == 1:
            counts = np.cumsum(counts)
        fill = counts[:-1].copy()
        out = np.empty(counts[-1] if phase == 1 else 0, dtype=np.int32)
        for p in range(n):
            ix0 = max(0, int(math.floor((bounds[p, 0] - x0) / dx)))
            iy0 = max(0, int(math.floor((bounds[p, 1] - y0) / dy)))
            ix1 = min(nx - 1, int(math.floor((bounds[p, 2] - x0) / dx)))
            iy1 = min(ny - 1, int(math.floor((bounds[p, 3] - y0) / dy)))
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


def _mark_edges(coords, ring_offsets, x0, y0, dx, dy, nx, ny, pad):
    """Mark every cell an edge passes through or within ``pad`` of: a boundary cell."""
    marked = np.zeros(nx * ny, dtype=np.uint8)
    none32 = np.zeros(0, dtype=np.int32)
    _raster(
        coords,
        ring_offsets,
        x0,
        y0,
        dx,
        dy,
        nx,
        ny,
        pad,
        none32,
        marked,
        np.zeros(0, dtype=np.int64),
        none32,
        -1,
    )
    return marked


@nb.njit(cache=True, parallel=True, error_model="numpy")
def _interiors(
    slot_of, start, cand, coords, ring_offsets, poly_rings, x0, y0, dx, dy, nx, ny, near
):
    """Owners of the cells no edge touches; boundary cells get -(slot + 2).

    Two neighbouring untouched cells of a row share their owner (an edge between
    them would touch both), so only the first of each run is tested, against the
    candidates of the boundary cell before it.
    """
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


@nb.njit(cache=True)
def _raster(coords, ring_offsets, x0, y0, dx, dy, nx, ny, pad, slot_of, counts, fill, out, phase):
    """Walk every (edge, cell it touches) pair: mark the cell (phase -1), count the pairs per
    boundary cell (phase 0) or list them (phase 1).

    Row by row: the part of the edge inside the row's band (grown by ``pad``)
    spans a run of cells, grown by ``pad`` too.
    """
    for r in range(ring_offsets.shape[0] - 1):
        for i in range(ring_offsets[r], ring_offsets[r + 1] - 1):
            xa, ya = coords[i, 0], coords[i, 1]
            xb, yb = coords[i + 1, 0], coords[i + 1, 1]
            lo, hi = min(ya, yb), max(ya, yb)
            iy0 = max(0, int(math.floor((lo - pad - y0) / dy)))
            iy1 = min(ny - 1, int(math.floor((hi + pad - y0) / dy)))
            for iy in range(iy0, iy1 + 1):
                band_lo = max(lo, y0 + iy * dy - pad)
                band_hi = min(hi, y0 + (iy + 1) * dy + pad)
                if hi - lo > 0.0:
                    xl = xa + (band_lo - ya) * (xb - xa) / (yb - ya)
                    xh = xa + (band_hi - ya) * (xb - xa) / (yb - ya)
                else:
                    xl, xh = xa, xb
                ix0 = max(0, int(math.floor((min(xl, xh) - pad - x0) / dx)))
                ix1 = min(nx - 1, int(math.floor((max(xl, xh) + pad - x0) / dx)))
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


def _cell_edges(coords, ring_offsets, x0, y0, dx, dy, nx, ny, pad, slot_of, n_slots):
    """For each boundary cell (slot), the edges (start coordinate index) that touch it."""
    counts = np.zeros(n_slots + 1, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    args = (coords, ring_offsets, x0, y0, dx, dy, nx, ny, pad, slot_of)
    _raster(*args, counts, empty, np.zeros(0, dtype=np.int32), 0)
    start = np.cumsum(counts)
    out = np.empty(start[-1], dtype=np.int32)
    _raster(*args, counts, start[:-1].copy(), out, 1)
    return start, out


@nb.njit(cache=True, parallel=True, error_model="numpy")
def _boundary_lists(
    slot_cells,
    start,
    cand,
    estart_cell,
    cedges_cell,
    coord_poly,
    coords,
    ring_offsets,
    poly_rings,
    x0,
    y0,
    dx,
    dy,
    nx,
    near,
):
    """Per boundary cell: its candidates in code order, the centre's state for each, and
    each candidate's edges in the cell (sorted by polygon, so each is one run)."""
    n = slot_cells.shape[0]
    bstart = start
    bcand = np.empty(bstart[-1], dtype=np.int32)
    bstate = np.empty(bstart[-1], dtype=np.int8)
    erange = np.zeros((bstart[-1], 2), dtype=np.int32)
    edges = cedges_cell.copy()
    for s in nb.prange(n):
        c = slot_cells[s]
        a, b = estart_cell[s], estart_cell[s + 1]
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
            bcand[j] = p
            state = _pip(cx, cy, p, coords, ring_offsets, poly_rings, near)
            bstate[j] = state if state == _INSIDE or state == _OUTSIDE else 2
            while pos < b and coord_poly[edges[pos]] < p:
                pos += 1
            erange[j, 0] = pos
            while pos < b and coord_poly[edges[pos]] == p:
                pos += 1
            erange[j, 1] = pos
    return bstart, bcand, bstate, erange, edges


@nb.njit(cache=True, inline="always", error_model="numpy")
def _local(px, py, cx, cy, j, bcand, bstate, erange, edges, coords, ring_offsets, poly_rings, near):
    """State of polygon bcand[j] at the point, from the cell centre's state and the parity of
    the polygon's edges crossing centre->point; the full test when anything is degenerate."""
    p = bcand[j]
    state = bstate[j]
    if state == 2:
        return _pip(px, py, p, coords, ring_offsets, poly_rings, near)
    lx, ly = px - cx, py - cy
    span = max(abs(lx), abs(ly))
    flip = False
    for k in range(erange[j, 0], erange[j, 1]):
        i = edges[k]
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
            return _pip(px, py, p, coords, ring_offsets, poly_rings, near)
        if (o_centre > 0) != (o_point > 0) and (o_a > 0) != (o_b > 0):
            flip = not flip
    inside = (state == _INSIDE) != flip
    return _INSIDE if inside else _OUTSIDE


@nb.njit(cache=True, inline="always", error_model="numpy")
def _decide(
    px,
    py,
    ix,
    iy,
    s,
    bstart,
    bcand,
    bstate,
    erange,
    edges,
    coords,
    ring_offsets,
    poly_rings,
    x0,
    y0,
    dx,
    dy,
    near,
):
    """A point in boundary cell (ix, iy), slot ``s``: (owner, unsure, on a vertex)."""
    cx, cy = x0 + (ix + 0.5) * dx, y0 + (iy + 0.5) * dy
    for j in range(bstart[s], bstart[s + 1]):
        state = _local(
            px, py, cx, cy, j, bcand, bstate, erange, edges, coords, ring_offsets, poly_rings, near
        )
        if state == _NEAR:
            return -1, True, False
        if state == _INSIDE or state == _VERTEX:
            return bcand[j], False, state == _VERTEX
    return -1, False, False


@nb.njit(cache=True)
def _query_one(
    px,
    py,
    table,
    bstart,
    bcand,
    bstate,
    erange,
    edges,
    coords,
    ring_offsets,
    poly_rings,
    x0,
    y0,
    dx,
    dy,
    nx,
    ny,
    near,
):
    """One point: (owner, unsure, on a vertex of the owner)."""
    fx, fy = (px - x0) / dx, (py - y0) / dy
    if not (0.0 <= fx < nx and 0.0 <= fy < ny):
        return -1, not (math.isfinite(px) and math.isfinite(py)), False
    ix, iy = int(fx), int(fy)
    o = table[iy * nx + ix]
    if o >= -1:
        return o, False, False
    return _decide(
        px,
        py,
        ix,
        iy,
        -o - 2,
        bstart,
        bcand,
        bstate,
        erange,
        edges,
        coords,
        ring_offsets,
        poly_rings,
        x0,
        y0,
        dx,
        dy,
        near,
    )


@nb.njit(cache=True, parallel=True, error_model="numpy")
def _query(
    xs,
    ys,
    table,
    bstart,
    bcand,
    bstate,
    erange,
    edges,
    coords,
    ring_offsets,
    poly_rings,
    x0,
    y0,
    dx,
    dy,
    nx,
    ny,
    near,
    owners,
    unsure,
    vertex,
):
    """:func:`_query_one` over arrays, in two passes.

    The first pass only finds each point's cell and reads the table: a tight loop
    whose independent memory reads the processor overlaps. The second takes the
    points that fell in boundary cells (marked by a negative table value).
    """
    n = xs.shape[0]
    for k in nb.prange(n):
        px, py = xs[k], ys[k]
        unsure[k], vertex[k] = False, False
        fx, fy = (px - x0) / dx, (py - y0) / dy
        if 0.0 <= fx < nx and 0.0 <= fy < ny:
            owners[k] = table[int(fy) * nx + int(fx)]
        else:
            owners[k] = -1
            unsure[k] = not (math.isfinite(px) and math.isfinite(py))
    for k in nb.prange(n):
        o = owners[k]
        if o >= -1:
            continue
        px, py = xs[k], ys[k]
        owners[k], unsure[k], vertex[k] = _decide(
            px,
            py,
            int((px - x0) / dx),
            int((py - y0) / dy),
            -o - 2,
            bstart,
            bcand,
            bstate,
            erange,
            edges,
            coords,
            ring_offsets,
            poly_rings,
            x0,
            y0,
            dx,
            dy,
            near,
        )


class CellEngine:
    """Cell-table engine over polygons sorted by code (see the module docstring)."""

    def __init__(self, geometries, cell_m: float | None = None, near_deg: float = 1e-9) -> None:
        self.geometries = np.asarray(geometries, dtype=object)
        self.near = float(near_deg)
        self.exact = STRtreeEngine(self.geometries)
        self.size = len(self.geometries)
        if self.size == 0:
            return
        multi = [g if g.geom_type == "MultiPolygon" else MultiPolygon([g]) for g in self.geometries]
        _, coords, (ring_offsets, part_offsets, geom_offsets) = shapely.to_ragged_array(multi)
        self.coords = np.ascontiguousarray(coords, dtype=np.float64)
        self.ring_offsets = ring_offsets.astype(np.int64)
        self.poly_rings = part_offsets[geom_offsets].astype(np.int64)
        x0, y0, x1, y1 = shapely.total_bounds(self.geometries)
        lat = math.radians((y0 + y1) / 2)
        if cell_m is None:  # ~1,600 cells per polygon, 2 m at the finest
            area = max((x1 - x0) * 111_320.0 * math.cos(lat) * (y1 - y0) * 110_574.0, 1.0)
            cell_m = max(2.0, math.sqrt(area / (self.size * _CELLS_PER_POLYGON)))
        self.cell_m = float(cell_m)
        dx = cell_m / (111_320.0 * max(math.cos(lat), 0.01))
        dy = cell_m / 110_574.0
        while math.ceil((x1 - x0) / dx + 1) * math.ceil((y1 - y0) / dy + 1) > _MAX_CELLS:
            dx, dy = dx * 1.5, dy * 1.5
        self.x0, self.y0, self.dx, self.dy = x0 - dx, y0 - dy, dx, dy
        self.nx = int(math.ceil((x1 - self.x0) / dx)) + 2
        self.ny = int(math.ceil((y1 - self.y0) / dy)) + 2
        bounds = shapely.bounds(self.geometries)
        marked = _mark_edges(
            self.coords, self.ring_offsets, self.x0, self.y0, dx, dy, self.nx, self.ny, self.near
        )
        cells = np.flatnonzero(marked)
        del marked
        slot_of = np.full(self.nx * self.ny, -1, dtype=np.int32)
        slot_of[cells] = np.arange(len(cells), dtype=np.int32)
        start, cand = _candidates(
            bounds, self.x0, self.y0, dx, dy, self.nx, self.ny, slot_of, len(cells)
        )
        estart, cedges = _cell_edges(
            self.coords,
            self.ring_offsets,
            self.x0,
            self.y0,
            dx,
            dy,
            self.nx,
            self.ny,
            self.near,
            slot_of,
            len(cells),
        )
        ring_poly = np.repeat(np.arange(self.size), np.diff(self.poly_rings))
        coord_poly = ring_poly[
            np.repeat(np.arange(len(self.ring_offsets) - 1), np.diff(self.ring_offsets))
        ].astype(np.int32)
        (self.bstart, self.bcand, self.bstate, self.erange, self.edges) = _boundary_lists(
            cells,
            start,
            cand,
            estart,
            cedges,
            coord_poly,
            self.coords,
            self.ring_offsets,
            self.poly_rings,
            self.x0,
            self.y0,
            dx,
            dy,
            self.nx,
            self.near,
        )
        self.table = _interiors(
            slot_of,
            start,
            cand,
            self.coords,
            self.ring_offsets,
            self.poly_rings,
            self.x0,
            self.y0,
            dx,
            dy,
            self.nx,
            self.ny,
            self.near,
        )

    @property
    def nbytes(self) -> int:
        """Memory held by the cell table and the flattened polygons."""
        if self.size == 0:
            return 0
        return sum(
            a.nbytes
            for a in (
                self.coords,
                self.ring_offsets,
                self.poly_rings,
                self.table,
                self.bstart,
                self.bcand,
                self.bstate,
                self.erange,
                self.edges,
            )
        )

    def _args(self) -> tuple:
        return (
            self.table,
            self.bstart,
            self.bcand,
            self.bstate,
            self.erange,
            self.edges,
            self.coords,
            self.ring_offsets,
            self.poly_rings,
            self.x0,
            self.y0,
            self.dx,
            self.dy,
            self.nx,
            self.ny,
            self.near,
        )

    def owner(self, x: float, y: float) -> tuple[int, bool]:
        """One point: (owner index or NO_OWNER, on the owner's boundary) — the fast path."""
        if self.size == 0:
            return NO_OWNER, False
        found, unsure, vertex = _query_one(float(x), float(y), *self._args())
        if unsure:
            owner, on_edge = self.exact.owners(np.array([x]), np.array([y]))
            return int(owner[0]), bool(on_edge[0])
        return int(found), bool(vertex)

    def owners(self, x, y, points=None) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if len(x) == 0 or self.size == 0:
            return np.full(len(x), NO_OWNER, dtype=np.int64), np.zeros(len(x), dtype=bool)
        found = np.empty(len(x), dtype=np.int32)
        unsure = np.empty(len(x), dtype=np.bool_)
        on_edge = np.empty(len(x), dtype=np.bool_)
        _query(x, y, *self._args(), found, unsure, on_edge)
        owner = found  # int32 indexes numpy arrays as well
        near = np.flatnonzero(unsure)
        if len(near):  # within 0.1 mm of an edge: GEOS decides, exactly
            sub = None if points is None else points[near]
            owner[near], on_edge[near] = self.exact.owners(x[near], y[near], sub)
        return owner, on_edge
