"""The residents' front door: ``/report`` (a phone's browser, no app, no account) and ``/track``.

Chinese by default with English; 390 × 844 is the reference screen. The page
posts to ``POST /api/v1/reports`` and reads ``/api/v1/locate`` to tell the
resident which grid will handle the report; ``/track/<number>`` shows what the
resident may see of it (:func:`geogrid.cases.reports.public_report`).
"""

from __future__ import annotations

import json
from datetime import datetime

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from geogrid.cases.reports import CHINA, parse_tracking
from geogrid.errors import NotFoundError
from geogrid.reports.mapdata import feature_collection
from web.api.reports import MAX_REPORT_PHOTOS, lookup
from web.pages.mapview import map_base
from web.state import state

bp = Blueprint("residents", __name__)


@bp.app_template_filter("cst")
def cst(value: str | None) -> str:
    """An ISO 8601 time as the district reads it: ``2026-12-01 20:15`` in China Standard Time."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


_OUTLINE_ZOOM = 12  # the district and its streets, simplified for a whole-district view


@bp.get("/report")
def report():
    """The report form: a map to place the problem, a category, text, photos, a contact."""
    lang = "en" if request.args.get("lang") == "en" else "zh"
    categories = [
        {"code": c.code, "name": c.name if lang == "zh" else c.name_en}
        for c in state().categories.values()
    ]
    return render_template(
        "report.html",
        lang=lang,
        categories=categories,
        max_photos=MAX_REPORT_PHOTOS,
        public_map=bool(current_app.config["PUBLIC_MAP"]),
        vendor=url_for("static", filename="vendor"),
    )


@bp.get("/report/outline.json")
def outline():
    """The district and its streets, simplified: what the report map draws first."""
    base = map_base()
    cache = current_app.extensions.setdefault("geogrid_report_outline", {})
    if cache.get("base") is not base:
        levels = ("district", "street")  # communities and grids come with the zoom
        shapes = [g for level in levels for g in base.by_level[level]]
        body = feature_collection(shapes, _OUTLINE_ZOOM)
        for feature in body["features"]:  # names and codes only: no contacts here
            props = feature["properties"]
            feature["properties"] = {k: props[k] for k in ("code", "name", "level")}
        cache.update(base=base, body=json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    response = current_app.response_class(cache["body"], mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/track")
def track_form():
    """Look a report up by its number (a form on the page)."""
    number = request.args.get("number", "")
    if number:
        return redirect(url_for("residents.track", number=number.strip().upper()))
    return render_template("track.html", report=None, number="", error=None), 200


@bp.get("/track/<number>")
def track(number: str):
    """What the resident may see of one report; 404 for a number that is not one."""
    try:
        found = lookup(number)
    except NotFoundError:
        shown = parse_tracking(number) or ""
        error = "没有这个受理编号 / no report with this number"
        return render_template("track.html", report=None, number=shown, error=error), 404
    if isinstance(found, tuple):  # too many unknown numbers from this address
        error = "查询过于频繁，请稍后再试 / too many lookups: try again later"
        page = render_template("track.html", report=None, number="", error=error)
        return page, 429, {"Retry-After": found[0].headers["Retry-After"]}
    if request.args.get("format") == "json":
        return jsonify(found)
    categories = state().categories
    category = categories.get(found["category"])
    return render_template(
        "track.html",
        report=found,
        number=found["tracking"],
        error=None,
        category=category,
    )
