"""Checks of grid geometries: type, coordinates, validity with the fault's location.

Examples
--------
>>> from shapely import Polygon
>>> geometry_problem(Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]))
'invalid polygon: Self-intersection at lon 0.5, lat 0.5'
"""

from __future__ import annotations

import json
import re

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.coords import lonlat_problems

__all__ = [
    "POLYGONAL",
    "geometries_from_geojson",
    "geometry_from_geojson",
    "geometry_problem",
    "geometry_problems",
    "round_coordinates",
]

POLYGONAL = ("Polygon", "MultiPolygon")
_REASON = re.compile(r"(?P<what>[^\[]+)\[(?P<x>\S+) (?P<y>\S+)\]")


def geometry_from_geojson(obj: object) -> BaseGeometry:
    """Build a polygonal shapely geometry from a GeoJSON geometry object.

    Raises ValueError with a message saying what was expected.
    """
    if obj is None:
        raise ValueError("geometry is missing (null); expected a Polygon or MultiPolygon")
    if not isinstance(obj, dict):
        raise ValueError(f"geometry must be a GeoJSON object, got {type(obj).__name__}")
    kind = obj.get("type")
    if kind not in POLYGONAL:
        raise ValueError(f"geometry type must be Polygon or MultiPolygon, got {kind!r}")
    coords = obj.get("coordinates")
    if not isinstance(coords, list | tuple):
        raise ValueError(f"geometry.coordinates must be an array, got {type(coords).__name__}")
    try:
        geom = shapely.geometry.shape({"type": kind, "coordinates": coords})
    except (
        TypeError,
        ValueError,
        IndexError,
        KeyError,
        AttributeError,
        RecursionError,
        shapely.errors.GEOSException,
    ) as err:
        raise ValueError(f"geometry.coordinates are not a valid {kind} array: {err}") from err
    if geom.is_empty:
        raise ValueError(f"geometry is an empty {kind}")
    return geom


def geometries_from_geojson(objs: list) -> list[BaseGeometry | ValueError]:
    """:func:`geometry_from_geojson` of each object: the geometry, or the error it raised.

    Plain polygons (nearly all of a real file: closed rings of numeric x, y
    pairs) are built from their coordinate arrays at once; else well-formed
    ones are parsed by GEOS in one call; if that refuses anything, each object
    is parsed on its own, for its own message.
    """
    simple = all(
        isinstance(o, dict)
        and o.get("type") in POLYGONAL
        and isinstance(o.get("coordinates"), list)
        and o["coordinates"]
        for o in objs
    )
    built = _from_coordinates(objs) if simple and objs else None
    if built is not None:
        return built
    if simple and objs:
        try:
            text = json.dumps({"type": "GeometryCollection", "geometries": objs})
            parts = shapely.get_parts(shapely.from_geojson(text))
        except (shapely.errors.GEOSException, ValueError, TypeError, RecursionError):
            parts = None
        if parts is not None and len(parts) == len(objs):
            kinds = shapely.get_type_id(parts)
            expected = [3 if o["type"] == "Polygon" else 6 for o in objs]
            if (kinds == expected).all() and not shapely.is_empty(parts).any():
                return list(parts)
    out: list[BaseGeometry | ValueError] = []
    for obj in objs:
        try:
            out.append(geometry_from_geojson(obj))
        except ValueError as err:
            out.append(err)
    return out


def _plain_rings(objs: list) -> tuple[np.ndarray, list[int], list[int], list[int]] | None:
    """Positions of ``objs`` as one (n, 2) array; sizes and polygons of rings; polygons' objects.

    None unless every ring is plain: numbers only, x and y, closed, four
    positions or more. Anything else takes the general paths, which accept or
    refuse it with the same coordinates or message as ever.
    """
    positions: list = []
    sizes, ring_polygon, polygon_object = [], [], []
    for k, obj in enumerate(objs):
        polygons = [obj["coordinates"]] if obj["type"] == "Polygon" else obj["coordinates"]
        for polygon in polygons:
            if not isinstance(polygon, list) or not polygon:
                return None
            for ring in polygon:
                if not isinstance(ring, list) or len(ring) < 4:
                    return None
                positions.extend(ring)
                sizes.append(len(ring))
                ring_polygon.append(len(polygon_object))
            polygon_object.append(k)
    try:
        xy = np.asarray(positions)
    except (ValueError, TypeError):  # ragged: a position of another size, or nested deeper
        return None
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.dtype.kind not in "fiu":
        return None
    ends = np.cumsum(sizes)
    if not (xy[ends - np.array(sizes)] == xy[ends - 1]).all():
        return None  # a ring left open
    return xy.astype(np.float64), sizes, ring_polygon, polygon_object


def _from_coordinates(objs: list) -> list[BaseGeometry] | None:
    """The geometries of plain polygon objects, built from their coordinates in a few calls."""
    found = _plain_rings(objs)
    if found is None:
        return None
    xy, sizes, ring_polygon, polygon_object = found
    ring_offsets = np.concatenate([[0], np.cumsum(sizes)])
    polygon_offsets = np.searchsorted(ring_polygon, np.arange(len(polygon_object) + 1))
    polygons = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON, xy, (ring_offsets, polygon_offsets)
    )
    owner = np.array(polygon_object)
    multi = np.array([obj["type"] == "MultiPolygon" for obj in objs])
    out = np.empty(len(objs), dtype=object)
    single = ~multi[owner]
    out[owner[single]] = polygons[single]
    if multi.any():
        shapely.multipolygons(polygons[~single], indices=owner[~single], out=out)
    return list(out)


def geometry_problems(geoms) -> list[str | None]:
    """:func:`geometry_problem` of many geometries at once."""
    geoms = np.asarray(geoms, dtype=object)
    out: list[str | None] = [None] * len(geoms)
    if not len(geoms):
        return out
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    starts = np.searchsorted(owner, np.arange(len(geoms)))
    for vertex, problem in enumerate(lonlat_problems(xy[:, 0], xy[:, 1])):
        if problem and out[owner[vertex]] is None:
            out[owner[vertex]] = f"vertex {vertex - starts[owner[vertex]]}: {problem}"
    valid = shapely.is_valid(geoms)
    for i in np.flatnonzero(~valid).tolist():
        out[i] = out[i] or _invalid(shapely.is_valid_reason(geoms[i]))
    return out


def geometry_problem(geom: BaseGeometry) -> str | None:
    """None if ``geom`` is a usable lon/lat polygon, else what is wrong and where."""
    xy = shapely.get_coordinates(geom)
    for vertex, problem in enumerate(lonlat_problems(xy[:, 0], xy[:, 1])):
        if problem:
            return f"vertex {vertex}: {problem}"
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        return None
    return _invalid(reason)


def _invalid(reason: str) -> str:
    match = _REASON.fullmatch(reason)
    if match:
        return (
            f"invalid polygon: {match['what'].strip()} at lon {float(match['x']):.7g}, "
            f"lat {float(match['y']):.7g}"
        )
    return f"invalid polygon: {reason}"


def round_coordinates(geom: BaseGeometry, decimals: int = 7) -> BaseGeometry:
    """Round every coordinate to ``decimals`` places (7 is ~1 cm in degrees)."""
    return shapely.transform(geom, lambda xy: np.round(xy, decimals))
