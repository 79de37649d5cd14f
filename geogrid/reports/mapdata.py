"""Data for maps, prepared on the server: simplified per zoom, rounded, aggregated.

A district holds ~20,000 micro grids and ~100,000 events; a map gets coarse
levels whole, fine levels only for the visible area, and events as per-grid
aggregates and heat cells, never one object per record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
import shapely
import sqlalchemy as sa

from geogrid.cases.queries import EventFilter
from geogrid.cases.workflow import OPEN
from geogrid.coords import wgs84_to_gcj02
from geogrid.grid import Grid
from geogrid.privacy import mask_attributes
from geogrid.reports.filtered import late_at, selected
from geogrid.storage.schema import events
from geogrid.times import to_db_time, to_iso, utc

__all__ = [
    "DECIMALS",
    "feature_collection",
    "grid_event_counts",
    "heat_cells",
    "open_events",
    "simplify_tolerance",
]

DECIMALS = 6  # ~0.1 m: finer than any screen shows
_SHOWN = ("leader", "phone", "households", "kind")


def simplify_tolerance(zoom: int | None) -> float:
    """Half a screen pixel at ``zoom``, in degrees (0 = no simplification)."""
    return 0.0 if zoom is None else 360.0 / (256 * 2**zoom) / 2


def _to_crs(geoms: np.ndarray, crs: str) -> np.ndarray:
    def shift(xy):
        if crs == "gcj02":
            xy = np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
        return np.round(xy, DECIMALS)

    return shapely.transform(geoms, shift)


def feature_collection(
    grids: Sequence[Grid],
    zoom: int | None = None,
    extra: dict[str, dict] | None = None,
    crs: str = "wgs84",
    personal: Callable[[str], bool] | bool = False,
) -> dict:
    """Grids as a compact GeoJSON FeatureCollection for a map.

    Geometries simplified to half a pixel at ``zoom`` and rounded to 6 decimals,
    shifted to GCJ-02 for GCJ-02 base tiles; phones masked unless ``personal`` (a flag,
    or a function of the grid's code) allows them.
    """
    geoms = np.array([g.geometry for g in grids], dtype=object)
    tolerance = simplify_tolerance(zoom)
    if tolerance and len(geoms):
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    geoms = _to_crs(geoms, crs)
    extra = extra or {}
    features = []
    for grid, geom in zip(grids, geoms, strict=True):
        shown = {k: v for k, v in grid.attributes.items() if k in _SHOWN}
        props = {
            "code": grid.code,
            "name": grid.name,
            "level": grid.level,
            **(shown if _shows(personal, grid.code) else mask_attributes(shown)),
            **extra.get(grid.code, {}),
        }
        features.append(
            {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
        )
    return {"type": "FeatureCollection", "features": features}


def _shows(personal: Callable[[str], bool] | bool, code: str) -> bool:
    return personal(code) if callable(personal) else bool(personal)


def heat_cells(
    conn: sa.Connection,
    flt: EventFilter,
    now: datetime,
    cell_deg: float = 0.002,
    crs: str = "wgs84",
) -> list[list[float]]:
    """Events binned in square cells of ``cell_deg`` (~200 m): [lat, lon, count] per cell."""
    found = selected(conn, flt, now)
    if found is not None:  # the event columns: no rows read
        c, rows = found
        xy = np.column_stack([c.lon[rows], c.lat[rows]])
    else:
        query = sa.select(events.c.lon, events.c.lat).where(*flt.where(now))
        # plain tuples: numpy is slow at probing SQLAlchemy rows for attributes
        xy = np.array([tuple(r) for r in conn.execute(query)], dtype=float).reshape(-1, 2)
    if not len(xy):
        return []
    cells, counts = _unique_pairs(np.floor(xy / cell_deg).astype(np.int64))
    lon, lat = (cells[:, 0] + 0.5) * cell_deg, (cells[:, 1] + 0.5) * cell_deg
    if crs == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    return np.column_stack([np.round(lat, 5), np.round(lon, 5), counts]).tolist()


def _unique_pairs(pairs: np.ndarray, inverse: bool = False):
    """``np.unique(pairs, axis=0, return_counts=True)`` (and the inverse), on one int64 key.

    ``unique`` along an axis sorts rows as records, ten times slower than the
    integers made here, which sort in the same (lexicographic) order.
    """
    pairs = pairs.astype(np.int64).reshape(-1, 2)
    low = pairs.min(axis=0) if len(pairs) else np.zeros(2, dtype=np.int64)
    span = int(pairs[:, 1].max() - low[1] + 1) if len(pairs) else 1
    keys = (pairs[:, 0] - low[0]) * span + (pairs[:, 1] - low[1])
    _, first, where, counts = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    out = pairs[first], counts
    return (*out, where.ravel()) if inverse else out


def dissolved(geometries: Sequence, zoom: int, properties: dict, crs: str = "wgs84") -> dict:
    """Many adjacent grids as one (multi)polygon feature: far fewer vertices to ship."""
    features = []
    if len(geometries):
        union = shapely.union_all(np.asarray(geometries, dtype=object))
        union = _to_crs(
            np.array(
                [shapely.simplify(union, simplify_tolerance(zoom), preserve_topology=True)],
                dtype=object,
            ),
            crs,
        )[0]
        features.append(
            {
                "type": "Feature",
                "properties": properties,
                "geometry": shapely.geometry.mapping(union),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def grid_event_counts(
    conn: sa.Connection, flt: EventFilter, now: datetime, open_only: bool = True
) -> dict[str, dict]:
    """Per grid: events by status and how many are overdue."""
    found = selected(conn, flt, now)
    if found is None:
        return _grid_event_counts_sql(conn, flt, now, open_only)
    c, rows = found
    rows = rows[c.grid[rows] >= 0]
    if open_only:
        rows = rows[np.isin(c.status[rows], [c.word(s) for s in OPEN])]
    late = late_at(c, rows, now)
    pairs, n, where = _unique_pairs(np.column_stack([c.grid[rows], c.status[rows]]), inverse=True)
    overdue = np.bincount(where, weights=late, minlength=len(pairs))
    grids, statuses = (c.vocabulary[pairs[:, k]].tolist() for k in (0, 1))
    return _per_grid(sorted(zip(grids, statuses, n.tolist(), overdue.tolist(), strict=True)))


def _grid_event_counts_sql(
    conn: sa.Connection, flt: EventFilter, now: datetime, open_only: bool
) -> dict[str, dict]:
    """:func:`grid_event_counts` through SQL, for the filters the columns cannot answer."""
    late = sa.case(
        (sa.and_(events.c.status.in_(OPEN), events.c.stage_due_at < to_db_time(now)), 1), else_=0
    )
    query = (
        sa.select(events.c.grid, events.c.status, sa.func.count(), sa.func.sum(late))
        .where(*flt.where(now), events.c.grid.is_not(None))
        .group_by(events.c.grid, events.c.status)
        .order_by(events.c.grid, events.c.status)
    )
    if open_only:
        query = query.where(events.c.status.in_(OPEN))
    return _per_grid(conn.execute(query))


def _per_grid(counted) -> dict[str, dict]:
    """(grid, status, count, overdue) rows, by grid then status, as one dict per grid."""
    out: dict[str, dict] = {}
    for grid, status, n, overdue in counted:
        row = out.setdefault(grid, {"grid": grid, "open": 0, "overdue": 0, "by_status": {}})
        row["by_status"][status] = int(n)
        row["open"] += int(n)
        row["overdue"] += int(overdue or 0)
    for row in out.values():
        row["status"] = max(row["by_status"], key=row["by_status"].get)
    return out


def open_events(
    conn: sa.Connection,
    flt: EventFilter,
    now: datetime,
    bbox_wgs84: tuple[float, float, float, float],
    limit: int = 3000,
    crs: str = "wgs84",
    descriptions: bool = False,
) -> list[dict]:
    """Open events in a bounding box (newest first, at most ``limit``), as small dicts."""
    x0, y0, x1, y1 = bbox_wgs84
    query = (
        sa.select(
            events.c.id,
            events.c.lon,
            events.c.lat,
            events.c.status,
            events.c.category,
            events.c.grid,
            events.c.reported_at,
            events.c.stage_due_at,
            events.c.description,
        )
        .where(*flt.where(now), events.c.lon.between(x0, x1), events.c.lat.between(y0, y1))
        .order_by(events.c.reported_at.desc())
        .limit(limit)
    )
    if not flt.status:
        query = query.where(events.c.status.in_(OPEN))
    rows = conn.execute(query).all()
    lon = np.array([r.lon for r in rows])
    lat = np.array([r.lat for r in rows])
    if crs == "gcj02" and rows:
        lon, lat = wgs84_to_gcj02(lon, lat)
    return [
        {
            "id": r.id,
            "lon": round(float(lon[i]), DECIMALS),
            "lat": round(float(lat[i]), DECIMALS),
            "status": r.status,
            "category": r.category,
            "grid": r.grid,
            "reported_at": to_iso(r.reported_at),
            "overdue": bool(
                r.status in OPEN and r.stage_due_at is not None and utc(r.stage_due_at) < now
            ),
            "description": r.description if descriptions else None,
        }
        for i, r in enumerate(rows)
    ]
