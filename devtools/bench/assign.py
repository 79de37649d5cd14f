"""The engine benchmark: geopandas.sjoin, shapely STRtree and geogrid's cell engine.

One process, one run, the same deterministic set (see :mod:`devtools.bench.dataset`):
points/s and the ratio to sjoin (median of ``repeat`` runs), index build time
and memory, single-point p50/p99, and agreement: every point not on a boundary
against sjoin(within), and every boundary point's single owner against the
lowest code among the grids that cover it. Not a test: it prints figures.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import shapely

from devtools.bench.dataset import benchmark_set
from devtools.bench.timing import paired_medians
from geogrid.engine.cells import CellEngine

__all__ = ["run"]


def _median(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(n_points: int = 1_020_000, repeat: int = 3) -> dict:
    """Measure the three on the benchmark set; figures as a dict (and ``text``)."""
    import geopandas as gpd

    grids, x, y = benchmark_set(n_points=n_points)
    order = np.arange(len(grids))  # already in code order: index i is code i
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
    frame = gpd.GeoDataFrame({"code": order}, geometry=grids, crs=4326)
    t_sjoin, joined = _median(
        lambda: gpd.sjoin(points, frame, predicate="within", how="inner"), repeat
    )
    tree = shapely.STRtree(grids)
    t_tree, _ = _median(lambda: tree.query(points.geometry.values, predicate="within"), repeat)
    CellEngine(grids[:50])  # compile (numba caches on disk) before timing the build
    start = time.perf_counter()
    engine = CellEngine(grids)
    build = time.perf_counter() - start
    t_engine, (owner, _) = _median(lambda: engine.owners(x, y), repeat)
    single = []
    for i in range(5000):
        start = time.perf_counter_ns()
        engine.owner(x[i], y[i])
        single.append((time.perf_counter_ns() - start) / 1000)
    return _report(locals())


def _report(v: dict) -> dict:
    n, owner, joined, tree = len(v["x"]), v["owner"], v["joined"], v["tree"]
    expected = np.full(n, -1)
    expected[joined.index.to_numpy()] = joined["code"].to_numpy()
    covering_idx, covering = tree.query(shapely.points(v["x"], v["y"]), predicate="intersects")
    lowest = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(lowest, covering_idx, covering)
    cover_count = np.bincount(covering_idx, minlength=n)
    boundary = cover_count > (expected >= 0)  # covered by more than sjoin(within) finds
    boundary |= (cover_count > 0) & (expected < 0)
    inner = ~boundary
    r = {
        "points": n,
        "grids": len(v["grids"]),
        "repeat": v["repeat"],
        "sjoin_points_per_s": round(n / v["t_sjoin"]),
        "strtree_points_per_s": round(n / v["t_tree"]),
        "engine_points_per_s": round(n / v["t_engine"]),
        "ratio_vs_sjoin": round(v["t_sjoin"] / v["t_engine"], 1),
        "strtree_ratio_vs_sjoin": round(v["t_sjoin"] / v["t_tree"], 2),
        "index_build_s": round(v["build"], 2),
        "index_memory_mb": round(v["engine"].nbytes / 1e6, 1),
        "single_point_p50_us": round(float(np.percentile(v["single"], 50)), 2),
        "single_point_p99_us": round(float(np.percentile(v["single"], 99)), 2),
        "non_boundary_points": int(inner.sum()),
        "non_boundary_disagreements": int((owner[inner] != expected[inner]).sum()),
        "boundary_points": int(boundary.sum()),
        "boundary_points_one_owner_lowest_code": int((owner[boundary] == lowest[boundary]).sum()),
        "outside_points": int((cover_count == 0).sum()),
    }
    r["text"] = "\n".join(
        [
            f"{r['points']:,} points, {r['grids']:,} micro grids (30-80 vertices); "
            f"median of {r['repeat']}",
            f"  geopandas.sjoin(within)  {r['sjoin_points_per_s']:>12,} points/s   1.0x",
            f"  shapely STRtree.query    {r['strtree_points_per_s']:>12,} points/s   "
            f"{r['strtree_ratio_vs_sjoin']}x",
            f"  geogrid cell engine      {r['engine_points_per_s']:>12,} points/s   "
            f"{r['ratio_vs_sjoin']}x",
            f"  index build {r['index_build_s']} s, memory {r['index_memory_mb']} MB; "
            f"single point p50 {r['single_point_p50_us']} us, p99 {r['single_point_p99_us']} us",
            f"  agreement: {r['non_boundary_disagreements']} disagreements on "
            f"{r['non_boundary_points']:,} non-boundary points; "
            f"{r['boundary_points_one_owner_lowest_code']:,} of {r['boundary_points']:,} "
            f"boundary points owned once, by the lowest code; {r['outside_points']:,} outside",
        ]
    )
    return r


def run_demo(n_points: int = 200_000, repeat: int = 3, seed: int = 7) -> dict:
    """The whole assignment rule on the demo district against geopandas.sjoin.

    Micro, else grid, nearest, dedicated; sjoin(within) on grids and micro grids
    gives the same answer.
    """
    import geopandas as gpd

    import geodata
    from geogrid.boundaries.grids import read_grids
    from geogrid.engine.assign import GridIndex

    grids = read_grids(geodata.GRIDS)
    start = time.perf_counter()
    index = GridIndex(grids, generation=1)
    build = time.perf_counter() - start
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = index.bounds
    x, y = rng.uniform(x0, x1, n_points), rng.uniform(y0, y1, n_points)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
    layers = [
        gpd.GeoDataFrame(
            {"code": [g.code for g in grids if g.level == lv]},
            geometry=[g.geometry for g in grids if g.level == lv],
            crs=4326,
        )
        for lv in ("grid", "micro")
    ]

    def sjoin_both():
        out = np.full(n_points, "", dtype="U17")
        for frame in layers:  # micro last: the finer level wins
            joined = gpd.sjoin(points, frame, predicate="within", how="inner")
            out[joined.index.to_numpy()] = joined["code"].to_numpy()
        return out

    (t_ours, t_sjoin), (found, expected) = paired_medians(
        [lambda: index.assign(x, y), sjoin_both], repeat
    )
    ours = np.where(found.micro != "", found.micro, found.grid)
    covered = expected != ""
    return {
        "points": n_points,
        "index_build_s": round(build, 2),
        "assign_points_per_s": round(n_points / t_ours),
        "sjoin_points_per_s": round(n_points / t_sjoin),
        "ratio_vs_sjoin": round(t_sjoin / t_ours, 1),
        "disagreements": int((ours[covered] != expected[covered]).sum()),
        "outside_every_grid": int((~covered).sum()),
    }
