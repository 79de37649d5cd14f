"""The JSON API, version 1: grids and point location."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from geogrid import codes
from geogrid.boundaries.grids import grid_to_feature
from geogrid.coords import CRS_NAMES, check_lonlat
from geogrid.errors import InvalidInputError
from geogrid.grid import Grid
from geogrid.policy import may_see_grid_contacts
from web.auth import current_user
from web.params import args, bad, bbox, choice, grid_code, integer, number, operation
from web.state import state

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_LIMIT = 10_000


def _feature(grid: Grid, generation: int) -> dict:
    """A grid as a Feature; its contacts as the access policy lets this caller see them."""
    contacts = may_see_grid_contacts(current_user(), grid.code)
    return grid_to_feature(grid, {"generation": generation}, contacts)


@bp.get("/health")
@operation(
    responses={
        200: ("this worker reaches the database", "application/json"),
        503: ("the database is unreachable", "application/json"),
    }
)
def health():
    """For a load balancer: 200 when this worker reaches the database, else 503."""
    store = state().store
    try:
        generation = store.active_generation()
    except sa.exc.SQLAlchemyError as err:
        current_app.logger.error("health: database unreachable: %s", err.__class__.__name__)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": store.backend, "generation": generation})


@bp.get("/grids")
@operation(
    choice("level", codes.LEVELS, None, "only grids of this level"),
    grid_code("code", "a grid and every grid below it"),
    bbox(),
    integer("limit", 1, MAX_LIMIT, 1000, "grids per page"),
    integer("offset", 0, 10**9, 0, "grids to skip"),
    responses={200: ("a GeoJSON FeatureCollection of grids", "application/json")},
)
def grids():
    """The active generation's grids as a GeoJSON FeatureCollection, filtered."""
    query = args()
    level, code, bbox, limit, offset = (
        query[k] for k in ("level", "code", "bbox", "limit", "offset")
    )
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
            "features": [_feature(g, generation) for g in state().contacts(found)],
        }
    )


@bp.get("/grids/<code>")
@operation(responses={200: ("one grid as a GeoJSON Feature", "application/json")})
def grid(code: str):
    """One grid of the active generation, as a GeoJSON Feature."""
    try:
        codes.validate_code(code)
    except InvalidInputError as err:
        raise bad("code", str(err)) from None
    store = state().store
    generation = store.active_generation()
    found = state().contacts([store.get_grid(code, generation)])[0]
    return jsonify(_feature(found, generation))


@bp.get("/locate")
@operation(
    number("lon", "longitude of the point"),
    number("lat", "latitude of the point"),
    choice("crs", CRS_NAMES, "wgs84", "the point's coordinate system"),
    responses={200: ("the grid chain of the point", "application/json")},
)
def locate():
    """The assignment of one point; nothing is stored."""
    query = args()
    lon, lat, crs = query["lon"], query["lat"], query["crs"]
    try:
        x, y = check_lonlat(lon, lat)
    except InvalidInputError as err:
        raise bad("lon,lat", str(err)) from None
    found = state().index().locate(x, y, crs)
    found.update({"lon": x, "lat": y, "crs": crs})
    return jsonify(found)
