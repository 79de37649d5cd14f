"""The API's own description: the OpenAPI document and its docs page (vendored Swagger UI)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from web.openapi import document
from web.params import operation

bp = Blueprint("docs", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
@operation(responses={200: ("this document", "application/json")})
def openapi_json():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document(current_app))


@bp.get("/docs")
@operation(responses={200: ("the docs page", "text/html")})
def docs_page():
    """The API's docs page (Swagger UI, served from this app: no CDN)."""
    return render_template("api_docs.html")
