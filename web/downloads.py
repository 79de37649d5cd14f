"""Downloads for readers: the GeoPackage of every layer and the per-grid Excel report."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, send_file

from geogrid.exports import export_gpkg, export_xlsx
from web.auth import require
from web.state import state

bp = Blueprint("downloads", __name__, url_prefix="/export")


@bp.get("/report.xlsx")
@require("read")
def report():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.xlsx"
        export_xlsx(state().store, path, state().categories, current_app.config["CLOCK"]())
        data = path.read_bytes()
    return send_file(
        io.BytesIO(data),
        download_name="geogrid-report.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
    )


@bp.get("/layers.gpkg")
@require("read")
def layers():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layers.gpkg"
        export_gpkg(state().store, path)
        data = path.read_bytes()
    return send_file(
        io.BytesIO(data),
        download_name="geogrid-layers.gpkg",
        mimetype="application/geopackage+sqlite3",
        as_attachment=True,
    )
