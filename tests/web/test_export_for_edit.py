"""Export for editing through the API (admins) and the CLI, and back through the upload."""

from __future__ import annotations

import io
import json

from click.testing import CliRunner

from geogrid.cli import main


def test_admins_export_and_the_upload_is_a_no_op(api, tokens):
    assert api.get("/api/v1/boundaries/export").status_code == 401
    assert api.get("/api/v1/boundaries/export", headers=tokens["op1"]).status_code == 403
    gpkg = api.get("/api/v1/boundaries/export?scope=410102001", headers=tokens["adm"])
    assert gpkg.status_code == 200 and gpkg.mimetype == "application/geopackage+sqlite3"
    assert 'filename="grids-410102001-g1.gpkg"' in gpkg.headers["Content-Disposition"]
    answer = api.post(
        "/api/v1/boundaries",
        data={"file": (io.BytesIO(gpkg.data), "grids.gpkg"), "scope": "410102001"},
        headers=tokens["adm"],
        content_type="multipart/form-data",
    )
    report = answer.get_json()
    assert answer.status_code == 200, report
    assert [len(report["diff"][k]) for k in ("added", "removed", "reshaped", "updated")] == [0] * 4
    assert report["stale"] is None
    geojson = api.get("/api/v1/boundaries/export?format=geojson", headers=tokens["adm"]).get_json()
    assert geojson["geogrid"]["generation"] == 1 and len(geojson["features"]) == 14
    assert (
        api.get("/api/v1/boundaries/export?scope=410102009", headers=tokens["adm"]).status_code
        == 404
    )


def test_the_api_export_with_masked_phones_uploads_as_a_no_op(api, tokens):
    # the case: one community from GET /api/v1/grids as a street operator reads it
    # (another street's phones masked, "generation" in every feature), uploaded back as is
    masked = api.get("/api/v1/grids?code=410102001001", headers=tokens["op2"]).get_json()
    assert any("****" in str(f["properties"].get("phone")) for f in masked["features"])
    answer = api.post(
        "/api/v1/boundaries",
        data={
            "file": (io.BytesIO(json.dumps(masked).encode()), "grids.geojson"),
            "scope": "410102001001",
        },
        headers=tokens["adm"],
        content_type="multipart/form-data",
    )
    report = answer.get_json()
    assert answer.status_code == 200, report
    assert [len(report["diff"][k]) for k in ("added", "removed", "reshaped", "updated")] == [0] * 4


def test_the_cli_exports_for_editing(store, tmp_path):
    out = tmp_path / "edit.gpkg"
    result = CliRunner().invoke(
        main, ["--database", store.url, "export", "--for-edit", "--scope", "410102002", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "1 street, 1 community, 2 grid, 1 dedicated" in result.output and out.exists()
