"""Downloads for readers: the GeoPackage of every layer and the per-grid Excel report."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, send_file

from geogrid.reports.exports import export_gpkg, export_xlsx
from web.auth import require
from web.state import state

bp = Blueprint("downloads", __name__, url_prefix="/export")


def _send(write, filename: str, mimetype: str):
    """Write an export to a temporary file and send it as an attachment."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        write(path)
        data = path.read_bytes()
    return send_file(
        io.BytesIO(data), download_name=f"geogrid-{filename}", mimetype=mimetype, as_attachment=True
    )


@bp.get("/report.xlsx")
@require("read")
def report():
    """The per-grid Excel report (counts, closure and on-time rates)."""
    now = current_app.config["CLOCK"]()
    return _send(
        lambda path: export_xlsx(state().store, path, state().categories, now),
        "report.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.get("/layers.gpkg")
@require("read")
def layers():
    """Every layer as one GeoPackage (personal fields masked)."""
    return _send(
        lambda path: export_gpkg(state().store, path),
        "layers.gpkg",
        "application/geopackage+sqlite3",
    )
