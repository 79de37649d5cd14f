"""Assignment of points to grids: the rule of DESIGN.md, over one generation.

The rule, for a WGS-84 point:

1. The finest regular grid that covers it (interior or boundary): a micro grid,
   else a three-level grid (else a community or street, where a data set stops
   there). Among several covering grids of one level — a point on a shared edge
   or vertex — the **lowest code** wins. Method ``inside``, or ``edge`` when
   the point lies on the owner's boundary.
2. The ancestors are taken from the owner's code, so the chain is consistent.
3. A point that no grid covers goes to the nearest three-level grid within
   ``tolerance_m`` metres (default 30, GPS error), ties again to the lowest
   code: method ``nearest``. Micro grids are not searched for it.
4. Otherwise the method is ``outside`` and only the district is set: the event
   is kept and routed to the district queue.

Dedicated grids are an overlay reported beside the chain (lowest code wins).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

import numpy as np
import shapely

from geogrid import codes
from geogrid.coords import to_wgs84
from geogrid.engine import DEFAULT_TOLERANCE_M
from geogrid.engine.cells import CellEngine
from geogrid.engine.chains import Chains, same_codes, text
from geogrid.engine.kernels import EDGE, INSIDE, OUTSIDE
from geogrid.engine.nearest import NearestSearch
from geogrid.engine.order import put, spatial_order, take
from geogrid.engine.reference import NO_OWNER, Engine
from geogrid.engine.sweep import FAR, VACANT, Vacancy
from geogrid.grid import Grid

__all__ = ["DEFAULT_TOLERANCE_M", "METHODS", "Assignment", "GridIndex"]

METHODS = ("inside", "edge", "nearest", "outside")
_COLUMNS = ("district", "street", "community", "grid", "micro", "dedicated", "method")
_PREFIX = {"district": 6, "street": 9, "community": 12, "grid": 15}

EngineFactory = Callable[[list], Engine]


class Assignment:
    """Assignments of many points: each column an array of str ('' = none), made on first use.

    The engine works on integer ids: each point's row of the index's chain table
    (its finest grid), its dedicated grid and its method. :meth:`ids` gives a
    column's ids with their ``words`` (``words[0]`` is ''): a chain column is one
    gather from the table, and a code column is made from it, by one gather of
    shared Python strings, only when it is read: strings only at the edge.
    """

    def __init__(
        self,
        finest: np.ndarray,
        chains: Chains,
        dedicated: np.ndarray,
        method: np.ndarray,
        generation: int | None,
    ) -> None:
        self._finest, self._chains, self.generation = finest, chains, generation
        self._ids = {"method": method}
        self._dedicated = dedicated
        self._columns: dict[str, np.ndarray] = {}

    def ids(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """(integer ids, the words they index) of ``column``; ``method`` has its own words."""
        if column == "dedicated" and column not in self._ids:
            self._ids[column] = self._chains.dedicated[self._dedicated]
        elif column not in self._ids:
            self._ids[column] = self._chains.table[_CHAIN.index(column)][self._finest]
        words = _METHOD_WORDS if column == "method" else self._chains.words
        return self._ids[column], words

    def _column(self, name: str) -> np.ndarray:
        if name not in self._columns:
            ids, words = self.ids(name)
            self._columns[name] = words[ids]
        return self._columns[name]

    district = property(lambda self: self._column("district"))
    street = property(lambda self: self._column("street"))
    community = property(lambda self: self._column("community"))
    grid = property(lambda self: self._column("grid"))
    micro = property(lambda self: self._column("micro"))
    dedicated = property(lambda self: self._column("dedicated"))
    method = property(lambda self: self._column("method"))

    def __len__(self) -> int:
        """The number of points assigned."""
        return len(self._ids["method"])

    def joined(self, sep: str = "|") -> np.ndarray:
        """Each point's codes and method (the columns in order) as one string joined by ``sep``.

        Points share a few combinations of a chain row, a dedicated grid and a
        method: each is joined once, and its points share that Python string.
        """
        combo = self._finest.astype(np.int64) * len(self._chains.dedicated) + self._dedicated
        combo = combo * len(_METHOD_WORDS) + self._ids["method"]
        _, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
        columns = [self.ids(c) for c in _COLUMNS]
        texts = np.empty(len(first), dtype=object)
        texts[:] = [sep.join(str(words[ids[i]]) for ids, words in columns) for i in first.tolist()]
        return texts[inverse]

    def counts(self, column: str) -> dict[str, int]:
        """How many points have each value of ``column`` (values that occur)."""
        ids, words = self.ids(column)
        found = np.bincount(ids, minlength=len(words))
        return {words[k]: int(found[k]) for k in np.flatnonzero(found)}

    def row(self, i: int) -> dict:
        """Point ``i`` as a dict; missing codes are None."""
        out = {}
        for c in _COLUMNS:
            ids, words = self.ids(c)
            out[c] = str(words[ids[i]]) or None
        out["generation"] = self.generation
        return out


class _Layer:
    """The grids of one level, sorted by code, with their engine."""

    def __init__(
        self, grids: list[Grid], engine_factory: EngineFactory, reuse: _Layer | None = None
    ) -> None:
        grids = sorted(grids, key=lambda g: g.code)
        self.codes = np.array([g.code for g in grids], dtype="U17")
        geometries = np.array([g.geometry for g in grids], dtype=object)
        if (
            reuse is not None
            and engine_factory is CellEngine
            and isinstance(reuse.engine, CellEngine)
            and same_codes(reuse.codes, self.codes)
            and reuse.engine.holds(geometries)
        ):
            self.engine = reuse.engine  # the same grids: the same tables
        else:
            self.engine = engine_factory(geometries)

    @property
    def geometries(self) -> np.ndarray:
        """The layer's polygons, in code order."""
        return self.engine.geometries

    @classmethod
    def loaded(cls, codes_: np.ndarray, engine: Engine) -> _Layer:
        """A layer of ``codes_`` over an engine already built (read from an index file).

        ``codes_`` may be the file's mapped ASCII (see :func:`geogrid.engine.chains.text`).
        """
        layer = cls.__new__(cls)
        layer.codes, layer.engine = codes_, engine
        return layer


_CHAIN = ("district", "street", "community", "grid", "micro")
_METHOD_WORDS = np.array(["inside", "edge", "nearest", "outside"], dtype=object)
_INSIDE, _EDGE, _NEAREST, _OUTSIDE = INSIDE, EDGE, 2, OUTSIDE  # ids of METHODS

_METRIC_LOCK = threading.Lock()
_OUTSIDE_ROW = 0  # the chain of a point no grid covers: the district, if there is one


class GridIndex:
    """In-memory index of one generation's grids, answering assignments.

    Parameters
    ----------
    grids : sequence of Grid
        The grids of one generation (any levels).
    generation : int, optional
        The generation id reported with every assignment.
    tolerance_m : float
        How far outside every grid a point may be and still go to the nearest.
    engine : callable
        Builds an :class:`~geogrid.engine.reference.Engine` from sorted geometries: the
        cell engine by default, :class:`~geogrid.engine.reference.STRtreeEngine` as reference.
    reuse : GridIndex, optional
        An index (of another generation) whose layers are taken as they are where
        they hold the same codes and polygons: a redraw rebuilds only the levels it changed.
    """

    def __init__(
        self,
        grids: Sequence[Grid],
        generation: int | None = None,
        tolerance_m: float = DEFAULT_TOLERANCE_M,
        engine: EngineFactory = CellEngine,
        reuse: GridIndex | None = None,
    ) -> None:
        if not (tolerance_m >= 0):
            raise ValueError(f"tolerance_m must be >= 0 metres, got {tolerance_m!r}")
        self.generation = generation
        self.tolerance_m = float(tolerance_m)
        by_level: dict[str, list[Grid]] = {}
        for grid in grids:
            by_level.setdefault(grid.level, []).append(grid)
        regular = [lv for lv in reversed(codes.REGULAR_LEVELS) if lv in by_level]
        before = dict(reuse.layers) if reuse is not None else {}
        self.layers = [(lv, _Layer(by_level[lv], engine, before.get(lv))) for lv in regular]
        self.dedicated = _Layer(
            by_level.get("dedicated", []), engine, reuse.dedicated if reuse is not None else None
        )
        self.districts = sorted({g.code[:6] for g in grids})
        self._scalar = all(hasattr(layer.engine, "owner") for _, layer in self.layers) and (
            hasattr(self.dedicated.engine, "owner")
        )
        tiling = [lv for lv in regular if lv != "micro"] or regular
        self._nearest_level = tiling[0] if tiling else None
        self._metric = None
        if reuse is not None and reuse.tolerance_m == self.tolerance_m:
            self._adopt(reuse)
        #: (min lon, min lat, max lon, max lat) of every grid
        self.bounds = (
            tuple(shapely.total_bounds([g.geometry for g in grids]))
            if grids
            else (0.0, 0.0, 0.0, 0.0)
        )

    def _adopt(self, reuse: GridIndex) -> None:
        """What ``reuse`` derived from the very layers this index took over, as it is.

        The chain table needs the same codes at every level; the vacancy table the
        same engines; the nearest search the same engine at its level. The search
        is read first: a vacancy table that knows its reach was made after it.
        """
        metric = reuse._metric
        levels = [lv for lv, _ in self.layers]
        if levels == [lv for lv, _ in reuse.layers] and self.districts == reuse.districts:
            layers = [(a, b) for (_, a), (_, b) in zip(self.layers, reuse.layers, strict=True)]
            layers.append((self.dedicated, reuse.dedicated))
            chains = reuse.__dict__.get("_chains")
            if chains is not None and all(same_codes(a.codes, b.codes) for a, b in layers):
                self.__dict__["_chains"] = chains
            if all(a.engine is b.engine for a, b in layers) and "_vacancy" in reuse.__dict__:
                self.__dict__["_vacancy"] = reuse.__dict__["_vacancy"]
        level = self._nearest_level
        if (
            metric is not None
            and level is not None
            and level == reuse._nearest_level
            and self._layer(level).engine is reuse._layer(level).engine
        ):
            self._metric = metric

    def assign(self, x, y, crs: str = "wgs84") -> Assignment:
        """Assign arrays of lon/lat (``crs`` converted to WGS-84 first)."""
        x, y = to_wgs84(np.atleast_1d(x), np.atleast_1d(y), crs)
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        chains = self._chains
        vacancy = self._vacancy  # the same all through, if the nearest search remakes it
        order = self._order(x, y)
        if order is not None:  # the tables read block by block (geogrid.engine.order)
            x, y = take(x, order), take(y, order)
        finest, method = self._layered(x, y, vacancy)
        todo = np.flatnonzero(method == _OUTSIDE)
        if len(todo) and self._searches_nearest:
            near = self._nearest(x[todo], y[todo])
            hit = near != NO_OWNER
            finest[todo[hit]] = chains.offsets[self._nearest_layer] + near[hit]
            method[todo[hit]] = _NEAREST
        if vacancy is not None:
            vacancy.restore(method, FAR)
        dedicated = self._overlay(x, y)
        if order is not None:
            finest, method, dedicated = put(finest, method, dedicated, order)
        return Assignment(finest, chains, dedicated, method, self.generation)

    def _order(self, x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """The points' order over the finest layer's table blocks (None: as they come)."""
        finest = self.layers[0][1].engine if self.layers else None
        if isinstance(finest, CellEngine) and finest.size:
            return spatial_order(x, y, finest.grid)
        return None

    def _overlay(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each point's dedicated grid: its row of ``chains.dedicated`` (0: none)."""
        rows = np.zeros(len(x), dtype=np.int32)
        engine = self.dedicated.engine
        if isinstance(engine, CellEngine):  # in place: rows[k] = 1 + owner
            covered = np.full(len(x), _OUTSIDE, dtype=np.int8)
            engine.sweep(x, y, rows, covered, 1, np.empty(len(x), dtype=np.int32))
        elif len(self.dedicated.codes):
            owner, _ = engine.owners(x, y)
            hit = owner != NO_OWNER
            rows[hit] = owner[hit] + 1
        return rows

    def _layered(
        self, x: np.ndarray, y: np.ndarray, vacancy: Vacancy | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chain-table rows and methods of points, one layer after the other, finest first.

        A point beyond the reach of the nearest search is left FAR, not OUTSIDE.
        """
        n = len(x)
        finest = np.full(n, _OUTSIDE_ROW, dtype=np.int32)  # a row of chains.table
        method = np.full(n, _OUTSIDE, dtype=np.int8)
        scratch = np.empty(n, dtype=np.int32)
        if vacancy is not None:
            vacancy.screen(x, y, method)
        for k, (_level, layer) in enumerate(self.layers):
            row0 = self._chains.offsets[k]
            if isinstance(layer.engine, CellEngine):  # in place, over every point
                layer.engine.sweep(x, y, finest, method, row0, scratch)
                continue
            todo = np.flatnonzero(method == _OUTSIDE)
            owner, on_edge = layer.engine.owners(x[todo], y[todo])
            hit = owner != NO_OWNER
            found = todo[hit]
            finest[found] = row0 + owner[hit]
            method[found] = np.where(on_edge[hit], _EDGE, _INSIDE)
        if vacancy is not None:
            vacancy.restore(method, VACANT)
        return finest, method

    @functools.cached_property
    def _vacancy(self) -> Vacancy | None:
        """Where no layer can own a point, if every layer is a cell engine."""
        engines = [layer.engine for _, layer in self.layers]
        if not engines or not all(isinstance(e, CellEngine) for e in engines):
            return None
        search = self._metric if self._searches_nearest else None  # not built for this
        return Vacancy(engines, search.reach if search else None, self._searches_nearest)

    @property
    def _searches_nearest(self) -> bool:
        return self.tolerance_m > 0 and self._nearest_level is not None

    @property
    def _nearest_layer(self) -> int:
        return [level for level, _ in self.layers].index(self._nearest_level)

    @functools.cached_property
    def _chains(self) -> Chains:
        return Chains(self)

    def locate(self, x: float, y: float, crs: str = "wgs84") -> dict:
        """Assign one point; a dict of codes (None where none), method and generation."""
        if crs in ("wgs84", "cgcs2000") and self._scalar:
            found = self._locate_fast(float(x), float(y))
            if found is not None:
                return found
        return self.assign([x], [y], crs).row(0)

    def _locate_fast(self, x: float, y: float) -> dict | None:
        """One point through the engines' scalar path; None if it lies outside every grid."""
        for _level, layer in self.layers:
            owner, on_edge = layer.engine.owner(x, y)
            if owner != NO_OWNER:
                code = text(layer.codes[owner])
                break
        else:
            return None
        dedicated = None
        if len(self.dedicated.codes):
            d, _ = self.dedicated.engine.owner(x, y)
            dedicated = text(self.dedicated.codes[d]) if d != NO_OWNER else None
        out = {name: code[:n] if len(code) >= n else None for name, n in _PREFIX.items()}
        out.update(
            micro=code if len(code) == 17 else None,
            dedicated=dedicated,
            method="edge" if on_edge else "inside",
            generation=self.generation,
        )
        return {k: out[k] for k in (*_COLUMNS, "generation")}

    def _layer(self, level: str) -> _Layer:
        return dict(self.layers)[level]

    def _nearest(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the nearest tiling grid within the tolerance per point, or NO_OWNER."""
        return self._nearest_search()(x, y)

    def _nearest_search(self) -> NearestSearch:
        """The nearest search over the tiling grids, built once per worker."""
        if self._metric is None:
            with _METRIC_LOCK:  # a worker's threads build it once
                if self._metric is None:
                    layer = self._layer(self._nearest_level)
                    self._metric = NearestSearch(layer.geometries, self.tolerance_m)
                    vacancy = self.__dict__.get("_vacancy")
                    if vacancy is not None:  # the vacancy table learns the reach
                        self.__dict__["_vacancy"] = vacancy.knowing(self._metric.reach)
        return self._metric
