"""Point-in-polygon engines behind the assignment rule.

An engine is built over a list of polygons that the caller has sorted by code,
and answers, for arrays of points, the *owner*: the lowest index among the
polygons that cover the point (interior or boundary), and whether the point
lies on the owner's boundary. Taking the lowest index is the tie rule for
points on shared edges and vertices: the lowest code wins.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["NO_OWNER", "Engine", "STRtreeEngine"]

#: The owner index of a point that no polygon covers.
NO_OWNER = -1


class Engine(Protocol):
    """What the assignment needs from a point-in-polygon engine."""

    def owners(
        self, x: np.ndarray, y: np.ndarray, points: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The owner of each point (lowest code on shared edges) and whether it is on an edge."""
        """Owner index per point (``NO_OWNER`` if none) and an on-boundary flag.

        ``points``, if given, are the same points as shapely Points, made once
        by the caller for engines that use them.
        """
        ...


class STRtreeEngine:
    """Reference engine: shapely's STRtree, exact GEOS predicates."""

    def __init__(self, geometries: list[BaseGeometry] | np.ndarray) -> None:
        self.geometries = np.asarray(geometries, dtype=object)
        shapely.prepare(self.geometries)
        self.tree = shapely.STRtree(self.geometries)

    def owners(
        self, x: np.ndarray, y: np.ndarray, points: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The owner of each point (the lowest index covering it) and whether it is on an edge."""
        owner = np.full(len(x), NO_OWNER, dtype="int64")
        on_edge = np.zeros(len(x), dtype=bool)
        if len(x) == 0 or len(self.geometries) == 0:
            return owner, on_edge
        if points is None:
            points = shapely.points(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))
        point_idx, geom_idx = self.tree.query(points, predicate="intersects")
        if len(point_idx) == 0:
            return owner, on_edge
        first = np.full(len(x), np.iinfo("int64").max, dtype="int64")
        np.minimum.at(first, point_idx, geom_idx)
        hit = first != np.iinfo("int64").max
        owner[hit] = first[hit]
        # the polygon first, so its prepared form answers
        on_edge[hit] = ~shapely.contains_properly(self.geometries[owner[hit]], points[hit])
        return owner, on_edge
