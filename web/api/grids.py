"""The JSON API, version 1: grids and point location."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request

from geogrid import codes
from geogrid.boundaries.grids import grid_to_feature
from geogrid.coords import CRS_NAMES, check_lonlat
from geogrid.errors import InvalidInputError
from geogrid.grid import Grid
from geogrid.privacy import mask_attributes
from web.params import bad, get_bbox, get_choice, get_float, get_int
from web.state import state

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_LIMIT = 10_000


def _feature(grid: Grid, generation: int) -> dict:
    masked = Grid(grid.code, grid.name, grid.geometry, mask_attributes(grid.attributes))
    return grid_to_feature(masked, {"generation": generation})


@bp.get("/health")
def health():
    """For a load balancer: 200 when this worker reaches the database, else 503."""
    store = state().store
    try:
        generation = store.active_generation()
    except sa.exc.SQLAlchemyError as err:
        current_app.logger.error("health: database unreachable: %s", err.__class__.__name__)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": store.backend, "generation": generation})


def _code_param() -> str | None:
    code = request.args.get("code")
    if code in (None, ""):
        return None
    try:
        return codes.validate_code(code)
    except InvalidInputError as err:
        raise bad("code", str(err)) from None


@bp.get("/grids")
def grids():
    """The active generation's grids as a GeoJSON FeatureCollection, filtered."""
    level = get_choice("level", codes.LEVELS)
    code = _code_param()
    bbox = get_bbox()
    limit = get_int("limit", 1000, 1, MAX_LIMIT)
    offset = get_int("offset", 0, 0, 10**9)
    store = state().store
    generation = store.active_generation()
    found = store.load_grids(
        generation, level=level, code=code, bbox_wgs84=bbox, limit=limit, offset=offset
    )
    matched = store.count_grids(generation, level=level, code=code, bbox_wgs84=bbox)
    return jsonify(
        {
            "type": "FeatureCollection",
            "generation": generation,
            "numberMatched": matched,
            "numberReturned": len(found),
            "features": [_feature(g, generation) for g in found],
        }
    )


@bp.get("/grids/<code>")
def grid(code: str):
    """One grid of the active generation, as a GeoJSON Feature."""
    try:
        codes.validate_code(code)
    except InvalidInputError as err:
        raise bad("code", str(err)) from None
    store = state().store
    generation = store.active_generation()
    return jsonify(_feature(store.get_grid(code, generation), generation))


@bp.get("/locate")
def locate():
    """The assignment of one point; nothing is stored."""
    lon = get_float("lon")
    lat = get_float("lat")
    crs = get_choice("crs", CRS_NAMES, "wgs84")
    try:
        x, y = check_lonlat(lon, lat)
    except InvalidInputError as err:
        raise bad("lon,lat", str(err)) from None
    found = state().index().locate(x, y, crs)
    found.update({"lon": x, "lat": y, "crs": crs})
    return jsonify(found)
