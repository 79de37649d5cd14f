"""The geogrid command line, driven through click's runner."""

import csv
import json

import pytest
from click.testing import CliRunner

from geogrid.cli import main
from geogrid.coords import from_wgs84


@pytest.fixture
def runner(store_url):
    return CliRunner(env={"GEOGRID_DATABASE_URL": store_url})


def _csv(path, rows, header=("id", "lon", "lat", "category")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_assign_adds_the_codes_and_reports_bad_rows_by_line(runner, tmp_path, small_geojson):
    events = _csv(
        tmp_path / "events.csv",
        [
            ["e1", "113.507", "34.707", "noise"],
            ["e2", "abc", "34.7", "noise"],
            ["e3", "113.59", "34.75", "消防隐患, 后厨"],
            ["e4", "34.75", "113.59", "noise"],
            ["e5", "113.40", "34.75", "noise"],
            ["", "113.59", "34.75", "noise"],
            ["e7", "nan", "34.75", "noise"],
        ],
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(
        main, ["assign", "--grids", str(small_geojson), "--events", str(events), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "3 rows assigned (2 inside, 1 outside)" in result.stdout
    assert "line 3: lon 'abc' is not a number" in result.stderr
    assert "line 5: lat=113.59 is out of range [-90, 90]; lon and lat look swapped" in result.stderr
    assert "line 7: 'id' is empty" in result.stderr
    assert "line 8: coordinates must be finite numbers" in result.stderr
    rows = _read(out)
    assert [r["id"] for r in rows] == ["e1", "e3", "e5"]
    assert rows[0] == {
        "id": "e1",
        "lon": "113.507",
        "lat": "34.707",
        "category": "noise",
        "street": "410102001",
        "community": "410102001001",
        "grid": "410102001001001",
        "micro": "41010200100100101",
        "dedicated": "",
        "method": "inside",
    }
    assert rows[1]["category"] == "消防隐患, 后厨" and rows[1]["grid"] == "410102002001002"
    assert rows[2]["method"] == "outside" and rows[2]["street"] == ""
    errors = _read(tmp_path / "out.errors.csv")
    assert [e["line"] for e in errors] == ["3", "5", "7", "8"]


def test_assign_converts_gcj02_with_custom_columns(runner, tmp_path, small_geojson):
    x, y = from_wgs84(113.507, 34.707, "gcj02")
    events = _csv(
        tmp_path / "e.csv",
        [["1", f"{float(x):.8f}", f"{float(y):.8f}"]],
        header=("id", "经度", "纬度"),
    )
    out = tmp_path / "o.csv"
    result = runner.invoke(
        main,
        [
            "assign",
            "--grids",
            str(small_geojson),
            "--events",
            str(events),
            "--out",
            str(out),
            "--crs",
            "gcj02",
            "--lon-col",
            "经度",
            "--lat-col",
            "纬度",
        ],
    )
    assert result.exit_code == 0, result.output
    assert _read(out)[0]["micro"] == "41010200100100101"


def test_assign_refuses_a_csv_without_the_columns(runner, tmp_path, small_geojson):
    events = _csv(tmp_path / "e.csv", [["1", "2"]], header=("id", "x"))
    result = runner.invoke(
        main,
        [
            "assign",
            "--grids",
            str(small_geojson),
            "--events",
            str(events),
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "line 1: no 'lon' column; columns are id, x" in result.stderr


def test_init_import_locate_export(runner, tmp_path, small_geojson):
    assert runner.invoke(main, ["init"]).exit_code == 0
    result = runner.invoke(main, ["import-grids", str(small_geojson)])
    assert result.exit_code == 0, result.output
    assert (
        "generation 1 active: 1 district, 2 street, 3 community, 5 grid, 2 micro, "
        "1 dedicated" in result.stdout
    )
    result = runner.invoke(main, ["locate", "113.507", "34.707"])
    assert json.loads(result.stdout)["micro"] == "41010200100100101"
    out = tmp_path / "export.geojson"
    result = runner.invoke(main, ["export", "--format", "geojson", str(out)])
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["generation"] == 1 and len(exported["features"]) == 14


def test_bad_import_names_the_feature_and_stores_nothing(runner, tmp_path, small_fc):
    small_fc["features"][7]["properties"]["code"] = "410102001001001"
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(small_fc), encoding="utf-8")
    runner.invoke(main, ["init"])
    result = runner.invoke(main, ["import-grids", str(path)])
    assert result.exit_code == 2
    assert (
        "feature 7 (410102001001001): duplicate code '410102001001001': also feature 6"
        in result.stderr
    )
    assert "no grids imported yet" in runner.invoke(main, ["locate", "113.5", "34.7"]).stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["locate", "abc", "34.7"], "lon and lat must be numbers"),
        (["locate", "34.7", "113.5"], "look swapped"),
        (["locate", "113.5", "34.7", "--crs", "epsg:3857"], "Invalid value for '--crs'"),
    ],
)
def test_locate_refuses_bad_input(runner, args, message):
    runner.invoke(main, ["init"])
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and message in result.stderr


def test_import_events_assigns_and_is_idempotent(runner, tmp_path, small_geojson):
    runner.invoke(main, ["import-grids", str(small_geojson)])
    events = _csv(
        tmp_path / "ev.csv",
        [
            ["1", "113.507", "34.707", "noise"],
            ["2", "113.3", "34.707", "sanitation"],
            ["3", "113.507", "34.707", "ufo"],
        ],
    )
    result = runner.invoke(main, ["import-events", str(events)])
    assert result.exit_code == 1
    assert "2 events stored, 0 already there, 1 bad (generation 1)" in result.stdout
    assert "line 4: category: expected one of noise" in result.stderr
    again = runner.invoke(main, ["import-events", str(events)])
    assert "0 events stored, 2 already there, 1 bad" in again.stdout


def test_users_and_tokens(runner, store_url):
    from geogrid.auth import user_for_token
    from geogrid.storage.store import Store

    result = runner.invoke(
        main, ["user", "add", "wang", "--role", "operator", "--scope", "410102001"]
    )
    assert result.exit_code == 0 and "user wang: operator, scope 410102001" in result.stdout
    token = runner.invoke(main, ["user", "token", "wang"]).stdout.strip()
    assert user_for_token(Store(store_url), token).scope == "410102001"
    bad = runner.invoke(
        main, ["user", "add", "li", "--role", "operator", "--scope", "410102001001"]
    )
    assert bad.exit_code == 2
    assert "scope must be a district or street code, got '410102001001'" in bad.stderr
    assert (
        "user 'wang' exists already"
        in runner.invoke(main, ["user", "add", "wang", "--role", "viewer"]).stderr
    )
