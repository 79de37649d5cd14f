"""The OGC API's self-description: collections, conformance, landing page, OpenAPI."""

from __future__ import annotations

from geogrid.cases.validate import SOURCES
from geogrid.cases.workflow import STATUSES
from web.links import external_url
from web.state import state

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
GEOJSON = "application/geo+json"

COMMON = {"f", "bbox", "limit", "offset", "datetime"}
#: (default, lowest, highest) of the paging parameters, read here and documented alike
LIMIT = (10, 1, 10_000)
OFFSET = (0, 0, 10**9)
#: the property filters each kind of collection accepts
FILTERS = {
    "grid": ("code", "name", "parent"),
    "events": ("category", "status", "street", "community", "grid", "micro", "source"),
    "cooling_stations": ("name",),
}
_CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def link(endpoint: str, rel: str, type_: str, title: str = "", **values) -> dict:
    """A link object: the absolute URL of ``endpoint``, its relation, media type and title."""
    return {
        "href": external_url(endpoint, **values),
        "rel": rel,
        "type": type_,
        "title": title,
    }


def landing_doc() -> dict:
    """The landing page: title, description and links to the API's other documents."""
    return {
        "title": "geogrid 网格化治理 OGC API – Features",
        "description": "Grids, events and cooling stations of the active generation",
        "links": [
            link("ogc.landing", "self", "application/json", "this document"),
            link(
                "ogc.api", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "OpenAPI"
            ),
            link("ogc.api_html", "service-doc", "text/html", "API documentation"),
            link("ogc.conformance", "conformance", "application/json"),
            link("ogc.collections", "data", "application/json", "collections"),
        ],
    }


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _item_parameters(cid: str) -> list[dict]:
    """The items' query parameters with their types, and every property filter accepted."""
    number = r"-?[0-9]+(\.[0-9]+)?"
    (limit, low, high), (offset, o_low, o_high) = LIMIT, OFFSET
    params = [
        _query(
            "bbox",
            {"type": "string", "pattern": rf"^{number}(,{number}){{3}}(,{number}){{2}}?$"},
            "minLon,minLat,maxLon,maxLat in CRS84 (6 numbers: the heights are ignored)",
        ),
        _query(
            "limit",
            {"type": "integer", "minimum": low, "maximum": high, "default": limit},
            "features per page",
        ),
        _query(
            "offset",
            {"type": "integer", "minimum": o_low, "maximum": o_high, "default": offset},
            "features to skip",
        ),
        _query(
            "datetime",
            {"type": "string"},
            "an RFC 3339 time or interval (start/end, '..' for an open end), with a zone",
        ),
        _query("f", {"type": "string", "enum": ["json", "html"]}, "the answer's format"),
    ]
    kind = "grid" if cid in GRID_COLLECTIONS else cid
    enums = {
        "status": list(STATUSES),
        "category": list(state().categories),
        "source": list(SOURCES),
    }
    for name in FILTERS[kind]:
        schema = {"type": "string", "enum": enums[name]} if name in enums else {"type": "string"}
        params.append(_query(name, schema, f"only features whose {name} is this"))
    return params


def _collection_paths(cid: str) -> dict:
    """The OpenAPI paths of one collection: its metadata, its items and one item."""
    params = _item_parameters(cid)
    return {
        f"/collections/{cid}": {
            "get": {
                "summary": cid,
                "responses": {"200": {"description": "ok"}, "404": {"description": "not found"}},
            }
        },
        f"/collections/{cid}/items": {
            "get": {
                "summary": f"{cid} items",
                "parameters": params,
                "responses": {
                    "200": {"description": "GeoJSON"},
                    "400": {"description": "bad parameter"},
                },
            }
        },
        f"/collections/{cid}/items/{{featureId}}": {
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
        },
    }


def openapi_doc() -> dict:
    """The OpenAPI 3.0 document: every path of the API, each collection's included."""
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
        paths.update(_collection_paths(cid))
    return {
        "openapi": "3.0.3",
        "info": {"title": "geogrid OGC API – Features", "version": "1.0"},
        "servers": [{"url": external_url("ogc.landing").rstrip("/")}],
        "paths": paths,
    }


def api_html_doc() -> dict:
    """The HTML API documentation's content: the collections and the OpenAPI link."""
    return {
        "description": "Read-only OGC API – Features (Part 1: Core). Collections: "
        + ", ".join([*GRID_COLLECTIONS, *OTHER]),
        "links": [link("ogc.api", "service-desc", "application/json", "OpenAPI document")],
    }


def _bounds() -> list[float]:
    """The active generation's bounds, lon/lat rounded to 6 decimals."""
    return [round(float(v), 6) for v in state().index().bounds]


def collection_doc(cid: str) -> dict:
    """The metadata of collection ``cid``: title, CRS, extent and links."""
    title = GRID_COLLECTIONS[cid][1] if cid in GRID_COLLECTIONS else OTHER[cid]
    doc = {
        "id": cid,
        "title": title,
        "itemType": "feature",
        "crs": [_CRS84],
        "extent": {"spatial": {"bbox": [_bounds()], "crs": _CRS84}},
        "links": [
            link("ogc.collection", "self", "application/json", cid, cid=cid),
            link("ogc.items", "items", GEOJSON, f"{cid} items", cid=cid),
        ],
    }
    if cid == "events":
        doc["extent"]["temporal"] = {"interval": [[None, None]]}
    return doc


def collections_doc() -> dict:
    """Every collection's metadata and a link to this list."""
    return {
        "collections": [collection_doc(c) for c in [*GRID_COLLECTIONS, *OTHER]],
        "links": [link("ogc.collections", "self", "application/json")],
    }
