"""Assignment throughput on the demo district, side by side with geopandas.sjoin.

One process, one run, the same random points for every contender; each timed
``repeat`` times and reported by its median. Not a test: it prints figures.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import shapely

from geogrid.assign import GridIndex
from geogrid.registry import read_grids

__all__ = ["run"]


def _median_seconds(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _sjoin_finest(points, layers):
    """The same answer with geopandas: sjoin(within) on grids, then on micro grids."""
    import geopandas as gpd

    out = np.full(len(points), "", dtype="U17")
    for frame in layers:
        joined = gpd.sjoin(points, frame, predicate="within", how="inner")
        out[joined.index.to_numpy()] = joined["code"].to_numpy()
    return out


def run(n_points: int = 200_000, repeat: int = 3, seed: int = 7) -> dict:
    """Time geogrid against geopandas.sjoin on ``n_points`` random demo points."""
    import geopandas as gpd

    import geodata

    grids = read_grids(geodata.GRIDS)
    start = time.perf_counter()
    index = GridIndex(grids, generation=1)
    build = time.perf_counter() - start
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = shapely.total_bounds([g.geometry for g in grids])
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
    t_ours, found = _median_seconds(lambda: index.assign(x, y), repeat)
    t_micro, _ = _median_seconds(
        lambda: gpd.sjoin(points, layers[1], predicate="within", how="inner"), repeat
    )
    t_both, expected = _median_seconds(lambda: _sjoin_finest(points, layers), repeat)
    single = []
    for i in range(min(2000, n_points)):
        start = time.perf_counter_ns()
        index.locate(x[i], y[i])
        single.append((time.perf_counter_ns() - start) / 1000)
    ours = np.where(found.micro != "", found.micro, found.grid)
    covered = expected != ""
    report = {
        "points": n_points,
        "grids": len(grids),
        "repeat": repeat,
        "index_build_s": round(build, 3),
        "geogrid_points_per_s": round(n_points / t_ours),
        "sjoin_micro_only_points_per_s": round(n_points / t_micro),
        "sjoin_grid_and_micro_points_per_s": round(n_points / t_both),
        "ratio_vs_sjoin": round(t_both / t_ours, 2),
        "ratio_vs_sjoin_micro_only": round(t_micro / t_ours, 2),
        "single_point_p50_us": round(float(np.percentile(single, 50)), 1),
        "single_point_p99_us": round(float(np.percentile(single, 99)), 1),
        "agree": int((ours[covered] == expected[covered]).sum()),
        "disagree": int((ours[covered] != expected[covered]).sum()),
        "outside_every_grid": int((~covered).sum()),
    }
    report["text"] = _text(report)
    return report


def _text(r: dict) -> str:
    return "\n".join(
        [
            f"demo district: {r['grids']:,} grids; {r['points']:,} random points; "
            f"median of {r['repeat']} runs",
            f"  index build                      {r['index_build_s']:>10.3f} s",
            f"  geogrid assign (full rule)       {r['geogrid_points_per_s']:>10,} points/s",
            f"  geopandas.sjoin grid+micro       {r['sjoin_grid_and_micro_points_per_s']:>10,} "
            f"points/s   geogrid ratio {r['ratio_vs_sjoin']:.2f}x",
            f"  geopandas.sjoin micro only       {r['sjoin_micro_only_points_per_s']:>10,} "
            f"points/s   geogrid ratio {r['ratio_vs_sjoin_micro_only']:.2f}x",
            f"  single point locate              p50 {r['single_point_p50_us']} us, "
            f"p99 {r['single_point_p99_us']} us",
            f"  agreement with sjoin             {r['agree']:,} agree, {r['disagree']:,} disagree, "
            f"{r['outside_every_grid']:,} outside every grid",
        ]
    )
