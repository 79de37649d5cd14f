"""The data the command center map fetches as it moves: grids and open events in view.

The page itself is :mod:`web.pages.mapview`; these endpoints share its per-generation
base (the grids' index) and its filters.
"""

from __future__ import annotations

import dataclasses

import shapely
from flask import Blueprint, current_app, jsonify

from geogrid.coords import gcj02_to_wgs84
from geogrid.reports.mapdata import feature_collection, open_events
from geogrid.stations import load_stations, uncovered
from web.auth import current_user
from web.pages.mapview import MAP_FILTERS, grid_contacts_shown, map_base, map_filter
from web.params import args, bad, bbox, choice, integer, operation
from web.state import state

bp = Blueprint("mapdata", __name__, url_prefix="/api/v1/map")

_CRS = choice("crs", ("wgs84", "gcj02"), "wgs84", "the box's and the answer's coordinates")
_BBOX = dataclasses.replace(bbox(), required=True)


def _bbox_wgs84(bbox, crs: str):
    """The box in WGS-84 (the map sends GCJ-02 boxes over Amap tiles)."""
    if crs == "gcj02":
        (x0, x1), (y0, y1) = gcj02_to_wgs84([bbox[0], bbox[2]], [bbox[1], bbox[3]])
        bbox = (float(x0), float(y0), float(x1), float(y1))
    return bbox


@bp.get("/grids")
@operation(
    choice("level", ("grid", "micro", "dedicated"), "grid", "which grids"),
    integer("zoom", 10, 22, 16, "the map's zoom: geometries are simplified to half a pixel"),
    _CRS,
    _BBOX,
    responses={200: ("a GeoJSON FeatureCollection of grids", "application/json")},
)
def map_grids():
    """One level's grids in a bounding box, simplified for ``zoom`` (the lazy layers)."""
    query = args()
    level, zoom, crs = query["level"], query["zoom"], query["crs"]
    bbox = _bbox_wgs84(query["bbox"], crs)
    base = map_base()
    hits = base.tree.query(shapely.box(*bbox), predicate="intersects")
    found = [base.all[i] for i in sorted(hits) if base.all[i].level == level]
    if len(found) > 5000:
        raise bad("bbox", f"{len(found)} {level} grids in view; zoom in (at most 5000)")
    stations = load_stations(state().store, "cooling")
    far = uncovered([g.geometry for g in found], stations, current_app.config["WALK_M"])
    extra = {g.code: {"uncovered": bool(f)} for g, f in zip(found, far, strict=True)}
    return jsonify(feature_collection(found, zoom, extra, crs, personal=grid_contacts_shown()))


@bp.get("/events")
@operation(
    _CRS,
    _BBOX,
    *MAP_FILTERS,
    responses={200: ("the open events in the box", "application/json")},
)
def map_events():
    """Open events in a bounding box for the zoomed-in layer; text only for readers."""
    query = args()
    crs = query["crs"]
    bbox = _bbox_wgs84(query["bbox"], crs)
    flt = map_filter()
    user = current_user()
    with state().store.engine.connect() as conn:
        rows = open_events(
            conn,
            flt,
            current_app.config["CLOCK"](),
            bbox,
            crs=crs,
            descriptions=user is not None and user.can("read"),
        )
    return jsonify({"events": rows})
