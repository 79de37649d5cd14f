"""``geogrid assign`` end to end against the geopandas script a user would write instead.

Both run as fresh processes on the same files (the demo district's 22,170 grids
as GeoJSON, points uniform over the district as CSV), so start-up, reading,
assignment and writing all count. The script is ten lines: read_file,
read_csv, two ``sjoin(within)`` (three-level grids, then micro grids), to_csv.
Figures are wall-clock medians of ``repeat`` runs and the peak resident memory
of each process (from ``wait4``). A last run streams ten million points
through ``geogrid assign`` to show its memory stays bounded. Not a test.
"""

from __future__ import annotations

import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["NAIVE_SCRIPT", "run_assign_files"]

NAIVE_SCRIPT = """\
import sys, geopandas as gpd, pandas as pd
grids = gpd.read_file(sys.argv[1])
events = pd.read_csv(sys.argv[2])
points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(events.lon, events.lat), crs=4326)
for level, length in (("grid", 15), ("micro", 17)):
    layer = grids[(grids.code.str.len() == length) & ~grids.code.str.contains("Z")]
    joined = gpd.sjoin(points, layer[["code", "geometry"]], predicate="within")
    events[level] = joined[~joined.index.duplicated()]["code"].reindex(events.index)
events.to_csv(sys.argv[3], index=False)
"""


def _run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:3]} failed: {process.stderr.read().decode()[-2000:]}")
    process.stderr.close()
    return seconds, usage.ru_maxrss / 1024


def _points_csv(path: Path, n: int, bounds, seed: int = 11) -> None:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    with pa_csv.CSVWriter(
        path, pa.schema([("id", pa.int64()), ("lon", pa.float64()), ("lat", pa.float64())])
    ) as out:
        for start in range(0, n, 1_000_000):
            size = min(1_000_000, n - start)
            out.write_table(
                pa.table(
                    {
                        "id": np.arange(start, start + size),
                        "lon": np.round(rng.uniform(x0, x1, size), 6),
                        "lat": np.round(rng.uniform(y0, y1, size), 6),
                    }
                )
            )


def run_assign_files(
    sizes=(200_000, 2_000_000), repeat: int = 3, streamed: int = 10_000_000
) -> dict:
    """Rows per size (ours, naive) and the streamed run's memory."""
    import shapely

    import geodata
    from geogrid.io import load_json

    geogrid = [sys.executable, "-m", "geogrid", "assign"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        grids = tmp / "grids.geojson"
        with gzip.open(geodata.GRIDS) as src, open(grids, "wb") as dst:
            shutil.copyfileobj(src, dst)
        geoms = shapely.from_geojson(
            [__import__("json").dumps(f["geometry"]) for f in load_json(grids)["features"]]
        )
        bounds = shapely.total_bounds(geoms)
        script = tmp / "naive.py"
        script.write_text(NAIVE_SCRIPT, encoding="utf-8")
        for n in sizes:
            events = tmp / f"points{n}.csv"
            _points_csv(events, n, bounds)
            ours = [
                _run(
                    [
                        *geogrid,
                        "--grids",
                        str(grids),
                        "--events",
                        str(events),
                        "--out",
                        str(tmp / "o.csv"),
                    ]
                )
                for _ in range(repeat)
            ]
            naive = [
                _run([sys.executable, str(script), str(grids), str(events), str(tmp / "n.csv")])
                for _ in range(repeat)
            ]
            ours_s = statistics.median(t for t, _ in ours)
            naive_s = statistics.median(t for t, _ in naive)
            rows.append(
                {
                    "points": n,
                    "geogrid_s": round(ours_s, 2),
                    "geogrid_peak_mb": round(max(m for _, m in ours)),
                    "geopandas_s": round(naive_s, 2),
                    "geopandas_peak_mb": round(max(m for _, m in naive)),
                    "geogrid_share_of_geopandas": round(ours_s / naive_s, 2),
                }
            )
            events.unlink()
        big = None
        if streamed:
            events = tmp / "points-big.csv"
            _points_csv(events, streamed, bounds)
            seconds, peak = _run(
                [
                    *geogrid,
                    "--grids",
                    str(grids),
                    "--events",
                    str(events),
                    "--out",
                    str(tmp / "b.csv"),
                ]
            )
            big = {
                "points": streamed,
                "geogrid_s": round(seconds, 1),
                "geogrid_peak_mb": round(peak),
            }
    return {"sizes": rows, "streamed": big}
