"""Boundary uploads (dry run by default), generations and rollback: admins only."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request

from geogrid.boundaries.export import edit_geojson, edit_gpkg
from geogrid.boundaries.redraw import Plan, commit, plan, rollback
from geogrid.boundaries.upload import SUFFIXES, read_features, source_generation
from web.auth import current_user, require
from web.params import CODE_PATTERN, args, bad, choice, grid_code, operation
from web.state import state

bp = Blueprint("boundaries", __name__, url_prefix="/api/v1")


def _flag(name: str) -> bool:
    raw = (request.form.get(name) or request.args.get(name) or "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise bad(name, f"expected true or false, got {raw!r}")
    return raw in ("true", "1")


def plan_upload(upload, scope: str | None) -> tuple[Plan, bytes]:
    """Read, validate and plan an uploaded file (a werkzeug FileStorage)."""
    if upload is None or not upload.filename:
        raise bad("file", f"is required: one of {', '.join(SUFFIXES)}")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise bad("file", f"expected one of {', '.join(SUFFIXES)}, got {upload.filename[:200]!r}")
    data = upload.read()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        features = read_features(path, upload.filename, current_app.config["UPLOAD_LIMITS"])
        taken_from = source_generation(path, upload.filename, features)
    the_plan = plan(
        state().store,
        features,
        scope=scope or None,
        sha256=hashlib.sha256(data).hexdigest(),
        tolerances=current_app.config["TOPOLOGY_TOLERANCES"],
        tolerance_m=current_app.config["TOLERANCE_M"],
        taken_from=taken_from,
    )
    return the_plan, data


@bp.post("/boundaries")
@operation(
    auth="administer",
    body=(
        "multipart/form-data",
        {
            "type": "object",
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "scope": {"type": "string", "pattern": CODE_PATTERN},
                "commit": {"type": "string", "enum": ["true", "false", "1", "0"]},
                "reassign_closed": {"type": "string", "enum": ["true", "false", "1", "0"]},
            },
            "required": ["file"],
        },
    ),
    responses={
        200: ("the dry run's report", "application/json"),
        201: ("the report of the committed generation", "application/json"),
    },
)
@require("admin")
def upload_boundaries():
    """A whole set, or the subtree under ``scope``: a report; ``commit=true`` to apply it."""
    do_commit, reassign_closed = _flag("commit"), _flag("reassign_closed")
    the_plan, _ = plan_upload(request.files.get("file"), request.form.get("scope"))
    report = the_plan.report()
    if not do_commit:
        return jsonify({**report, "committed": False}), 200
    done = commit(
        state().store,
        the_plan,
        current_user().username,
        current_app.config["CLOCK"](),
        reassign_closed,
        current_app.config["TOLERANCE_M"],
    )
    return jsonify({**report, "committed": True, **done}), 201


@bp.get("/boundaries/export")
@operation(
    grid_code("scope", "the grid whose subtree to export (default: the whole district)"),
    choice("format", ("gpkg", "geojson"), "gpkg", "a GeoPackage (a layer per level) or GeoJSON"),
    auth="administer",
    responses={
        200: (
            "the grids for editing, with full attributes",
            ("application/geopackage+sqlite3", "application/json"),
        )
    },
)
@require("admin")
def export_for_edit():
    """The active generation's grids under ``scope`` to edit in QGIS and upload again.

    Full attributes (admins only), codes as text, coordinates as stored, and the
    generation they came from (a GeoJSON ``geogrid`` member, GeoPackage
    metadata), so an upload against a newer generation is flagged as stale.
    """
    query = args()
    scope, store = query["scope"], state().store
    name = f"grids-{scope or 'district'}-g{store.active_generation()}"
    if query["format"] == "geojson":
        response = jsonify(edit_geojson(store, scope))
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.geojson"'
        return response
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.gpkg"
        edit_gpkg(store, path, scope)
        data = path.read_bytes()
    return current_app.response_class(
        data,
        mimetype="application/geopackage+sqlite3",
        headers={"Content-Disposition": f'attachment; filename="{name}.gpkg"'},
    )


@bp.get("/generations")
@operation(auth="read events", responses={200: ("the generations", "application/json")})
@require("read")
def generations():
    """Every boundary generation, oldest first, the active one marked."""
    rows = state().store.generations()
    return jsonify(
        {"generations": [{**r, "created_at": r["created_at"].isoformat()} for r in rows]}
    )


@bp.post("/generations/<id:generation>/activate")
@operation(auth="administer", responses={200: ("what the rollback reassigned", "application/json")})
@require("admin")
def activate(generation: int):
    """Roll back (or forward) to ``generation``; open events are reassigned under it."""
    done = rollback(
        state().store,
        generation,
        current_user().username,
        current_app.config["CLOCK"](),
        current_app.config["TOLERANCE_M"],
    )
    return jsonify(done)
