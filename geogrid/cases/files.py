"""Reading events from CSV or GeoJSON files for intake, each row with its line or index.

A row's ``id`` becomes its idempotency key (``<file name>:<id>``), so importing
the same file twice stores nothing twice.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from geogrid.cases.validate import FIELDS
from geogrid.errors import InvalidInputError
from geogrid.io import load_json

__all__ = ["read_event_rows"]


def _csv_rows(path: Path, crs: str | None) -> Iterator[tuple[str, dict]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            raise InvalidInputError(f"{path}: file is empty; expected a CSV header line")
        for needed in ("lon", "lat", "category"):
            if needed not in reader.fieldnames:
                raise InvalidInputError(f"{path}: line 1: no {needed!r} column")
        for row in reader:
            item = {k: v for k, v in row.items() if k in FIELDS and v not in (None, "")}
            if crs and "crs" not in item:
                item["crs"] = crs
            if row.get("id"):
                item["idempotency_key"] = f"{path.name}:{row['id']}"
            yield f"line {reader.line_num}", item


def _geojson_rows(path: Path, crs: str | None) -> Iterator[tuple[str, dict]]:
    data = load_json(path)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidInputError(f"{path}: expected a GeoJSON FeatureCollection of points")
    for index, feature in enumerate(data.get("features") or []):
        geometry = (feature or {}).get("geometry") or {}
        props = dict((feature or {}).get("properties") or {})
        if geometry.get("type") == "Point" and len(geometry.get("coordinates") or []) >= 2:
            props["lon"], props["lat"] = geometry["coordinates"][:2]
        item = {k: v for k, v in props.items() if k in FIELDS}
        if crs and "crs" not in item:
            item["crs"] = crs
        if props.get("id") is not None or feature.get("id") is not None:
            item["idempotency_key"] = f"{path.name}:{props.get('id', feature.get('id'))}"
        yield f"feature {index}", item


def read_event_rows(path: str | os.PathLike, crs: str | None = None):
    """(where, item) pairs from a ``.csv`` (``.csv.gz`` too) or ``.geojson`` file."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".geojson", ".json", ".geojson.gz")):
        return _geojson_rows(path, crs)
    if name.endswith(".csv.gz"):
        return _gz_csv_rows(path, crs)
    if name.endswith(".csv"):
        return _csv_rows(path, crs)
    raise InvalidInputError(f"{path}: expected a .csv or .geojson file")


def _gz_csv_rows(path: Path, crs: str | None) -> Iterator[tuple[str, dict]]:
    import gzip
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / path.name[: -len(".gz")]
        plain.write_bytes(gzip.decompress(path.read_bytes()))
        yield from _csv_rows(plain, crs)
