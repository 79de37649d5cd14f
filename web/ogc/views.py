"""The OGC API – Features blueprint: its routes, each answering JSON or HTML."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from geogrid.errors import InvalidInputError
from web.ogc.document import (
    CONFORMANCE,
    GEOJSON,
    GRID_COLLECTIONS,
    LIMIT,
    OFFSET,
    OTHER,
    api_html_doc,
    collection_doc,
    collections_doc,
    landing_doc,
    openapi_doc,
)
from web.ogc.features import event_items, find_feature, grid_items, station_items
from web.ogc.params import OGCError, bbox_arg, int_arg, wants_html

bp = Blueprint("ogc", __name__, url_prefix="/ogc")


@bp.errorhandler(OGCError)
def _error(err: OGCError):
    """A refused request's OGC exception document, with its status."""
    return jsonify({"code": err.code, "description": err.description}), err.status


@bp.errorhandler(InvalidInputError)
def _invalid(err: InvalidInputError):
    """Bad input found by the shared request layer, as an OGC exception."""
    return _error(OGCError(400, "InvalidParameterValue", err.message))


def _answer(doc: dict, title: str, media: str = "application/json"):
    """``doc`` as JSON of type ``media``, or as an HTML page if that is asked for."""
    if wants_html():
        return render_template("ogc.html", doc=doc, title=title)
    response = jsonify(doc)
    response.mimetype = media
    return response


def _known(cid: str) -> None:
    """Nothing if ``cid`` is a collection; else a 404."""
    if cid not in GRID_COLLECTIONS and cid not in OTHER:
        raise OGCError(404, "NotFound", f"collection '{cid}' does not exist")


@bp.get("/")
def landing():
    """The landing page: links to the API definition, conformance and collections."""
    doc = landing_doc()
    return _answer(doc, doc["title"])


@bp.get("/conformance")
def conformance():
    """The conformance classes the API implements."""
    return _answer({"conformsTo": CONFORMANCE}, "Conformance")


@bp.get("/api")
def api():
    """The OpenAPI 3.0 definition of the API, as JSON."""
    response = jsonify(openapi_doc())
    response.mimetype = "application/vnd.oai.openapi+json"
    return response


@bp.get("/api.html")
def api_html():
    """The API documentation page: the collections and a link to the OpenAPI document."""
    return render_template("ogc.html", title="geogrid OGC API – Features", doc=api_html_doc())


@bp.get("/collections")
def collections():
    """Every collection's metadata: id, title, extent and links."""
    return _answer(collections_doc(), "Collections")


@bp.get("/collections/<cid>")
def collection(cid: str):
    """The metadata of collection ``cid``; 404 if there is no such collection."""
    _known(cid)
    return _answer(collection_doc(cid), cid)


@bp.get("/collections/<cid>/items")
def items(cid: str):
    """A page of the features of ``cid`` (limit, offset, bbox, datetime, property filters)."""
    _known(cid)
    limit, offset = int_arg("limit", *LIMIT), int_arg("offset", *OFFSET)
    bbox = bbox_arg()
    if cid in GRID_COLLECTIONS:
        doc = grid_items(cid, limit, offset, bbox)
    elif cid == "events":
        doc = event_items(limit, offset, bbox)
    else:
        doc = station_items(limit, offset, bbox)
    return _answer(doc, cid, GEOJSON)


@bp.get("/collections/<cid>/items/<fid>")
def item(cid: str, fid: str):
    """The feature ``fid`` of collection ``cid``; 404 if there is none."""
    _known(cid)
    feature = find_feature(cid, fid)
    if feature is None:
        raise OGCError(404, "NotFound", f"feature '{fid}' does not exist in '{cid}'")
    return _answer(feature, fid, GEOJSON)
