"""City scale: 200,000 micro grids over ~7,000 km², built once, mapped by every worker.

The synthetic city is a jittered lattice: every lattice vertex is moved at
random, every edge gets the same wobbly intermediate points on both sides, so
the 200,000 polygons (24 vertices each) tile the city exactly, as real micro
grids do. Printed beside ``geopandas.sjoin(within)`` on the same points:

- the index build time and its size on disk;
- throughput on one million points (median of ``repeat``, ours and sjoin taking
  turns after one warm-up call each);
- the resident memory of one worker that maps the saved index and answers the
  million points (owners only: no codes) as requests of ``MAX_BATCH`` points, as
  the API takes them, and the PSS of four such workers at once (the host's
  cost), started on their own and forked from an arbiter that imported the
  engine, made numba's contexts and froze them, as ``geogrid serve`` forks its
  workers.

Not a test.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from devtools.bench.timing import memory_mb, paired_medians

__all__ = ["city_grids", "run_city"]

ORIGIN = (113.2, 34.4)
_M_PER_DEG = (111_320.0 * np.cos(np.radians(ORIGIN[1])), 110_574.0)

_IMPORTS = """
import json, os, sys, time
import numpy as np
from geogrid.engine.indexfile import load_index
"""
_BODY = """
start = time.perf_counter()
index = load_index(sys.argv[1])
loaded = time.perf_counter() - start
points = np.load(sys.argv[2], mmap_mode="r")
engine = index.layers[0][1].engine
step = int(sys.argv[4])
for first in range(0, points.shape[1], step):  # as requests, each let go once answered
    request = np.array(points[:, first : first + step])
    engine.owners(request[0], request[1])
del points
sys.stdout.write(json.dumps({"load_s": loaded, "pid": os.getpid()}) + "\\n")
sys.stdout.flush()
os.read(0, 1)  # held until the parent has read the memory (one byte each: no buffering)
"""
_WORKER = _IMPORTS + _BODY

# The way gunicorn runs them (web/wsgi.py): an arbiter imports the modules, makes
# numba's contexts (no kernel: no thread pool), freezes what it made, then forks;
# each worker maps the index and answers the points.
_ARBITER = (
    _IMPORTS
    + """
import gc
import geogrid.engine.assign, geogrid.engine.cells, geogrid.engine.kernels
geogrid.engine.kernels.before_fork()
gc.freeze()
children = []
for _ in range(int(sys.argv[3])):
    pid = os.fork()
    if pid == 0:
"""
    + "\n".join("        " + line for line in _BODY.strip().splitlines())
    + """
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""
)


def city_grids(n: int = 200_000, area_km2: float = 7_000.0, per_edge: int = 5, seed: int = 2026):
    """``n`` polygons tiling a square of ``area_km2`` (WGS-84 degrees), and their codes."""
    import shapely

    rng = np.random.default_rng(seed)
    side = round(np.sqrt(n))
    step = np.sqrt(area_km2 * 1e6) / side  # metres
    jitter = 0.25 * step
    ij = np.stack(np.meshgrid(np.arange(side + 1), np.arange(side + 1), indexing="ij"), -1)
    corners = ij * step + rng.uniform(-jitter, jitter, ij.shape)
    corners[0, :, 0] = corners[-1, :, 0] = 0  # a straight outline
    corners[:, 0, 1] = corners[:, -1, 1] = 0
    corners[-1, :, 0] = corners[:, -1, 1] = side * step

    def edge(a, b, key):
        """``per_edge`` points from a towards b, wobbling the same way for both sides."""
        t = np.linspace(0, 1, per_edge + 2)[1:-1]
        wobble = np.sin(key[..., None] * 12.9898 + t * 78.233) * 0.05 * step
        normal = np.stack([-(b - a)[..., 1], (b - a)[..., 0]], -1)
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        return (
            a[..., None, :]
            + t[:, None] * (b - a)[..., None, :]
            + wobble[..., None] * normal[..., None, :]
        )

    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    c00, c10 = corners[i, j], corners[i + 1, j]
    c11, c01 = corners[i + 1, j + 1], corners[i, j + 1]
    key_h = (i * (side + 1) + j).astype(float)  # bottom edge (i, j)-(i+1, j)
    key_h_top = (i * (side + 1) + j + 1).astype(float)
    key_v = (side * side + i * (side + 1) + j).astype(float)  # left edge (i, j)-(i, j+1)
    key_v_right = (side * side + (i + 1) * (side + 1) + j).astype(float)
    bottom = edge(c00, c10, key_h)
    right = edge(c10, c11, key_v_right)
    top = edge(c01, c11, key_h_top)[..., ::-1, :]
    left = edge(c00, c01, key_v)[..., ::-1, :]
    ring = np.concatenate(
        [
            c00[..., None, :],
            bottom,
            c10[..., None, :],
            right,
            c11[..., None, :],
            top,
            c01[..., None, :],
            left,
            c00[..., None, :],
        ],
        axis=-2,
    ).reshape(side * side, -1, 2)
    lonlat = ORIGIN + ring / _M_PER_DEG
    polygons = shapely.polygons(np.round(lonlat, 7))
    codes = [
        f"4101{1 + k // 40_000:02d}{1 + (k // 400) % 100:03d}{1 + (k // 20) % 20:03d}"
        f"{1 + (k // 20) % 20:03d}{1 + k % 20:02d}"
        for k in range(len(polygons))
    ]
    return polygons, codes, side * step


def run_city(n_grids: int = 200_000, n_points: int = 1_000_000, repeat: int = 3) -> dict:
    """The figures of the module doc, as a dict."""
    import shapely

    from geogrid.engine.assign import GridIndex
    from geogrid.engine.indexfile import save_index
    from geogrid.grid import Grid

    start = time.perf_counter()
    polygons, codes, side_m = city_grids(n_grids)
    made = time.perf_counter() - start
    grids = [Grid(c, c, p) for c, p in zip(codes, polygons, strict=True)]
    start = time.perf_counter()
    index = GridIndex(grids, generation=1)
    build = time.perf_counter() - start
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = shapely.total_bounds(polygons)
    x, y = rng.uniform(x0, x1, n_points), rng.uniform(y0, y1, n_points)
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_index(index, Path(tmp) / "city")
        size = sum(p.stat().st_size for p in folder.iterdir())
        del index, grids
        speed = _throughput(folder, codes, polygons, x, y, repeat)
        # This process has dropped its map of the index: a page it still held would be
        # shared with the workers below, and their PSS would leave its share out.
        gc.collect()
        if str(folder) in Path("/proc/self/maps").read_text():
            raise RuntimeError(f"the benchmark still maps {folder}: the workers' PSS would be low")
        np.save(Path(tmp) / "points.npy", np.stack([x, y]))
        memory = _workers(folder, Path(tmp) / "points.npy")
        memory.update(_forked(folder, Path(tmp) / "points.npy"))
    return {
        "grids": len(polygons),
        "area_km2": round(side_m**2 / 1e6),
        "generate_s": round(made, 1),
        "index_build_s": round(build, 1),
        "index_file_mb": round(size / 2**20),
        "points": n_points,
        **speed,
        **memory,
    }


def _throughput(folder: Path, codes, polygons, x, y, repeat: int) -> dict:
    """Points per second of the mapped index and of sjoin; the map is let go on return."""
    import geopandas as gpd

    from geogrid.engine.indexfile import load_index

    engine = load_index(folder).layers[0][1].engine

    def ours():
        return engine.owners(x, y)

    frame = gpd.GeoDataFrame({"code": codes}, geometry=polygons, crs=4326)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)

    def sjoin():
        return gpd.sjoin(points, frame, predicate="within", how="inner")

    (t_ours, t_sjoin), ((owner, _), joined) = paired_medians([ours, sjoin], repeat)
    agree = (owner[joined.index.to_numpy()] == joined["index_right"].to_numpy()).mean() > 0.9999
    return {
        "ours_points_per_s": round(len(x) / t_ours),
        "sjoin_points_per_s": round(len(x) / t_sjoin),
        "ratio_vs_sjoin": round(t_sjoin / t_ours, 1),
        "agree_with_sjoin": bool(agree),
    }


def _forked(folder: Path, points: Path, count: int = 4) -> dict:
    """PSS of one, and of ``count``, workers forked from an arbiter (see ``_ARBITER``)."""
    from geogrid.cases.intake import MAX_BATCH

    out = {}
    for n in (1, count):
        arbiter = subprocess.Popen(
            [sys.executable, "-c", _ARBITER, str(folder), str(points), str(n), str(MAX_BATCH)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            lines = [json.loads(arbiter.stdout.readline()) for _ in range(n)]
            pss = [memory_mb(line["pid"]) for line in lines]
            out[f"forked_{n}_pss_mb"] = round(sum(pss) + memory_mb(arbiter.pid))
        finally:
            arbiter.stdin.write("\n" * n)
            arbiter.stdin.flush()
            arbiter.wait(timeout=60)
    return out


def _workers(folder: Path, points: Path, count: int = 4) -> dict:
    """RSS of one worker, and the PSS of ``count`` at once, each having answered the points."""
    from geogrid.cases.intake import MAX_BATCH

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(folder), str(points), "1", str(MAX_BATCH)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        loads = [json.loads(p.stdout.readline())["load_s"] for p in procs]
        rss = [memory_mb(p.pid, "Rss") for p in procs]
        pss = [memory_mb(p.pid) for p in procs]
    finally:
        for p in procs:
            p.stdin.write("\n")
            p.stdin.flush()
            p.wait(timeout=60)
    return {
        "worker_index_load_s": round(statistics.median(loads), 3),
        "worker_rss_mb": round(statistics.median(rss)),
        "workers": count,
        "host_pss_mb": round(sum(pss)),
    }
