"""Reading uploaded boundary files: GeoJSON, GeoPackage, zipped Shapefile — within limits.

Files other than GeoJSON are read with pyogrio and reprojected from their own
CRS (district data often comes in CGCS2000 Gauss-Krüger, EPSG:4547) to lon/lat.
A zip is checked for path traversal, entry count and unpacked size before
anything is extracted. Every refusal names the limit or the problem.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyproj

from geogrid.errors import InvalidCRSError, InvalidInputError
from geogrid.io import load_json

__all__ = ["SUFFIXES", "Limits", "read_features", "source_generation"]

SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
_LONLAT = {
    "EPSG:4326",
    "EPSG:4490",
    "OGC:CRS84",
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:EPSG::4326",
    "urn:ogc:def:crs:EPSG::4490",
}


@dataclass(frozen=True)
class Limits:
    """What one upload may hold."""

    max_bytes: int = 50 * 1024 * 1024
    max_features: int = 100_000
    max_vertices: int = 5_000_000
    max_zip_entries: int = 50
    max_unzipped_bytes: int = 500 * 1024 * 1024


def _refuse(message: str) -> InvalidInputError:
    return InvalidInputError(message, details=[{"field": "file", "message": message}])


def read_features(path: str | os.PathLike, filename: str, limits: Limits = Limits()) -> list:
    """GeoJSON-like feature dicts (lon/lat) from an uploaded file called ``filename``."""
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise _refuse(f"the file is {size:,} bytes; the limit is {limits.max_bytes:,}")
    suffix = Path(filename).suffix.lower()
    if suffix in (".geojson", ".json"):
        features = _geojson(path)
    elif suffix == ".gpkg":
        features = _ogr(path)
    elif suffix == ".zip":
        features = _zipped_shapefile(path, limits)
    else:
        raise _refuse(f"expected one of {', '.join(SUFFIXES)}, got {filename!r}")
    if len(features) > limits.max_features:
        raise _refuse(f"{len(features):,} features; the limit is {limits.max_features:,}")
    vertices = sum(
        _count_vertices(index, f.get("geometry") if isinstance(f, dict) else None)
        for index, f in enumerate(features)
    )
    if vertices > limits.max_vertices:
        raise _refuse(f"{vertices:,} vertices; the limit is {limits.max_vertices:,}")
    return features


_MAX_DEPTH = 4  # a MultiPolygon's coordinates: polygons, rings, positions, numbers


def _count_vertices(index: int, geometry) -> int:
    """Positions in a GeoJSON geometry, refusing nesting no geometry type has."""
    if not isinstance(geometry, dict):
        return 0
    count, level = 0, [(geometry.get("coordinates") or [], 1)]
    while level:
        coords, depth = level.pop()
        if not isinstance(coords, list | tuple):
            continue
        if coords and isinstance(coords[0], int | float) and not isinstance(coords[0], bool):
            count += 1
            continue
        if depth >= _MAX_DEPTH:
            message = f"coordinates nested deeper than a MultiPolygon's ({_MAX_DEPTH} levels)"
            raise InvalidInputError(
                f"feature {index}: {message}", details=[{"index": index, "message": message}]
            )
        level.extend((c, depth + 1) for c in coords)
    return count


def _geojson(path: Path) -> list:
    data = load_json(path)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise _refuse(f"expected a GeoJSON FeatureCollection, got {kind!r}")
    crs = data.get("crs")
    if crs is not None:
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
        if not isinstance(name, str):
            raise InvalidCRSError(
                'crs: expected {"type": "name", "properties": {"name": "..."}}, '
                f"got {json.dumps(crs)[:80]}",
                details=[{"field": "crs", "message": "expected a named crs object"}],
            )
        crs = name
    if crs is not None and crs not in _LONLAT:
        raise InvalidCRSError(
            f"crs {crs!r}: GeoJSON must be lon/lat (RFC 7946); upload a GeoPackage or "
            "Shapefile to have it reprojected",
            details=[{"field": "crs", "message": crs}],
        )
    features = data.get("features")
    if not isinstance(features, list):
        raise _refuse("FeatureCollection.features must be an array")
    if not features:
        raise _refuse("FeatureCollection has no features")
    return features


def _ogr(path: Path) -> list:
    """The features of every layer of ``path`` (a GeoPackage holds one layer per level)."""
    import pyogrio

    try:
        layers = [
            name
            for name, kind in pyogrio.list_layers(path)
            if kind is not None and name != "layer_styles"  # QGIS's styles: no features
        ]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise _refuse(f"cannot read {path.name}: {err}") from err
    features: list = []
    for layer in layers or [None]:
        features.extend(_ogr_layer(path, layer))
    if not features:
        raise _refuse(f"{path.name} has no features")
    return features


def _ogr_layer(path: Path, layer: str | None) -> list:
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise _refuse(f"cannot read {path.name}: {err}") from err
    if frame.crs is None:
        raise InvalidCRSError(
            f"{path.name} has no coordinate reference system (.prj missing?)",
            details=[{"field": "crs", "message": "missing"}],
        )
    try:
        frame = frame.to_crs(4326)
    except pyproj.exceptions.CRSError as err:
        raise InvalidCRSError(f"cannot reproject from {frame.crs}: {err}") from err
    if frame.empty:
        return []
    collection = frame.to_geo_dict(drop_id=True)
    for feature in collection["features"]:
        props = feature["properties"]
        for key, value in props.items():  # an empty cell of a number column reads as NaN
            if isinstance(value, float) and value != value:
                props[key] = None
        for key in ("code", "parent"):
            value = props.get(key)
            if isinstance(value, float):
                props[key] = _code_from_float(key, value, feature)
    return collection["features"]


def _code_from_float(key: str, value: float, feature: dict) -> str:
    """A code a GIS stored as a number: exact below 2**53, else refused (it lost digits)."""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    message = (
        f"{key} is stored as a floating-point number ({value!r}), which cannot hold every "
        "digit of a 17-digit code; store codes as text (a string field) and export again"
    )
    raise InvalidInputError(message, details=[{"field": key, "message": message}])


def _zipped_shapefile(path: Path, limits: Limits) -> list:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise _refuse(f"not a zip file: {err}") from err
    with archive, tempfile.TemporaryDirectory() as tmp:
        entries = archive.infolist()
        if len(entries) > limits.max_zip_entries:
            raise _refuse(
                f"the zip holds {len(entries)} entries; the limit is {limits.max_zip_entries}"
            )
        total = sum(e.file_size for e in entries)
        if total > limits.max_unzipped_bytes:
            raise _refuse(
                f"the zip unpacks to {total:,} bytes; the limit is {limits.max_unzipped_bytes:,}"
            )
        for entry in entries:
            name = PurePosixPath(entry.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or ":" in entry.filename:
                raise _refuse(f"unsafe path in the zip: {entry.filename!r}")
        shapefiles = sorted(e.filename for e in entries if e.filename.lower().endswith(".shp"))
        if not shapefiles:
            raise _refuse("the zip holds no .shp")
        try:
            archive.extractall(tmp)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise _refuse(f"the zip is damaged: {err}") from err
        # one .shp per level, as ogr2ogr or QGIS writes a GeoPackage's layers
        return [f for name in shapefiles for f in _ogr(Path(tmp) / name)]


def _gpkg_generation(path: Path) -> str | None:
    import pyogrio

    try:
        layers = [name for name, kind in pyogrio.list_layers(path) if kind is not None]
        info = pyogrio.read_info(path, layer=layers[0]) if layers else {}
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return None
    for metadata in (info.get("dataset_metadata"), info.get("layer_metadata")):
        if metadata and "geogrid_generation" in metadata:
            return metadata["geogrid_generation"]
    return None


def source_generation(path: str | os.PathLike, filename: str, features: list) -> int | None:
    """The generation an exported file came from, if it says (see :mod:`.export`).

    A GeoJSON export's top-level ``geogrid`` member or a GeoPackage's metadata
    (``geogrid_generation``); else the ``generation`` property its features
    carry (the API's exports), when they agree.
    """
    suffix = Path(filename).suffix.lower()
    found = None
    if suffix in (".geojson", ".json"):
        data = load_json(path)
        member = data.get("geogrid") if isinstance(data, dict) else None
        found = member.get("generation") if isinstance(member, dict) else None
    elif suffix == ".gpkg":
        found = _gpkg_generation(Path(path))
    if found is None:
        stated = {
            f["properties"].get("generation")
            for f in features
            if isinstance(f, dict) and isinstance(f.get("properties"), dict)
        }
        found = stated.pop() if len(stated) == 1 else None
    try:
        return int(found) if found is not None else None
    except (TypeError, ValueError):
        return None
