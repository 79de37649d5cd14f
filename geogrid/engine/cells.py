"""A cell-table point-in-polygon engine: exact, vectorized, compiled with numba.

The bounding box of the polygons is cut into cells of about ``cell_m`` metres
(by default ~1,600 cells per polygon: 2-3 m for micro grids; at most 40M cells).
A cell that no edge comes near belongs wholly to one polygon (or to none): a
point there is answered by the table alone (cells are kept in blocks of 4 x 4,
one value for a block whose cells share it: one read or two). In a cell that
edges cross, the candidate polygons are tested in code order with a
crossing-number test compiled by numba; the first that holds the point owns
it. A point closer than ``near_deg`` (1e-9 degrees, ~0.1 mm) to any edge it is
tested against is handed to GEOS with its cell's candidates
(:mod:`geogrid.engine.settle`), with the predicates of the
:class:`~geogrid.engine.reference.STRtreeEngine`, so the answer is the
reference's on every point, on boundaries by the same lowest-code rule.

The kernels live in :mod:`geogrid.engine.kernels`; they get the layout of the
cell table as one :class:`~geogrid.engine.kernels.CellGrid`.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from geogrid.engine import build, kernels
from geogrid.engine.kernels import EDGE, INSIDE, OUTSIDE, UNSURE, CellGrid, sweep
from geogrid.engine.layout import BLOCK, blocks
from geogrid.engine.order import put, spatial_order, take
from geogrid.engine.reference import NO_OWNER
from geogrid.engine.settle import settle

__all__ = ["CellEngine"]

_TABLES = ("table", "stream")  # what the queries take, before the polygons
_MAX_CELLS = 40_000_000
_CELLS_PER_POLYGON = 1600
_M_PER_DEG_LON = 111_320.0  # at the equator
_M_PER_DEG_LAT = 110_574.0


def _flatten(geometries):
    """Coordinates, ring offsets and each polygon's first ring, as the kernels take them.

    Also the part and geometry offsets, from which :func:`shapely.from_ragged_array`
    gives the polygons back exactly (as MultiPolygons).
    """
    parts, owner = shapely.get_parts(geometries, return_index=True)
    multi = shapely.multipolygons(parts, indices=owner)  # every one a MultiPolygon, in C
    _, coords, (ring_offsets, part_offsets, geom_offsets) = shapely.to_ragged_array(multi)
    coords = np.ascontiguousarray(coords, dtype=np.float64)
    return (
        coords,
        ring_offsets.astype(np.int64),
        part_offsets[geom_offsets].astype(np.int64),
        (part_offsets.astype(np.int64), geom_offsets.astype(np.int64)),
    )


def _cell_size(bounds, count, cell_m):
    """``cell_m`` (~1,600 cells per polygon if None, 2 m at the finest) and (dx, dy) in degrees."""
    x0, y0, x1, y1 = bounds
    lat = math.radians((y0 + y1) / 2)
    if cell_m is None:
        area = (x1 - x0) * _M_PER_DEG_LON * math.cos(lat) * (y1 - y0) * _M_PER_DEG_LAT
        cell_m = max(2.0, math.sqrt(max(area, 1.0) / (count * _CELLS_PER_POLYGON)))
    dx = cell_m / (_M_PER_DEG_LON * max(math.cos(lat), 0.01))
    dy = cell_m / _M_PER_DEG_LAT
    while math.ceil((x1 - x0) / dx + 1) * math.ceil((y1 - y0) / dy + 1) > _MAX_CELLS:
        dx, dy = dx * 1.5, dy * 1.5
    return float(cell_m), dx, dy


def _layout(bounds, dx, dy, near) -> CellGrid:
    """The grid over ``bounds`` with a margin of a cell (and more) all round."""
    x0, y0, x1, y1 = bounds
    gx0, gy0 = x0 - dx, y0 - dy
    nx = math.ceil((x1 - gx0) / dx) + 2
    ny = math.ceil((y1 - gy0) / dy) + 2
    return CellGrid(float(gx0), float(gy0), float(dx), float(dy), int(nx), int(ny), float(near))


def _compact(table, bstart, entries, edges):
    """The boundary lists as the queries take them: pruned, then one int32 stream.

    - A candidate (a polygon whose bounding box touches the cell) with no edge in
      or near the cell and the cell's centre outside it lies wholly outside the
      cell: testing it can only say "outside". About two in five candidates of the
      demo district's micro grids are such, and each costs every point in the
      cell: they are dropped. A cell left with none is owned by none (-1).
    - Each kept candidate is a negative header, ``-(polygon << 3 | last << 2 |
      state) - 1`` (``last`` on a cell's last candidate), followed by its edges in
      or near the cell (the first coordinate of each, never negative); a cell's
      candidates follow one another in code order. A final -1 ends the last edge
      run (only that: -1 is also the header of polygon 0, outside, not last).
    - A boundary cell's table value becomes ``-(j + 2)``, ``j`` its first header.

    A point in a boundary cell thus reads its table value, the stream from there
    and the coordinates: no list of starts between (at city scale, a million
    points 30% faster than through one, and 60 MB less).
    """
    useless = (entries[:, 2] == entries[:, 3]) & (entries[:, 1] == kernels.CENTRE_OUTSIDE)
    keep = ~useless
    slot = np.repeat(np.arange(len(bstart) - 1), np.diff(bstart))[keep]
    entries = entries[keep]
    if len(entries) and entries[:, 0].max() >= 2**28:
        raise ValueError("more than 2**28 polygons in one layer")
    length = (entries[:, 3] - entries[:, 2]).astype(np.int64)
    header = np.arange(len(entries), dtype=np.int64) + np.cumsum(length) - length
    if len(entries) + length.sum() + 2 > np.iinfo(np.int32).max:
        raise ValueError("more than 2**31 (cell, edge) pairs in one layer")
    if len(edges) and edges.max() > np.iinfo(np.int32).max:  # would read as a header
        raise ValueError("more than 2**31 coordinates in one layer")
    stream = np.empty(len(entries) + length.sum() + 1, dtype=np.int32)
    last = (np.diff(slot, append=-1) != 0).astype(np.int64)  # slots are in order
    stream[header] = -((entries[:, 0].astype(np.int64) << 3) | (last << 2) | entries[:, 1]) - 1
    edge = np.ones(len(stream), dtype=bool)
    edge[header] = False
    edge[-1] = False
    stream[edge] = edges[np.repeat(entries[:, 2] - header - 1, length) + np.flatnonzero(edge)]
    stream[-1] = -1
    first = np.full(len(bstart) - 1, -1, dtype=np.int64)  # per slot; -1: no candidate kept
    opens = np.flatnonzero(np.diff(slot, prepend=-1))  # each slot's first kept candidate
    first[slot[opens]] = -header[opens] - 2
    boundary = table < -1  # the table is changed in place
    table[boundary] = first[-table[boundary].astype(np.int64) - 2]
    return table, stream


def _blocked(table, nx, ny):
    """The cell table in blocks of 4 x 4 cells: one value for a block whose cells share it.

    The block values come first (see ``geogrid.engine.kernels._value``), then
    the 16 cells of each block that holds more than one value. At city scale
    (200,000 micro grids, 28M cells) two blocks in three hold more than one,
    and the table shrinks from 107 to 75 MB: less for every worker to hold, for
    one more read, of a small array, by points in those blocks.
    """
    (across, up), b = blocks(nx, ny), BLOCK
    padded = np.full((up * b, across * b), -1, dtype=np.int32)
    padded[:ny, :nx] = table.reshape(ny, nx)
    cells = padded.reshape(up, b, across, b).transpose(0, 2, 1, 3).reshape(-1, b * b)
    del padded  # a copy: at city scale the build holds 107 MB less
    mixed = np.flatnonzero((cells != cells[:, :1]).any(axis=1) | (cells[:, 0] < -1))
    head = cells[:, 0].copy()
    head[mixed] = -np.arange(2, len(mixed) + 2)
    return np.concatenate([head, cells[mixed].ravel()])


class CellEngine:
    """Cell-table point-in-polygon engine over polygons sorted by code.

    See the module docstring for the method. An :class:`~geogrid.engine.reference.Engine`:
    the owner of a point is the lowest index among the polygons covering it.

    Parameters
    ----------
    geometries : sequence of Polygon or MultiPolygon
        The polygons, sorted by code.
    cell_m : float, optional
        Cell size in metres; by default about 1,600 cells per polygon, 2 m at the
        finest (cells grow if there would be more than 40M).
    near_deg : float, default 1e-9
        Points nearer than this (degrees) to an edge they are tested against are
        decided by GEOS.

    Attributes
    ----------
    grid : CellGrid
        Layout of the cell table (absent, like ``cell_m``, if there are no polygons).
    cell_m : float
        The cell size asked for or chosen, in metres (before any growing).
    """

    def __init__(self, geometries, cell_m: float | None = None, near_deg: float = 1e-9) -> None:
        self._geometries = np.asarray(geometries, dtype=object)
        self.near = float(near_deg)
        self.size = len(self.geometries)
        if self.size == 0:
            return
        self.coords, self.ring_offsets, self.poly_rings, self._parts = _flatten(self.geometries)
        total = shapely.total_bounds(self.geometries)
        self.cell_m, dx, dy = _cell_size(total, self.size, cell_m)
        self.grid = _layout(total, dx, dy, self.near)
        self._build_tables()

    @property
    def geometries(self) -> np.ndarray:
        """The polygons, in owner order (a loaded engine rebuilds them on first use)."""
        if self._geometries is None:
            part_offsets, geom_offsets = self._parts
            self._geometries = shapely.from_ragged_array(
                shapely.GeometryType.MULTIPOLYGON,
                np.asarray(self.coords),
                (np.asarray(self.ring_offsets), np.asarray(part_offsets), np.asarray(geom_offsets)),
            )
        return self._geometries

    def holds(self, geometries) -> bool:
        """Whether this engine was built over exactly these polygons' coordinates and rings."""
        geometries = np.asarray(geometries, dtype=object)
        if len(geometries) != self.size:
            return False
        if self.size == 0:
            return True
        coords, rings, polys, parts = _flatten(geometries)
        return (
            np.array_equal(coords, self.coords)
            and np.array_equal(rings, self.ring_offsets)
            and np.array_equal(polys, self.poly_rings)
            and np.array_equal(parts[0], self._parts[0])
            and np.array_equal(parts[1], self._parts[1])
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """What :meth:`from_arrays` needs to rebuild this engine, as named arrays."""
        if not self.size:
            return {}
        out = dict(zip(_TABLES, self._arrays[: len(_TABLES)], strict=True))
        out.update(coords=self.coords, ring_offsets=self.ring_offsets, poly_rings=self.poly_rings)
        out.update(part_offsets=self._parts[0], geom_offsets=self._parts[1])
        return out

    def layout(self) -> dict:
        """The scalars beside :meth:`arrays`: size, cell size, tolerance and the cell grid."""
        grid = self.grid._asdict() if self.size else None
        return {
            "size": self.size,
            "near": self.near,
            "cell_m": getattr(self, "cell_m", None),
            "grid": grid,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], layout: dict) -> CellEngine:
        """An engine over ``arrays`` (memory maps serve): nothing is computed again."""
        engine = cls.__new__(cls)
        engine._geometries = None
        engine.near = float(layout["near"])
        engine.size = int(layout["size"])
        if engine.size == 0:
            engine._geometries = np.empty(0, dtype=object)
            return engine
        engine.cell_m = layout["cell_m"]
        engine.grid = CellGrid(**layout["grid"])
        engine.coords = arrays["coords"]
        engine.ring_offsets = arrays["ring_offsets"]
        engine.poly_rings = arrays["poly_rings"]
        engine._parts = (arrays["part_offsets"], arrays["geom_offsets"])
        tables = tuple(arrays[k] for k in _TABLES)
        engine.table, engine.stream = tables
        engine._arrays = (*tables, engine.coords, engine.ring_offsets, engine.poly_rings)
        return engine

    def _build_tables(self) -> None:
        polygons = (self.coords, self.ring_offsets, self.poly_rings)
        bounds = shapely.bounds(self.geometries)
        table, stream = _compact(*build.build_tables(*polygons, bounds, self.grid))
        tables = _blocked(table, self.grid.nx, self.grid.ny), stream
        self.table, self.stream = tables
        self._arrays = (*tables, *polygons)  # what the queries take, before the grid

    @property
    def nbytes(self) -> int:
        """Memory held by the cell table, the boundary lists and the flattened polygons."""
        if self.size == 0:
            return 0
        return sum(a.nbytes for a in self._arrays)

    def owner(self, x: float, y: float) -> tuple[int, bool]:
        """Owner of one point: the fast path for single points.

        Parameters
        ----------
        x, y : float
            The point (longitude, latitude).

        Returns
        -------
        owner : int
            Index of the owning polygon, or ``NO_OWNER``.
        on_edge : bool
            True if the point lies on the owner's boundary.
        """
        if self.size == 0:
            return NO_OWNER, False
        found, unsure, vertex = kernels.query_one(float(x), float(y), *self._arrays, *self.grid)
        if unsure:
            owner, on_edge = settle(self, np.array([x], dtype=float), np.array([y], dtype=float))
            return int(owner[0]), bool(on_edge[0])
        return int(found), bool(vertex)

    def owners(self, x, y, points=None) -> tuple[np.ndarray, np.ndarray]:
        """Owners of arrays of points.

        Parameters
        ----------
        x, y : array_like of float
            The points (longitude, latitude).
        points : ndarray of Point, optional
            Taken for the :class:`~geogrid.engine.reference.Engine` protocol; the
            few points GEOS decides here are made from ``x`` and ``y``.

        Returns
        -------
        owner : ndarray of int
            Index of the owning polygon per point, ``NO_OWNER`` for none.
        on_edge : ndarray of bool
            True where the point lies on its owner's boundary.
        """
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if len(x) == 0 or self.size == 0:
            return np.full(len(x), NO_OWNER, dtype=np.int64), np.zeros(len(x), dtype=bool)
        order = spatial_order(x, y, self.grid)
        if order is None:
            owner, unsure, on_edge = kernels.query(x, y, *self._arrays, self.grid)  # owner: int32
        else:  # the table read block by block (geogrid.engine.order)
            found = kernels.query(take(x, order), take(y, order), *self._arrays, self.grid)
            owner, unsure, on_edge = put(*found, order)
        near = np.flatnonzero(unsure)
        if len(near):  # within 0.1 mm of an edge: GEOS decides among the cell's candidates
            owner[near], on_edge[near] = settle(self, x[near], y[near])
        return owner, on_edge

    def sweep(self, x, y, rows, method, row0: int, scratch) -> None:
        """Give the points whose ``method`` is OUTSIDE that this engine covers, in place.

        ``rows[k]`` becomes ``row0`` plus the owner and ``method[k]`` INSIDE or EDGE
        (see :mod:`geogrid.engine.sweep`); ``scratch`` is an int32 array as long.
        """
        if self.size == 0 or len(x) == 0:
            return
        if sweep(x, y, rows, method, row0, scratch, *self._arrays, self.grid):
            at = np.flatnonzero((scratch == UNSURE) & (method == OUTSIDE))
            owner, on_edge = settle(self, x[at], y[at])
            hit = owner != NO_OWNER
            rows[at[hit]] = row0 + owner[hit]
            method[at[hit]] = np.where(on_edge[hit], EDGE, INSIDE)
