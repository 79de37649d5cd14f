"""Service stations: list, nearest, and import (admins)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, jsonify, request

from geogrid.coords import CRS_NAMES, check_lonlat, to_wgs84
from geogrid.errors import InvalidInputError
from geogrid.stations import (
    KINDS,
    import_stations,
    load_stations,
    nearest_station,
    read_stations,
    station_feature,
)
from web.auth import require
from web.params import args, bad, choice, number, operation
from web.state import state

bp = Blueprint("stations", __name__, url_prefix="/api/v1")


@bp.get("/stations")
@operation(
    choice("kind", KINDS, None, "only stations of this kind"),
    responses={200: ("a GeoJSON FeatureCollection of stations", "application/json")},
)
def stations():
    """Every station (``kind=cooling|daycare|grid_home`` to choose) as GeoJSON."""
    kind = args()["kind"]
    found = load_stations(state().store, kind)
    return jsonify({"type": "FeatureCollection", "features": [station_feature(s) for s in found]})


@bp.get("/stations/nearest")
@operation(
    number("lon", "longitude of the point"),
    number("lat", "latitude of the point"),
    choice("crs", CRS_NAMES, "wgs84", "the point's coordinate system"),
    choice("kind", KINDS, "cooling", "which stations"),
    responses={200: ("the nearest station, with its distance", "application/json")},
)
def nearest():
    """The nearest station to a point, with its walking-free geodesic distance in metres."""
    query = args()
    lon, lat, crs, kind = query["lon"], query["lat"], query["crs"], query["kind"]
    try:
        x, y = check_lonlat(lon, lat)
    except InvalidInputError as err:
        raise bad("lon,lat", str(err)) from None
    wx, wy = to_wgs84(x, y, crs)
    station, metres = nearest_station(load_stations(state().store, kind), float(wx), float(wy))
    return jsonify(station_feature(station, metres))


@bp.post("/stations")
@operation(
    auth="administer",
    body=(
        "multipart/form-data",
        {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary"}},
            "required": ["file"],
        },
    ),
    responses={201: ("how many stations were imported", "application/json")},
)
@require("admin")
def upload():
    """Replace the stations of the kinds in an uploaded GeoJSON or CSV file (``file``)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise bad("file", "is required: a GeoJSON or CSV file of stations")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".geojson", ".json", ".csv"):
        raise bad("file", f"expected a .geojson or .csv file, got {upload.filename!r}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"stations{suffix}"
        upload.save(path)
        found = read_stations(path)
    return jsonify({"imported": import_stations(state().store, found)}), 201
