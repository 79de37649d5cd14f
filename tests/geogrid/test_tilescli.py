"""``geogrid tiles check``: an MBTiles file against the district, driven through click's runner."""

import pytest
from click.testing import CliRunner
from tiles_inline import DISTRICT, make_mbtiles

from geogrid.cli import main


@pytest.fixture
def runner(store):
    return CliRunner(env={"GEOGRID_DATABASE_URL": store.url})


def test_check_reports_the_file_and_its_cover_of_the_district(runner, tmp_path):
    path = tmp_path / "district.mbtiles"
    written = make_mbtiles(path)
    result = runner.invoke(main, ["tiles", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"file: {path}",
        "name: 测试底图",
        "format: png (image/png)",
        "zoom: 12 to 14",
        "bounds: 113.500000,34.700000,113.600000,34.760000 (WGS-84, from metadata)",
        f"tiles: {len(written)}",
        "district 410102 示例区: covers 100 % of the district",
    ]
    assert result.stderr == ""


def test_check_warns_of_the_part_of_the_district_left_out(runner, tmp_path):
    path = tmp_path / "west.mbtiles"
    make_mbtiles(path, bounds=(113.40, 34.60, 113.55, 34.80), zooms=(12,))
    result = runner.invoke(main, ["tiles", "check", str(path)])
    assert result.exit_code == 0
    assert result.stderr == (
        "warning: district 410102 示例区: covers 50 % of the district; "
        "not covered: 113.550000,34.700000,113.600000,34.760000\n"
    )


def test_bounds_come_from_the_tiles_without_metadata(runner, tmp_path):
    path = tmp_path / "t.mbtiles"
    make_mbtiles(path, metadata={"bounds": None})
    result = runner.invoke(main, ["tiles", "check", str(path)])
    assert "(WGS-84, from the tiles at zoom 12)" in result.stdout
    assert "covers 100 % of the district" in result.stdout  # whole tiles: a little more


def test_check_without_a_store_does_not_compare(tmp_path):
    path = tmp_path / "t.mbtiles"
    make_mbtiles(path, bounds=DISTRICT, zooms=(12,))
    missing = tmp_path / "none.sqlite"
    runner = CliRunner(env={"GEOGRID_DATABASE_URL": f"sqlite:///{missing}"})
    result = runner.invoke(main, ["tiles", "check", str(path)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == (
        "district: no store with an active generation; not compared"
    )
    assert not missing.exists()  # not created by asking


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"\x89PNG not an mbtiles" * 64), "not an SQLite database"),
        (
            lambda p: make_mbtiles(p, zooms=(12,), metadata={"format": "pbf"}),
            "holds vector tiles (format 'pbf'); geogrid serves raster tiles: PNG, JPEG or WebP",
        ),
    ],
    ids=["not-sqlite", "vector"],
)
def test_check_refuses_a_bad_file_naming_the_problem(runner, tmp_path, make, message):
    path = tmp_path / "bad.mbtiles"
    make(path)
    result = runner.invoke(main, ["tiles", "check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: ")
    assert message in result.stderr
    assert result.stdout == ""


def test_check_refuses_a_missing_file(runner, tmp_path):
    result = runner.invoke(main, ["tiles", "check", str(tmp_path / "no.mbtiles")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
