"""OGC API – Features, Part 1: Core (read-only), for QGIS and GDAL.

Collections: the grid levels of the active generation, events and cooling
stations. GeoJSON or HTML (``f=json|html`` or the Accept header), bbox,
limit, offset, datetime and property filters, numberMatched/numberReturned
and next links. Personal fields are not exposed without authorization.
"""

from __future__ import annotations

import math
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from geogrid.cases.queries import EventFilter, event_dict
from geogrid.privacy import mask_attributes
from geogrid.stations import load_stations
from geogrid.storage.schema import events
from geogrid.times import to_db_time, utc
from web.auth import current_user
from web.state import state

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
GRID_COLLECTIONS = {
    "streets": ("street", "街道 Streets"),
    "communities": ("community", "社区/村 Communities"),
    "grids": ("grid", "三级网格 Three-level grids"),
    "micro_grids": ("micro", "微网格 Micro grids"),
    "dedicated_grids": ("dedicated", "专属网格 Dedicated grids"),
}
OTHER = {"events": "事件 Events", "cooling_stations": "清凉驿站 Cooling stations"}
_COMMON = {"f", "bbox", "limit", "offset", "datetime"}
_FILTERS = {
    "grid": ("code", "name", "parent"),
    "events": ("category", "status", "street", "community", "grid", "micro", "source"),
    "cooling_stations": ("name",),
}
_CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_GEOJSON = "application/geo+json"


class OGCError(Exception):
    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


@bp.errorhandler(OGCError)
def _error(err: OGCError):
    return jsonify({"code": err.code, "description": err.description}), err.status


def _html() -> bool:
    f = request.args.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise OGCError(400, "InvalidParameterValue", f"f must be json or html, got '{f}'")
        return f == "html"
    best = request.accept_mimetypes.best_match(["application/json", _GEOJSON, "text/html"])
    return best == "text/html"


def _link(endpoint: str, rel: str, type_: str, title: str = "", **values) -> dict:
    return {
        "href": url_for(endpoint, _external=True, **values),
        "rel": rel,
        "type": type_,
        "title": title,
    }


def _answer(doc: dict, title: str, media: str = "application/json"):
    if _html():
        return render_template("ogc.html", doc=doc, title=title)
    response = jsonify(doc)
    response.mimetype = media
    return response


@bp.get("/")
def landing():
    doc = {
        "title": "geogrid 网格化治理 OGC API – Features",
        "description": "Grids, events and cooling stations of the active generation",
        "links": [
            _link("ogc.landing", "self", "application/json", "this document"),
            _link(
                "ogc.api", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "OpenAPI"
            ),
            _link("ogc.api_html", "service-doc", "text/html", "API documentation"),
            _link("ogc.conformance", "conformance", "application/json"),
            _link("ogc.collections", "data", "application/json", "collections"),
        ],
    }
    return _answer(doc, doc["title"])


@bp.get("/conformance")
def conformance():
    return _answer({"conformsTo": CONFORMANCE}, "Conformance")


@bp.get("/api")
def api():
    paths = {
        "/": {"get": {"summary": "Landing page", "responses": {"200": {"description": "ok"}}}},
        "/conformance": {
            "get": {"summary": "Conformance", "responses": {"200": {"description": "ok"}}}
        },
        "/collections": {
            "get": {"summary": "Collections", "responses": {"200": {"description": "ok"}}}
        },
    }
    for cid in [*GRID_COLLECTIONS, *OTHER]:
        params = [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
            for n in ("bbox", "limit", "offset", "datetime", "f")
        ]
        paths[f"/collections/{cid}"] = {
            "get": {
                "summary": cid,
                "responses": {"200": {"description": "ok"}, "404": {"description": "not found"}},
            }
        }
        paths[f"/collections/{cid}/items"] = {
            "get": {
                "summary": f"{cid} items",
                "parameters": params,
                "responses": {
                    "200": {"description": "GeoJSON"},
                    "400": {"description": "bad parameter"},
                },
            }
        }
        paths[f"/collections/{cid}/items/{{featureId}}"] = {
            "get": {
                "summary": f"one of {cid}",
                "parameters": [
                    {
                        "name": "featureId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": {"description": "GeoJSON"}, "404": {"description": "none"}},
            }
        }
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "geogrid OGC API – Features", "version": "1.0"},
        "servers": [{"url": url_for("ogc.landing", _external=True).rstrip("/")}],
        "paths": paths,
    }
    response = jsonify(doc)
    response.mimetype = "application/vnd.oai.openapi+json"
    return response


@bp.get("/api.html")
def api_html():
    return render_template(
        "ogc.html",
        title="geogrid OGC API – Features",
        doc={
            "description": "Read-only OGC API – Features (Part 1: Core). Collections: "
            + ", ".join([*GRID_COLLECTIONS, *OTHER]),
            "links": [_link("ogc.api", "service-desc", "application/json", "OpenAPI document")],
        },
    )


def _bounds() -> list[float]:
    return [round(float(v), 6) for v in state().index().bounds]


def _collection(cid: str) -> dict:
    title = GRID_COLLECTIONS[cid][1] if cid in GRID_COLLECTIONS else OTHER[cid]
    doc = {
        "id": cid,
        "title": title,
        "itemType": "feature",
        "crs": [_CRS84],
        "extent": {"spatial": {"bbox": [_bounds()], "crs": _CRS84}},
        "links": [
            _link("ogc.collection", "self", "application/json", cid, cid=cid),
            _link("ogc.items", "items", _GEOJSON, f"{cid} items", cid=cid),
        ],
    }
    if cid == "events":
        doc["extent"]["temporal"] = {"interval": [[None, None]]}
    return doc


@bp.get("/collections")
def collections():
    doc = {
        "collections": [_collection(c) for c in [*GRID_COLLECTIONS, *OTHER]],
        "links": [_link("ogc.collections", "self", "application/json")],
    }
    return _answer(doc, "Collections")


def _known(cid: str) -> None:
    if cid not in GRID_COLLECTIONS and cid not in OTHER:
        raise OGCError(404, "NotFound", f"collection '{cid}' does not exist")


@bp.get("/collections/<cid>")
def collection(cid: str):
    _known(cid)
    return _answer(_collection(cid), cid)


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise OGCError(
            400,
            "InvalidParameterValue",
            f"{name} must be an integer from {low} to {high}, got '{raw}'",
        )
    return value


def _bbox():
    raw = request.args.get("bbox")
    if raw is None:
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        values = []
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if (
        len(values) != 4
        or not all(math.isfinite(v) for v in values)
        or not (-180 <= values[0] <= values[2] <= 180 and -90 <= values[1] <= values[3] <= 90)
    ):
        raise OGCError(
            400,
            "InvalidParameterValue",
            f"bbox must be minLon,minLat,maxLon,maxLat in CRS84, got '{raw}'",
        )
    return tuple(values)


def _datetime():
    raw = request.args.get("datetime")
    if raw is None:
        return None, None

    def parse(text: str):
        if text in ("", ".."):
            return None
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise OGCError(
                400,
                "InvalidParameterValue",
                f"datetime must be RFC 3339 or an interval, got '{raw}'",
            ) from None
        if value.tzinfo is None:
            raise OGCError(400, "InvalidParameterValue", f"datetime needs a zone, got '{raw}'")
        return utc(value)

    if "/" in raw:
        start, _, end = raw.partition("/")
        return parse(start), parse(end)
    instant = parse(raw)
    return instant, instant


def _filters(kind: str) -> dict:
    allowed = _FILTERS[kind]
    unknown = sorted(set(request.args) - _COMMON - set(allowed))
    if unknown:
        raise OGCError(
            400,
            "InvalidParameterValue",
            f"unknown parameter '{unknown[0]}'; filters here: {', '.join(allowed)}",
        )
    return {k: request.args[k] for k in allowed if k in request.args}


def _page(cid: str, features: list, matched: int, limit: int, offset: int):
    links = [_link("ogc.items", "self", _GEOJSON, cid=cid, **request.args)]
    if offset + len(features) < matched:
        links.append(
            _link(
                "ogc.items",
                "next",
                _GEOJSON,
                "next page",
                cid=cid,
                **(request.args.to_dict() | {"offset": offset + limit, "limit": limit}),
            )
        )
    if offset > 0:
        links.append(
            _link(
                "ogc.items",
                "prev",
                _GEOJSON,
                "previous page",
                cid=cid,
                **(request.args.to_dict() | {"offset": max(0, offset - limit), "limit": limit}),
            )
        )
    doc = {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": current_app.config["CLOCK"]().isoformat(),
        "links": links,
    }
    return _answer(doc, cid, _GEOJSON)


@bp.get("/collections/<cid>/items")
def items(cid: str):
    _known(cid)
    limit, offset = _int("limit", 10, 1, 10_000), _int("offset", 0, 0, 10**9)
    bbox = _bbox()
    if cid in GRID_COLLECTIONS:
        return _grid_items(cid, limit, offset, bbox)
    if cid == "events":
        return _event_items(limit, offset, bbox)
    return _station_items(limit, offset, bbox)


def _grid_feature(grid, generation: int) -> dict:
    props = {
        "code": grid.code,
        "name": grid.name,
        "level": grid.level,
        "parent": grid.parent,
        "generation": generation,
        **mask_attributes(grid.attributes),
    }
    return {
        "type": "Feature",
        "id": grid.code,
        "properties": props,
        "geometry": grid.geometry.__geo_interface__,
    }


def _grid_items(cid: str, limit: int, offset: int, bbox):
    _datetime()  # grids have no time: any valid datetime matches
    flt = _filters("grid")
    store = state().store
    generation = store.active_generation()
    found = store.load_grids(generation, level=GRID_COLLECTIONS[cid][0], bbox_wgs84=bbox)
    for key, value in flt.items():
        found = [g for g in found if str(getattr(g, key)) == value]
    return _page(
        cid,
        [_grid_feature(g, generation) for g in found[offset : offset + limit]],
        len(found),
        limit,
        offset,
    )


def _personal() -> bool:
    user = current_user()
    return user is not None and user.role in ("operator", "admin")


def _event_feature(row, now: datetime, personal: bool) -> dict:
    """An event as a flat feature; reporter fields only for those allowed."""
    props = event_dict(row, now, personal)
    props.update(props.pop("assignment"))
    reporter = props.pop("reporter")
    if personal:
        props["reporter_name"], props["reporter_phone"] = reporter["name"], reporter["phone"]
    return {
        "type": "Feature",
        "id": row.id,
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
    }


def _station_feature(station) -> dict:
    props = {k: v for k, v in station.as_dict().items() if k not in ("lon", "lat", "id")}
    return {
        "type": "Feature",
        "id": station.id,
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [station.lon, station.lat]},
    }


def _event_items(limit: int, offset: int, bbox):
    start, end = _datetime()
    flt = _filters("events")
    now = current_app.config["CLOCK"]()
    personal = _personal()
    where = EventFilter(bbox_wgs84=bbox).where(now)
    for key, value in flt.items():
        where.append(events.c[key] == value)
    if start is not None:
        where.append(events.c.reported_at >= to_db_time(start))
    if end is not None:
        where.append(events.c.reported_at <= to_db_time(end))
    with state().store.engine.connect() as conn:
        matched = conn.scalar(sa.select(sa.func.count()).select_from(events).where(*where))
        rows = conn.execute(
            sa.select(events).where(*where).order_by(events.c.id).limit(limit).offset(offset)
        ).all()
    features = [_event_feature(row, now, personal) for row in rows]
    return _page("events", features, matched, limit, offset)


def _station_items(limit: int, offset: int, bbox):
    _datetime()
    flt = _filters("cooling_stations")
    found = load_stations(state().store, "cooling")
    if bbox:
        found = [s for s in found if bbox[0] <= s.lon <= bbox[2] and bbox[1] <= s.lat <= bbox[3]]
    for key, value in flt.items():
        found = [s for s in found if str(getattr(s, key)) == value]
    features = [_station_feature(s) for s in found[offset : offset + limit]]
    return _page("cooling_stations", features, len(found), limit, offset)


@bp.get("/collections/<cid>/items/<fid>")
def item(cid: str, fid: str):
    _known(cid)
    feature = None
    if cid in GRID_COLLECTIONS:
        store = state().store
        generation = store.active_generation()
        found = [
            g
            for g in store.load_grids(generation, code=fid)
            if g.code == fid and g.level == GRID_COLLECTIONS[cid][0]
        ]
        feature = _grid_feature(found[0], generation) if found else None
    elif cid == "events" and fid.isdigit():
        with state().store.engine.connect() as conn:
            row = conn.execute(sa.select(events).where(events.c.id == int(fid))).first()
        feature = _event_feature(row, current_app.config["CLOCK"](), _personal()) if row else None
    elif fid.isdigit():
        found = [s for s in load_stations(state().store, "cooling") if s.id == int(fid)]
        feature = _station_feature(found[0]) if found else None
    if feature is None:
        raise OGCError(404, "NotFound", f"feature '{fid}' does not exist in '{cid}'")
    return _answer(feature, fid, _GEOJSON)
