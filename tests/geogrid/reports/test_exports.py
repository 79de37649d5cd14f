"""Exports: a GeoPackage QGIS opens as is, and the per-grid Excel report."""

import openpyxl
import pyogrio
from click.testing import CliRunner

from geogrid.cli import main


def _stocked(api, tokens):
    import json

    api.post(
        "/api/v1/events",
        data=json.dumps(
            [
                {
                    "lon": 113.507,
                    "lat": 34.707,
                    "category": "noise",
                    "reporter_phone": "13912345678",
                },
                {"lon": 113.59, "lat": 34.75, "category": "sanitation"},
            ]
        ),
        headers=tokens["rep"],
        content_type="application/json",
    )


def test_geopackage_has_every_layer(api, tokens, store, tmp_path):
    _stocked(api, tokens)
    out = tmp_path / "all.gpkg"
    result = CliRunner(env={"GEOGRID_DATABASE_URL": store.url}).invoke(
        main, ["export", "--format", "gpkg", str(out)]
    )
    assert result.exit_code == 0, result.output
    layers = {name: kind for name, kind in pyogrio.list_layers(out)}
    assert layers == {
        "streets": "Polygon",
        "communities": "Polygon",
        "grids": "Polygon",
        "micro_grids": "Polygon",
        "dedicated_grids": "Polygon",
        "events": "Point",
    }
    grids = pyogrio.read_dataframe(out, layer="grids")
    assert len(grids) == 5 and grids.crs.to_epsg() == 4326
    assert set(grids["phone"].dropna()) == {"138****1234"}
    events = pyogrio.read_dataframe(out, layer="events")
    assert len(events) == 2 and "reporter_phone" not in events.columns
    personal = tmp_path / "personal.gpkg"
    CliRunner(env={"GEOGRID_DATABASE_URL": store.url}).invoke(
        main, ["export", "--format", "gpkg", "--personal", str(personal)]
    )
    assert "13912345678" in set(
        pyogrio.read_dataframe(personal, layer="events")["reporter_phone"].dropna()
    )


def test_excel_report_per_level(api, tokens, store, tmp_path):
    _stocked(api, tokens)
    out = tmp_path / "report.xlsx"
    result = CliRunner(env={"GEOGRID_DATABASE_URL": store.url}).invoke(
        main, ["export", "--format", "xlsx", str(out)]
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["街道 streets", "社区 communities", "网格 grids"]
    rows = list(book["网格 grids"].values)
    header, body = rows[0], rows[1:]
    assert header[:3] == ("编码 code", "名称 name", "上报 reported")
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert by_code["410102001001001"]["噪音扰民 noise"] == 1
    assert by_code["410102002001002"]["环境卫生 sanitation"] == 1
    assert by_code["410102002001002"]["名称 name"] == "市场街第2网格"


def test_downloads_need_a_reader(api, tokens, store):
    _stocked(api, tokens)
    assert api.get("/export/report.xlsx").status_code == 401
    report = api.get("/export/report.xlsx", headers=tokens["view"])
    assert report.status_code == 200 and report.data[:2] == b"PK"
    layers = api.get("/export/layers.gpkg", headers=tokens["view"])
    assert layers.status_code == 200 and layers.data[:16] == b"SQLite format 3\0"
