"""The admin page for boundary uploads: form, preview report and map, commit, rollback.

Session-based and CSRF-protected (Flask-WTF); no session: 401, not an admin: 403.
"""

from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path

import shapely
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from geogrid.boundaries.redraw import commit, rollback
from geogrid.boundaries.staging import discard, stage, staged
from geogrid.errors import InvalidInputError
from geogrid.reports.mapdata import feature_collection
from maps.preview import build_preview
from web.api.boundaries import plan_upload
from web.auth import current_user
from web.state import state

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_only(view):
    """A page decorator: log in first, and be an admin."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        user = current_user()
        if user is None:
            abort(401)
        if user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.get("/boundaries")
@admin_only
def boundaries():
    """The boundary upload page with the list of generations."""
    return render_template("admin_boundaries.html", generations=state().store.generations())


@bp.post("/boundaries")
@admin_only
def preview():
    """A dry run of an uploaded file: the report and the preview map."""
    upload = request.files.get("file")
    scope = request.form.get("scope", "").strip() or None
    try:
        the_plan, data = plan_upload(upload, scope)
    except InvalidInputError as err:
        return render_template(
            "admin_boundaries.html", error=err, generations=state().store.generations()
        ), 400
    suffix = Path(upload.filename).suffix.lower()
    now = current_app.config["CLOCK"]()
    stage(state().store, the_plan.sha256, suffix, data, current_user().username, now)
    report = the_plan.report()
    return render_template(
        "admin_report.html",
        report=report,
        suffix=suffix,
        map_html=_preview_map(the_plan),
        scope=scope or "",
    )


def _preview_map(the_plan) -> str:
    changed = {r["code"] for r in the_plan.diff["reshaped"]} | set(the_plan.diff["added"])
    removed = set(the_plan.diff["removed"]) | changed
    old = [g for g in state().store.load_grids() if g.code in removed]
    new = [g for g in the_plan.grids if g.code in changed]
    problems = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": ", ".join(p.codes), "name": p.message},
                "geometry": p.geometry,
            }
            for p in the_plan.problems
            if p.geometry
        ],
    }
    geoms = [g.geometry for g in old + new] or [g.geometry for g in the_plan.grids]
    bounds = tuple(shapely.total_bounds(geoms))
    root = build_preview(
        feature_collection(old, 16),
        feature_collection(new, 16),
        problems,
        bounds,
        url_for("static", filename="vendor"),
    ).get_root()
    return root.render()


@bp.post("/boundaries/commit")
@admin_only
def commit_upload():
    """Commit a previewed upload as a new generation."""
    sha, suffix = request.form.get("sha256", ""), request.form.get("suffix", "")
    found = staged(state().store, sha) if len(sha) == 64 else None
    if found is None or found[0] != suffix:
        abort(400)
    data = found[1]
    if hashlib.sha256(data).hexdigest() != sha:
        abort(400)
    upload = FileStorage(stream=io.BytesIO(data), filename=f"upload{suffix}")
    the_plan, _ = plan_upload(upload, request.form.get("scope") or None)
    done = commit(
        state().store,
        the_plan,
        current_user().username,
        current_app.config["CLOCK"](),
        request.form.get("reassign_closed") == "1",
        current_app.config["TOLERANCE_M"],
    )
    discard(state().store, sha)
    flash(f"generation {done['generation']} active; {done['events_reassigned']} events reassigned")
    return redirect(url_for("admin.boundaries"))


@bp.post("/generations/<id:generation>/activate")
@admin_only
def activate(generation: int):
    """Roll back (or forward) to an earlier generation."""
    done = rollback(
        state().store,
        generation,
        current_user().username,
        current_app.config["CLOCK"](),
        current_app.config["TOLERANCE_M"],
    )
    flash(
        f"generation {generation} active again; {done['events_reassigned']} open events reassigned"
    )
    return redirect(url_for("admin.boundaries"))
