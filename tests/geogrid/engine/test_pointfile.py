"""Assigning point files: CSV, Parquet, GeoParquet, GeoPackage, streamed in small batches."""

import csv

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from geogrid.boundaries.grids import read_grids
from geogrid.engine.assign import GridIndex
from geogrid.engine.pointfile import assign_file
from geogrid.errors import InvalidInputError

GOOD = [
    ("e1", 113.507, 34.707, "41010200100100101"),  # micro
    ("e2", 113.59, 34.75, ""),  # a grid without micro grids
    ("e3", 113.40, 34.75, ""),  # outside
]


@pytest.fixture
def index(small_fc):
    return GridIndex(read_grids(small_fc))


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_lines_stay_right_across_batches_skipped_rows_and_quoted_newlines(index, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(
        "id,lon,lat,note\n"  # line 1
        "a,113.507,34.707,ok\n"  # 2
        'b,113.59,34.75,"two\nlines"\n'  # 3 (one record)
        "c,113.59,34.75\n"  # 4: a field short
        "d,abc,34.75,x\n"  # 5
        "e,113.59,34.75,x,extra\n"  # 6: a field too many
        ",113.59,34.75,x\n"  # 7
        "g, 113.59 ,34.75,spaces\n"  # 8: fine
        "h,34.75,113.59,swapped\n"  # 9
        "i,113.507,34.707,last\n"  # 10
        "j,1,2\n",  # 11: short, after the last good row
        encoding="utf-8",
    )
    for batch_rows in (1, 2, 3, 1000):
        out = tmp_path / f"o{batch_rows}.csv"
        seen = []
        result = assign_file(index, path, out, batch_rows=batch_rows, progress=seen.append)
        assert sum(seen) == 10  # every record once, though the parallel pass started over
        assert [r["id"] for r in _read_csv(out)] == ["a", "b", "g", "i"]
        assert [(e["line"], e["id"]) for e in result.errors] == [
            (4, "c"),
            (5, "d"),
            (6, "e"),
            (7, ""),
            (9, "h"),
            (11, "j"),
        ], batch_rows
        assert _read_csv(out)[1]["note"] == "two\nlines"
        assert "expected 4 fields as in the header, got 3" in result.errors[0]["error"]
        assert result.errors[1]["error"] == "lon 'abc' is not a number"
        assert [e["line"] for e in _read_csv(result.errors_out)] == ["4", "5", "6", "7", "9", "11"]


def test_parquet_in_and_out_keeps_every_column(index, tmp_path):
    frame = pd.DataFrame(
        {
            "id": [g[0] for g in GOOD] + ["bad"],
            "lon": [g[1] for g in GOOD] + [np.nan],
            "lat": [g[2] for g in GOOD] + [34.7],
            "n": [1, 2, 3, 4],
            "grid": ["stale", "stale", "stale", "stale"],  # replaced by the codes
        }
    )
    frame.to_parquet(tmp_path / "e.parquet")
    result = assign_file(index, tmp_path / "e.parquet", tmp_path / "o.parquet", batch_rows=2)
    out = pd.read_parquet(tmp_path / "o.parquet")
    assert out["id"].tolist() == ["e1", "e2", "e3"] and out["n"].tolist() == [1, 2, 3]
    assert out["micro"].tolist()[0] == GOOD[0][3] and out["micro"].isna().tolist()[1:] == [
        True,
        True,
    ]
    assert out["method"].tolist() == ["inside", "inside", "outside"]
    assert "stale" not in out["grid"].tolist()
    assert result.errors == [{"row": 4, "id": "bad", "error": result.errors[0]["error"]}]
    assert "finite" in result.errors[0]["error"]


def test_geoparquet_round_trip_and_csv_to_geopackage(index, tmp_path):
    points = gpd.GeoDataFrame(
        {"id": [g[0] for g in GOOD], "kind": ["x", "y", "z"]},
        geometry=gpd.points_from_xy([g[1] for g in GOOD], [g[2] for g in GOOD]),
        crs="EPSG:4326",
    )
    points.to_parquet(tmp_path / "e.parquet")
    assign_file(index, tmp_path / "e.parquet", tmp_path / "o.parquet")
    back = gpd.read_parquet(tmp_path / "o.parquet")  # GeoParquet: geopandas reads the geometry
    assert back.geometry.equals(points.geometry) and back["micro"].iloc[0] == GOOD[0][3]

    points.to_file(tmp_path / "e.gpkg")
    result = assign_file(index, tmp_path / "e.gpkg", tmp_path / "o.gpkg", batch_rows=2)
    read = gpd.read_file(tmp_path / "o.gpkg")
    assert result.assigned == 3 and read["method"].tolist() == ["inside", "inside", "outside"]
    assert shapely.equals(read.geometry.values, points.geometry.values).all()

    csv_in = tmp_path / "e.csv"
    csv_in.write_text("id,lon,lat\n" + "".join(f"{i},{x},{y}\n" for i, x, y, _ in GOOD))
    assign_file(index, csv_in, tmp_path / "c.gpkg")
    made = gpd.read_file(tmp_path / "c.gpkg")
    assert made.crs.to_epsg() == 4326 and made.geometry.x.round(3).tolist() == [
        113.507,
        113.59,
        113.4,
    ]
    assign_file(index, tmp_path / "e.gpkg", tmp_path / "g.csv")  # points written as lon, lat
    assert _read_csv(tmp_path / "g.csv")[0]["lon"] == "113.507"


def test_non_points_are_bad_rows_and_unknown_suffixes_are_refused(index, tmp_path):
    shapes = gpd.GeoDataFrame(
        {"id": ["p", "l"]},
        geometry=[
            shapely.Point(113.507, 34.707),
            shapely.LineString([(113.5, 34.7), (113.6, 34.8)]),
        ],
        crs="EPSG:4326",
    )
    shapes.to_parquet(tmp_path / "s.parquet")
    result = assign_file(index, tmp_path / "s.parquet", tmp_path / "o.csv")
    assert result.errors == [
        {"row": 2, "id": "l", "error": "geometry: expected a Point, got LineString"}
    ]
    with pytest.raises(InvalidInputError, match=r"output file must be one of .csv"):
        assign_file(index, tmp_path / "s.parquet", tmp_path / "o.xlsx")
    pq.write_table(pa.table({"id": ["1"], "x": [1.0]}), tmp_path / "nolon.parquet")
    with pytest.raises(InvalidInputError, match="no 'lon' column and no GeoParquet geometry"):
        assign_file(index, tmp_path / "nolon.parquet", tmp_path / "o.csv")


def test_points_made_for_a_geo_output_are_in_every_batch_and_in_wgs84(index, tmp_path):
    from geogrid.coords import from_wgs84

    x, y = from_wgs84(
        np.array([g[1] for g in GOOD] * 3), np.array([g[2] for g in GOOD] * 3), "gcj02"
    )
    rows = "".join(f"e{i},{a:.8f},{b:.8f}\n" for i, (a, b) in enumerate(zip(x, y, strict=True)))
    (tmp_path / "e.csv").write_text("id,lon,lat\n" + rows, encoding="utf-8")
    for suffix in (".geoparquet", ".gpkg"):
        out = tmp_path / f"o{suffix}"
        assign_file(index, tmp_path / "e.csv", out, crs="gcj02", batch_rows=2)
        read = gpd.read_parquet(out) if suffix == ".geoparquet" else gpd.read_file(out)
        assert len(read) == 9 and read.geometry.notna().all(), suffix
        assert read.geometry.x.round(6).tolist() == [g[1] for g in GOOD] * 3, suffix
        assert read["micro"].tolist()[0] == GOOD[0][3]
