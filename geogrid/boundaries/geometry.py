"""Checks of grid geometries: type, coordinates, validity with the fault's location.

Examples
--------
>>> from shapely import Polygon
>>> geometry_problem(Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]))
'invalid polygon: Self-intersection at lon 0.5, lat 0.5'
"""

from __future__ import annotations

import re

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.coords import lonlat_problems

__all__ = ["POLYGONAL", "geometry_from_geojson", "geometry_problem", "round_coordinates"]

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


def geometry_problem(geom: BaseGeometry) -> str | None:
    """None if ``geom`` is a usable lon/lat polygon, else what is wrong and where."""
    xy = shapely.get_coordinates(geom)
    for vertex, problem in enumerate(lonlat_problems(xy[:, 0], xy[:, 1])):
        if problem:
            return f"vertex {vertex}: {problem}"
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        return None
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
