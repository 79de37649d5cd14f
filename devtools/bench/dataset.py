"""The engine benchmark set: 20,000 micro grids of 30-80 vertices and 1,020,000 points.

Deterministic from its seed. Grids are unions of ~30 fine Voronoi cells each, so
neighbours share their edges exactly and boundaries have 30-80 vertices. Of the
points, 1 % lie exactly on shared vertices, 1 % outside every grid, the rest
anywhere in the tiled square.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["benchmark_set"]

ORIGIN = (113.55, 34.72)
_M_PER_DEG = (111_320.0 * np.cos(np.radians(ORIGIN[1])), 110_574.0)


def _grids(rng: np.random.Generator, n: int, fine_per_grid: int):
    side = np.sqrt(n) * 80.0  # metres: grids of ~80 m
    fine = rng.uniform(0, side, (n * fine_per_grid, 2))
    seeds = rng.uniform(0, side, (n, 2))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(fine), extend_to=shapely.box(0, 0, side, side), ordered=True
        )
    )
    cells = shapely.intersection(cells, shapely.box(0, 0, side, side))
    _, nearest = shapely.STRtree(shapely.points(seeds)).query_nearest(
        shapely.points(fine), all_matches=False
    )
    order = np.argsort(nearest, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(nearest[order])) + 1)
    polygons = []
    for group in groups:
        merged = shapely.union_all(cells[group])
        if merged.geom_type != "Polygon":
            merged = max(shapely.get_parts(merged), key=lambda p: p.area)
        polygons.append(merged)
    scale = np.array([1 / _M_PER_DEG[0], 1 / _M_PER_DEG[1]])
    lonlat = shapely.transform(
        np.array(polygons, dtype=object), lambda xy: np.round(ORIGIN + xy * scale, 7)
    )
    return lonlat, side * scale


def benchmark_set(n_grids: int = 20_000, n_points: int = 1_020_000, seed: int = 2026):
    """(grid geometries, x, y) of the benchmark, WGS-84 degrees."""
    rng = np.random.default_rng(seed)
    grids, extent = _grids(rng, n_grids + n_grids // 50, 30)
    grids = grids[shapely.is_valid(grids)][:n_grids]
    n_edge = n_out = n_points // 100
    n_in = n_points - n_edge - n_out
    x = ORIGIN[0] + rng.uniform(0, extent[0], n_in)
    y = ORIGIN[1] + rng.uniform(0, extent[1], n_in)
    vertices = np.unique(shapely.get_coordinates(grids), axis=0)
    shared = vertices[rng.choice(len(vertices), n_edge, replace=False)]
    angle = rng.uniform(0, 2 * np.pi, n_out)
    radius = np.max(extent) * rng.uniform(0.75, 1.0, n_out)
    ox = ORIGIN[0] + extent[0] / 2 + radius * np.cos(angle)
    oy = ORIGIN[1] + extent[1] / 2 + radius * np.sin(angle)
    order = rng.permutation(n_points)
    return (
        grids,
        np.concatenate([x, shared[:, 0], ox])[order],
        np.concatenate([y, shared[:, 1], oy])[order],
    )
