"""Reading grid boundaries from GeoJSON into validated :class:`Grid` records.

A FeatureCollection (RFC 7946, lon/lat) whose features carry ``code`` and
``name``; every other property is kept as an attribute. Validation collects
every problem with its feature index before anything is stored.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from geogrid import codes
from geogrid.boundaries.geometry import geometries_from_geojson, geometry_problems
from geogrid.errors import InvalidInputError
from geogrid.grid import Grid
from geogrid.io import load_json
from geogrid.privacy import mask_attributes

__all__ = ["grid_to_feature", "grids_from_features", "read_grids"]

_RESERVED = ("code", "name", "level", "parent")
#: what exports add that no upload stores: which generation the file came from, its id
READ_ONLY = ("generation", "id", "fid")


def read_grids(source: str | bytes | os.PathLike | dict) -> list[Grid]:
    """Read and validate a GeoJSON FeatureCollection of grids.

    ``source`` is a file path, the file's bytes, or the parsed object.

    Raises :class:`InvalidInputError` listing every problem in ``details``
    (each with ``index``, ``code`` and ``message``); returns nothing partial.
    """
    data = source if isinstance(source, dict) else load_json(source)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise InvalidInputError(f"expected a GeoJSON FeatureCollection, got {kind!r}")
    features = data.get("features")
    if not isinstance(features, list):
        raise InvalidInputError("FeatureCollection.features must be an array")
    if not features:
        raise InvalidInputError("FeatureCollection has no features")
    return grids_from_features(features)


def grids_from_features(features: Iterable[Any], known: frozenset[str] = frozenset()) -> list[Grid]:
    """Validate features one by one, then across them (duplicates, parents).

    ``known`` codes count as present parents (a partial upload's parents may
    live outside the file). Properties are checked feature by feature; the
    geometries of those that pass are built and checked together.
    """
    read: list[tuple[int, str, str, dict, Any]] = []
    problems: list[dict] = []
    named: set[str] = set()  # codes of features refused for another reason
    for index, feature in enumerate(features):
        found, problem = _read_properties(index, feature)
        if problem:
            problems.append(problem)
            named.add(problem["code"])
        else:
            read.append(found)
    geoms = geometries_from_geojson([geometry for *_, geometry in read])
    faults = geometry_problems([g for g in geoms if not isinstance(g, ValueError)])
    faults.reverse()
    grids: list[Grid] = []
    index_of: dict[str, int] = {}
    for (index, code, name, attributes, _), geom in zip(read, geoms, strict=True):
        fault = str(geom) if isinstance(geom, ValueError) else faults.pop()
        if fault:
            problems.append(_problem(index, code, "geometry", fault))
            named.add(code)
        elif code in index_of:
            problems.append(
                _problem(
                    index, code, "code", f"duplicate code {code!r}: also feature {index_of[code]}"
                )
            )
        else:
            index_of[code] = index
            grids.append(Grid(code=code, name=name, geometry=geom, attributes=attributes))
    problems.sort(key=lambda p: p["index"])
    problems.extend(_parent_problems(grids, index_of, named | set(known)))
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        first = problems[0]
        raise InvalidInputError(
            f"{len(problems)} {noun} in the grids; first: feature {first['index']}: "
            f"{first['message']}",
            details=problems,
        )
    return grids


def _problem(index: int, code: str | None, field_name: str, message: str) -> dict:
    return {"index": index, "code": code, "field": field_name, "message": message}


def _read_properties(index: int, feature: Any) -> tuple[tuple | None, dict | None]:
    """(index, code, name, attributes, geometry object) of a feature, or its problem."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return None, _problem(index, None, "type", "expected a GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        return None, _problem(index, None, "properties", "properties must be an object")
    code = props.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if code is None or code == "":
        return None, _problem(index, None, "properties.code", "feature has no 'code'")
    code = code.strip() if isinstance(code, str) else code
    try:
        level = codes.level_of(code)
    except InvalidInputError as err:
        return None, _problem(index, None, "properties.code", str(err))
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        return None, _problem(index, code, "properties.name", "feature has no 'name' (a string)")
    mismatch = _declared_mismatch(code, level, props)
    if mismatch:
        return None, _problem(index, code, *mismatch)
    # null is absent: a GeoPackage or Shapefile has a column for every attribute of a layer
    attributes = {
        k: v
        for k, v in props.items()
        if k not in _RESERVED and k not in READ_ONLY and v is not None
    }
    return (index, code, name.strip(), attributes, feature.get("geometry")), None


def _declared_mismatch(code: str, level: str, props: dict) -> tuple[str, str] | None:
    declared = props.get("level")
    if declared is not None and declared != level:
        return "properties.level", f"level {declared!r} disagrees with code {code!r} ({level})"
    if "parent" in props and props["parent"] not in (None, ""):
        parent = str(props["parent"])
        if parent != codes.parent_of(code):
            return (
                "properties.parent",
                f"parent {parent!r} disagrees with code {code!r} "
                f"(its parent is {codes.parent_of(code)!r})",
            )
    return None


def _parent_problems(grids: list[Grid], index_of: dict[str, int], named: set) -> list[dict]:
    """Every grid's parent must be present, except at the coarsest level in the set.

    A parent refused for another reason is not reported again through its children.
    """
    if not grids:
        return []
    top = min(codes.LEVELS.index(g.level) for g in grids if g.level != "dedicated")
    problems = []
    for grid in grids:
        parent = grid.parent
        if parent is None or parent in index_of or parent in named:
            continue
        if grid.level != "dedicated" and codes.LEVELS.index(grid.level) == top:
            continue
        problems.append(
            _problem(
                index_of[grid.code],
                grid.code,
                "properties.code",
                (f"parent {parent!r} of {grid.level} {grid.code!r} is missing"),
            )
        )
    return problems


def grid_to_feature(grid: Grid, extra: dict | None = None, contacts: bool = True) -> dict:
    """A GeoJSON Feature for ``grid`` (``extra`` properties added).

    The one serializer of a grid: every surface calls it, with ``contacts`` from the
    access policy (phones and names of contacts masked when False).
    """
    props = {"code": grid.code, "name": grid.name, "level": grid.level, "parent": grid.parent}
    props.update(grid.attributes if contacts else mask_attributes(grid.attributes))
    props.update(extra or {})
    return {
        "type": "Feature",
        "id": grid.code,
        "properties": props,
        "geometry": grid.geometry.__geo_interface__,
    }
