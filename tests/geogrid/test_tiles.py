"""Reading MBTiles files: the TMS flip, formats, metadata, bounds and bad files."""

import os
import sqlite3

import pytest
import shapely
from tiles_inline import DISTRICT, make_mbtiles, tile_range

from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.tiles import (
    check_tile_address,
    count_tiles,
    coverage,
    mbtiles_path,
    open_tileset,
    read_tile,
    tms_row,
)


@pytest.fixture
def mbtiles(tmp_path):
    path = tmp_path / "district.mbtiles"
    return path, make_mbtiles(path)


def test_a_tile_is_read_by_its_xyz_row_from_the_tms_row_stored(mbtiles):
    path, written = mbtiles
    tileset = open_tileset(path)
    for (z, x, y), data in written.items():
        assert read_tile(tileset, z, x, y) == data
    columns, rows = tile_range(DISTRICT, 13)
    assert len(rows) > 1  # else the flip would go unseen
    stored_row = tms_row(13, rows[0])  # the northern row, as stored
    assert read_tile(tileset, 13, columns[0], stored_row) is None  # not an XYZ row here
    assert read_tile(tileset, 13, 0, 0) is None


def test_tms_row_counts_from_the_south():
    assert tms_row(0, 0) == 0
    assert tms_row(1, 0) == 1 and tms_row(1, 1) == 0
    assert tms_row(14, tms_row(14, 6505)) == 6505


def test_metadata_is_read(mbtiles):
    path, written = mbtiles
    tileset = open_tileset(path)
    assert (tileset.format, tileset.media_type) == ("png", "image/png")
    assert (tileset.minzoom, tileset.maxzoom) == (12, 14)
    assert tileset.bounds_wgs84 == DISTRICT and not tileset.bounds_from_tiles
    assert tileset.name == "测试底图" and tileset.attribution == "测试 <b>底图</b>"
    assert count_tiles(tileset) == len(written)


@pytest.mark.parametrize(
    ("fmt", "declared", "media_type"),
    [
        ("png", "png", "image/png"),
        ("jpg", "jpg", "image/jpeg"),
        ("jpg", "jpeg", "image/jpeg"),
        ("webp", "webp", "image/webp"),
        ("jpg", "JPG", "image/jpeg"),
        ("webp", None, "image/webp"),  # no format entry: the tiles' bytes tell
        ("png", None, "image/png"),
    ],
)
def test_format_gives_the_content_type(tmp_path, fmt, declared, media_type):
    path = tmp_path / "t.mbtiles"
    make_mbtiles(path, zooms=(12,), fmt=fmt, metadata={"format": declared})
    assert open_tileset(path).media_type == media_type


def test_without_metadata_bounds_and_zooms_come_from_the_tiles(tmp_path):
    path = tmp_path / "t.mbtiles"
    make_mbtiles(path, metadata={"bounds": None, "minzoom": None, "maxzoom": "x"})
    tileset = open_tileset(path)
    assert (tileset.minzoom, tileset.maxzoom) == (12, 14)
    assert tileset.bounds_from_tiles
    x0, y0, x1, y1 = tileset.bounds_wgs84
    # the whole tiles at zoom 12 around the district: a little larger than it
    assert x0 < DISTRICT[0] < DISTRICT[2] < x1 and y0 < DISTRICT[1] < DISTRICT[3] < y1
    assert x1 - x0 == pytest.approx(2 * 360 / 4096)  # two columns of 4,096
    assert y1 - y0 < 0.2


def test_the_file_is_read_again_when_it_changes(tmp_path):
    path = tmp_path / "t.mbtiles"
    make_mbtiles(path, zooms=(12,))
    first = open_tileset(path)
    assert open_tileset(path) is first  # kept, not read per request
    path.unlink()
    written = make_mbtiles(path, zooms=(12, 13), metadata={"attribution": "新"})
    os.utime(path, ns=(1, 1))  # a different identity even within the clock's resolution
    again = open_tileset(path)
    assert again.identity != first.identity and again.maxzoom == 13
    z, x, y = next(k for k in written if k[0] == 13)
    assert read_tile(again, z, x, y) == written[(z, x, y)]


def _sqlite(path, *statements):
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda p: p.write_bytes(b"GIF89a not a database" * 100),
            InvalidInputError,
            "not an SQLite",
        ),
        (
            lambda p: _sqlite(p, "CREATE TABLE metadata (name TEXT, value TEXT)"),
            InvalidInputError,
            "no 'tiles' table: not an MBTiles file",
        ),
        (
            lambda p: make_mbtiles(p, zooms=(12,), metadata={"format": "pbf"}),
            InvalidInputError,
            r"holds vector tiles \(format 'pbf'\); geogrid serves raster tiles",
        ),
        (
            lambda p: make_mbtiles(p, zooms=(12,), metadata={"format": "tiff"}),
            InvalidInputError,
            "format 'tiff' is not a raster format geogrid serves: png, jpg or webp",
        ),
        (lambda p: make_mbtiles(p, zooms=()), InvalidInputError, "has no tiles"),
        (lambda p: None, NotFoundError, "no such MBTiles file"),
        (
            lambda p: _sqlite(p, "CREATE TABLE tiles (z INTEGER, data BLOB)"),
            InvalidInputError,
            "not a readable MBTiles file: no such column: zoom_level",
        ),
    ],
    ids=["not-sqlite", "no-tiles-table", "vector", "tiff", "empty", "missing", "wrong-columns"],
)
def test_bad_files_are_refused_naming_the_problem(tmp_path, make, error, message):
    path = tmp_path / "bad.mbtiles"
    make(path)
    with pytest.raises(error, match=message):
        open_tileset(path)


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (("-1", "0", "0"), "z: expected an integer from 0 to 30, got '-1'"),
        (("31", "0", "0"), "z: expected an integer from 0 to 30, got '31'"),
        (("a", "0", "0"), "z: expected an integer from 0 to 30, got 'a'"),
        (("2", "4", "0"), "x: expected an integer from 0 to 3 at zoom 2, got '4'"),
        (("2", "0", "-1"), "y: expected an integer from 0 to 3 at zoom 2, got '-1'"),
        (("12", "0", "4096"), "y: expected an integer from 0 to 4095 at zoom 12, got '4096'"),
        (("1", "0", "1.0"), r"y: expected an integer from 0 to 1 at zoom 1, got '1\.0'"),
    ],
)
def test_bad_tile_addresses_name_the_field(address, message):
    with pytest.raises(InvalidInputError, match=message) as caught:
        check_tile_address(*address)
    assert caught.value.details[0]["field"] == message[0]


def test_good_tile_addresses():
    assert check_tile_address("0", "0", "0") == (0, 0, 0)
    assert check_tile_address("30", str(2**30 - 1), "0") == (30, 2**30 - 1, 0)


def test_mbtiles_path_reads_the_setting():
    assert mbtiles_path("mbtiles:/srv/d.mbtiles") == "/srv/d.mbtiles"
    assert mbtiles_path("osm") is None and mbtiles_path("mbtiles:") is None
    assert mbtiles_path(None) is None


def test_coverage_of_the_district():
    district = shapely.box(*DISTRICT)
    share, left = coverage(DISTRICT, district)
    assert share == 1.0 and left.is_empty
    share, left = coverage((113.55, 34.0, 114.0, 35.0), district)
    assert share == pytest.approx(0.5)
    assert shapely.equals_exact(
        shapely.normalize(left), shapely.normalize(shapely.box(113.50, 34.70, 113.55, 34.76)), 1e-9
    )
