"""Rule 3 of the assignment: the nearest three-level grid within the tolerance.

A point that no grid covers goes to the nearest tiling grid within
``tolerance_m`` metres (GPS error), ties to the lowest code; distances are
measured in metres, in the UTM zone of the grids.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from geogrid.coords import metric_transformer, to_metric
from geogrid.engine.cells import CellEngine
from geogrid.engine.reference import NO_OWNER

__all__ = ["NearestSearch"]

#: Cell size of the reach of the nearest search, in metres, and at most so many cells
#: (4 MB: a city of 7,000 km² gets 84 m cells; the demo district 20 m)
_REACH_CELL_M, _REACH_CELLS = 20.0, 1_000_000


class NearestSearch:
    """The nearest of some grids (in code order) within a tolerance, for points none covers.

    The reach (every point within the tolerance of a grid, and a metre more)
    is a cell engine of its own, so most points far outside cost one table
    read; those within reach get every grid within the tolerance from the
    tree, and the nearest of them (ties: the lowest code) by GEOS distances to
    their rings.

    Parameters
    ----------
    geometries : ndarray of Polygon or MultiPolygon
        The grids, sorted by code, in WGS-84.
    tolerance_m : float
        How far from a grid a point may be, in metres.

    Attributes
    ----------
    reach : CellEngine
        Owns (as polygon 0) every point within the tolerance of a grid.
    """

    def __init__(self, geometries, tolerance_m: float) -> None:
        self.tolerance_m = float(tolerance_m)
        self._to_metric = metric_transformer(geometries)
        metric = to_metric(geometries, self._to_metric)
        # a little wider than the tolerance, so rounding never cuts a point off
        reach = shapely.union_all(metric).buffer(self.tolerance_m + 1.0)
        mask = to_metric(reach, metric_transformer(geometries, inverse=True))
        x0, y0, x1, y1 = reach.bounds
        cell_m = max(_REACH_CELL_M, math.sqrt((x1 - x0) * (y1 - y0) / _REACH_CELLS))
        self.reach = CellEngine([mask], cell_m=cell_m)
        self._tree = shapely.STRtree(metric)
        self._outlines = shapely.boundary(metric)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the nearest grid within the tolerance per point (lon/lat), or NO_OWNER."""
        owner = np.full(len(x), NO_OWNER, dtype="int64")
        near = np.flatnonzero(self.reach.owners(x, y)[0] != NO_OWNER)
        if not len(near):
            return owner
        mx, my = self._to_metric.transform(x[near], y[near])
        points, r = shapely.points(mx, my), self.tolerance_m
        point_idx, geom_idx = self._tree.query(shapely.box(mx - r, my - r, mx + r, my + r))
        # no grid covers these points: the distance to a grid is the distance to its
        # rings, which GEOS computes without first testing whether the point is inside
        distance = shapely.distance(points[point_idx], self._outlines[geom_idx])
        within = distance <= r  # as the predicate "dwithin", with one distance per pair
        point_idx, geom_idx, distance = point_idx[within], geom_idx[within], distance[within]
        if len(point_idx):
            best = np.full(len(near), np.inf)
            np.minimum.at(best, point_idx, distance)
            tie = distance == best[point_idx]
            first = np.full(len(near), np.iinfo("int64").max, dtype="int64")
            np.minimum.at(first, point_idx[tie], geom_idx[tie])
            hit = first != np.iinfo("int64").max
            owner[near[hit]] = first[hit]
        return owner
