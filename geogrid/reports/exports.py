"""Exports: one GeoPackage of every layer (QGIS opens it as is) and a per-grid Excel report.

Both are written from the active generation. Reporter names and phones go into
the GeoPackage only when asked for (``personal``).
"""

from __future__ import annotations

import os
from datetime import datetime

import geopandas as gpd
import pandas as pd
import shapely

from geogrid.cases.categories import Category
from geogrid.cases.contacts import grid_contacts, with_contacts
from geogrid.cases.workflow import STATUSES
from geogrid.privacy import mask_attributes
from geogrid.reports.metrics import closure, frame_of
from geogrid.stations import load_stations
from geogrid.storage.schema import events
from geogrid.storage.store import Store

__all__ = ["LAYERS", "export_gpkg", "export_xlsx"]

LAYERS = {
    "street": "streets",
    "community": "communities",
    "grid": "grids",
    "micro": "micro_grids",
    "dedicated": "dedicated_grids",
}
_SHEETS = {"street": "街道 streets", "community": "社区 communities", "grid": "网格 grids"}


def _grid_frame(grids, generation: int, personal: bool) -> gpd.GeoDataFrame:
    rows = [
        {
            "code": g.code,
            "name": g.name,
            "parent": g.parent,
            "generation": generation,
            **{
                k: (", ".join(map(str, v)) if isinstance(v, list) else v)
                for k, v in (g.attributes if personal else mask_attributes(g.attributes)).items()
            },
        }
        for g in grids
    ]
    return gpd.GeoDataFrame(rows, geometry=[g.geometry for g in grids], crs=4326)


def export_gpkg(store: Store, path: str | os.PathLike, personal: bool = False) -> dict:
    """Write every grid level, the events and the stations as layers; counts per layer."""
    generation = store.active_generation()
    with store.engine.connect() as conn:  # who serves a grid: the roster's word
        everything = with_contacts(store.load_grids(generation), grid_contacts(conn))
    counts = {}
    for level, layer in LAYERS.items():
        grids = [g for g in everything if g.level == level]
        if grids:
            _grid_frame(grids, generation, personal).to_file(path, layer=layer, driver="GPKG")
            counts[layer] = len(grids)
    columns = [c for c in events.c if personal or c.name not in ("reporter_name", "reporter_phone")]
    with store.engine.connect() as conn:
        frame = pd.DataFrame.from_records(
            [tuple(r) for r in conn.execute(events.select().with_only_columns(*columns))],
            columns=[c.name for c in columns],
        )
    if len(frame):
        for column in (
            "created_at",
            "reported_at",
            "status_at",
            "stage_due_at",
            "close_due_at",
            "closed_at",
        ):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        points = gpd.GeoDataFrame(
            frame, geometry=gpd.points_from_xy(frame.lon, frame.lat), crs=4326
        )
        points.to_file(path, layer="events", driver="GPKG")
        counts["events"] = len(points)
    stations = load_stations(store)
    if stations:
        table = pd.DataFrame(
            [
                {**s.as_dict(), "amenities": "、".join(s.amenities), "attributes": None}
                for s in stations
            ]
        ).drop(columns=["attributes"])
        gpd.GeoDataFrame(table, geometry=shapely.points(table.lon, table.lat), crs=4326).to_file(
            path, layer="stations", driver="GPKG"
        )
        counts["stations"] = len(stations)
    return counts


def _unit_rows(
    frame: pd.DataFrame, level: str, names: dict, categories: dict[str, Category], start, end
) -> pd.DataFrame:
    rows = []
    for unit, part in frame.dropna(subset=[level]).groupby(level, sort=True):
        reported = part[(part.reported_at >= start) & (part.reported_at < end)]
        row = {"编码 code": unit, "名称 name": names.get(unit, ""), "上报 reported": len(reported)}
        for code, category in categories.items():
            row[f"{category.name} {code}"] = int((reported.category == code).sum())
        for status in STATUSES:
            row[status] = int((reported.status == status).sum())
        c = closure(part, start, end)
        row.update(
            {
                "应结案 due": c["due"],
                "结案 closed": c["closed"],
                "按期结案 on time": c["closed_on_time"],
                "结案率 % closure": c["closure_rate"],
                "按期结案率 % on time": c["on_time_rate"],
                "结案用时中位数 h median to close": c["median_hours_to_close"],
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def export_xlsx(
    store: Store,
    path: str | os.PathLike,
    categories: dict[str, Category],
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict:
    """The per-grid Excel report; returns the rows written per sheet.

    A sheet per level (street, community, grid): counts by category and status,
    closure and on-time rates, median time to close.
    """
    names = {g.code: g.name for g in store.load_grids()}
    with store.engine.connect() as conn:
        frame = frame_of(conn, None)
    start = pd.Timestamp(start) if start else pd.Timestamp.min.tz_localize("UTC")
    end = pd.Timestamp(end) if end else pd.Timestamp(now) + pd.Timedelta(1, "us")
    counts = {}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for level, sheet in _SHEETS.items():
            table = _unit_rows(frame, level, names, categories, start, end)
            table.to_excel(writer, sheet_name=sheet, index=False)
            counts[sheet] = len(table)
    return counts
