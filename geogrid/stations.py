"""Service stations: cooling stations (清凉驿站), day-care centres, grid homes.

Read from GeoJSON points or CSV (``lon``/``lat`` columns), validated per
feature or line; stored whole (an import replaces the stations of the kinds it
holds); nearest station and walking-distance coverage computed in metres.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyproj
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from geogrid.coords import lonlat_problem, metric_transformer
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.io import load_json
from geogrid.parse import text_problem
from geogrid.storage.schema import stations as stations_table
from geogrid.storage.store import Store

__all__ = [
    "DEFAULT_WALK_M",
    "KINDS",
    "Station",
    "import_stations",
    "load_stations",
    "nearest_station",
    "read_stations",
    "station_feature",
    "uncovered",
]

KINDS = ("cooling", "daycare", "grid_home")
DEFAULT_WALK_M = 500.0
_GEOD = pyproj.Geod(ellps="WGS84")
_TEXT = ("name", "address", "season", "hours", "contact")


@dataclass(frozen=True)
class Station:
    """One station, WGS-84."""

    kind: str
    name: str
    lon: float
    lat: float
    address: str = ""
    season: str | None = None
    hours: str | None = None
    capacity: int | None = None
    amenities: list = field(default_factory=list)
    contact: str | None = None
    attributes: dict = field(default_factory=dict)
    id: int | None = None

    def as_dict(self) -> dict:
        """The station as a dict of its fields."""
        return asdict(self)


def _station(props: dict, lon: object, lat: object) -> Station:
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValueError(f"lon/lat must be numbers, got {lon!r}, {lat!r}") from None
    problem = lonlat_problem(x, y)
    if problem:
        raise ValueError(problem)
    kind = props.get("kind") or "cooling"
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a station needs a 'name'")
    capacity = props.get("capacity")
    if capacity not in (None, ""):
        try:
            capacity = int(capacity)
        except (TypeError, ValueError):
            raise ValueError(f"capacity must be a whole number, got {capacity!r}") from None
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
    amenities = props.get("amenities") or []
    if isinstance(amenities, str):
        amenities = [a.strip() for a in amenities.replace("，", ",").split(",") if a.strip()]
    texts = {k: (str(props[k]) if props.get(k) not in (None, "") else None) for k in _TEXT}
    known = {*_TEXT, "kind", "capacity", "amenities", "lon", "lat"}
    return Station(
        kind=kind,
        name=name.strip(),
        lon=x,
        lat=y,
        address=texts["address"] or "",
        season=texts["season"],
        hours=texts["hours"],
        capacity=None if capacity in (None, "") else capacity,
        amenities=list(amenities),
        contact=texts["contact"],
        attributes={k: v for k, v in props.items() if k not in known},
    )


def read_stations(path: str | os.PathLike) -> list[Station]:
    """Stations from a GeoJSON FeatureCollection of points or a CSV; every problem named."""
    path = Path(path)
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _geojson_rows(path)
    out, problems = [], []
    for where, props, lon, lat in rows:
        try:
            if props is None:
                raise ValueError(f"geometry must be a Point, got {lon!r}")
            out.append(_station(props, lon, lat))
        except ValueError as err:
            problems.append({"where": where, "message": str(err)})
    if problems:
        first = problems[0]
        raise InvalidInputError(
            f"{len(problems)} bad stations; first: {first['where']}: {first['message']}",
            details=problems,
        )
    if not out:
        raise InvalidInputError(f"{path}: no stations")
    return out


def _geojson_rows(path: Path):
    data = load_json(path)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidInputError(f"{path}: expected a GeoJSON FeatureCollection of points")
    for index, feature in enumerate(data.get("features") or []):
        geometry = (feature or {}).get("geometry") or {}
        if geometry.get("type") != "Point":
            yield f"feature {index}", None, geometry.get("type"), None
            continue
        coords = (geometry.get("coordinates") or [None, None]) + [None, None]
        yield f"feature {index}", dict(feature.get("properties") or {}), coords[0], coords[1]


def _csv_rows(path: Path):
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InvalidInputError(
            f"{path.name}: line {line}: not UTF-8 text (byte {err.start}); save the CSV as UTF-8",
            details=[{"line": line, "message": "not UTF-8 text"}],
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for needed in ("lon", "lat", "name"):
        if needed not in (reader.fieldnames or []):
            raise InvalidInputError(f"{path.name}: line 1: no {needed!r} column")
    for row in reader:
        for key, value in row.items():
            problem = text_problem(value) if isinstance(value, str) else None
            if problem:
                raise InvalidInputError(f"{path.name}: line {reader.line_num}: {key}: {problem}")
        yield f"line {reader.line_num}", row, row.get("lon"), row.get("lat")


def station_feature(station: Station, distance_m: float | None = None) -> dict:
    """A station as a GeoJSON point Feature (with ``distance_m`` when given): its one serializer."""
    props = {k: v for k, v in station.as_dict().items() if k not in ("lon", "lat")}
    if distance_m is not None:
        props["distance_m"] = round(distance_m, 1)
    return {
        "type": "Feature",
        "id": station.id,
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [station.lon, station.lat]},
    }


def import_stations(store: Store, stations: list[Station]) -> int:
    """Replace the stored stations of the kinds in ``stations``; one transaction."""
    kinds = sorted({s.kind for s in stations})
    with store.write() as conn:
        conn.execute(sa.delete(stations_table).where(stations_table.c.kind.in_(kinds)))
        conn.execute(
            sa.insert(stations_table),
            [{k: v for k, v in s.as_dict().items() if k != "id"} for s in stations],
        )
    return len(stations)


def load_stations(store: Store, kind: str | None = None) -> list[Station]:
    """The stored stations, by id."""
    query = sa.select(stations_table).order_by(stations_table.c.id)
    if kind is not None:
        query = query.where(stations_table.c.kind == kind)
    with store.engine.connect() as conn:
        return [
            Station(
                **{
                    k: getattr(r, k)
                    for k in (
                        "id",
                        "kind",
                        "name",
                        "lon",
                        "lat",
                        "address",
                        "season",
                        "hours",
                        "capacity",
                        "amenities",
                        "contact",
                        "attributes",
                    )
                }
            )
            for r in conn.execute(query)
        ]


def nearest_station(stations: list[Station], lon: float, lat: float) -> tuple[Station, float]:
    """The nearest station to WGS-84 lon/lat and its geodesic distance in metres."""
    if not stations:
        raise NotFoundError("no stations stored yet")
    n = len(stations)
    _, _, metres = _GEOD.inv(
        np.full(n, lon),
        np.full(n, lat),
        np.array([s.lon for s in stations]),
        np.array([s.lat for s in stations]),
    )
    best = int(np.argmin(metres))
    return stations[best], float(metres[best])


def uncovered(
    geometries: list[BaseGeometry], stations: list[Station], walk_m: float = DEFAULT_WALK_M
) -> np.ndarray:
    """True for each grid farther than ``walk_m`` from every station.

    A grid's distance is its representative point's, in the UTM zone of the data.
    """
    if not geometries:
        return np.zeros(0, dtype=bool)
    if not stations:
        return np.ones(len(geometries), dtype=bool)
    points = shapely.point_on_surface(np.asarray(geometries, dtype=object))
    xy = shapely.get_coordinates(points)
    forward = metric_transformer(points)
    gx, gy = forward.transform(xy[:, 0], xy[:, 1])
    sx, sy = forward.transform([s.lon for s in stations], [s.lat for s in stations])
    tree = shapely.STRtree(shapely.points(sx, sy))
    _, distance = tree.query_nearest(
        shapely.points(gx, gy), return_distance=True, all_matches=False
    )
    return distance > walk_m
