"""Exports for editing: the active generation's grids, whole, for QGIS and back.

What the GIS staff take out to redraw and upload again: every attribute as
stored (phones unmasked: admins only), codes as text, coordinates as stored
(no rounding), and the generation the file was taken from, so that an upload
against a newer generation is flagged as stale (:mod:`geogrid.boundaries.stale`).

- GeoJSON: one FeatureCollection, each feature with its ``level`` (and
  ``parent``, checked on the way back), the generation in a top-level
  ``geogrid`` member;
- GeoPackage: one layer per level, each with a ``layer_styles`` entry so that
  QGIS opens it styled and labelled by code, the generation in the file's
  metadata (``geogrid_generation``).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime

from geogrid import codes
from geogrid.boundaries.grids import grid_to_feature
from geogrid.errors import NotFoundError
from geogrid.grid import Grid
from geogrid.storage.store import Store

__all__ = ["edit_geojson", "edit_gpkg", "grids_for_edit"]

# outline colours per level (R,G,B), darker for coarser levels
_COLOURS = {
    "district": "20,20,20",
    "street": "51,51,51",
    "community": "85,85,85",
    "grid": "31,95,160",
    "micro": "65,171,93",
    "dedicated": "123,50,148",
}


def grids_for_edit(store: Store, scope: str | None = None) -> tuple[int, list[Grid]]:
    """The active generation and its grids under ``scope`` (the scope's own grid included)."""
    generation = store.active_generation()
    if generation is None:
        raise NotFoundError("no grids imported yet")
    if scope is not None:
        codes.validate_code(scope)
    grids = [g for g in store.load_grids(generation) if scope is None or g.code.startswith(scope)]
    if not grids:
        raise NotFoundError(f"no grid with code {scope!r} in the active generation")
    return generation, grids


def edit_geojson(store: Store, scope: str | None = None) -> dict:
    """The grids under ``scope`` as one FeatureCollection, ready to edit and upload again."""
    generation, grids = grids_for_edit(store, scope)
    return {
        "type": "FeatureCollection",
        "geogrid": {
            "generation": generation,
            "scope": scope,
            "exported_at": datetime.now(UTC).isoformat(),
        },
        "features": [grid_to_feature(g) for g in grids],
    }


def edit_gpkg(store: Store, path: str | os.PathLike, scope: str | None = None) -> dict[str, int]:
    """The grids under ``scope`` as a GeoPackage, a styled layer per level; counts per layer."""
    import geopandas as gpd
    import pyogrio

    generation, grids = grids_for_edit(store, scope)
    counts: dict[str, int] = {}
    for level in codes.LEVELS:
        these = [g for g in grids if g.level == level]
        if not these:
            continue
        keys = sorted({k for g in these for k in g.attributes})
        rows = [
            {"code": g.code, "name": g.name, "level": level, "parent": g.parent or ""}
            | {k: g.attributes.get(k) for k in keys}
            for g in these
        ]
        frame = gpd.GeoDataFrame(rows, geometry=[g.geometry for g in these], crs=4326)
        pyogrio.write_dataframe(
            frame,
            path,
            layer=level,
            driver="GPKG",
            append=bool(counts),
            dataset_metadata=None if counts else {"geogrid_generation": str(generation)},
        )
        counts[level] = len(these)
    _styles(path, list(counts))
    return counts


def _qml(level: str) -> str:
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="Symbology|Labeling">
 <renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0">
  <symbols>
   <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" pass="0" locked="0">
     <Option type="Map">
      <Option name="color" type="QString" value="255,255,255,0"/>
      <Option name="style" type="QString" value="no"/>
      <Option name="outline_color" type="QString" value="{_COLOURS[level]},255"/>
      <Option name="outline_width" type="QString" value="{0.9 if level != "micro" else 0.4}"/>
     </Option>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
 <labeling type="simple">
  <settings calloutType="simple">
   <text-style fieldName="code" fontSize="8" textColor="{_COLOURS[level]},255"/>
   <placement placement="1"/>
  </settings>
 </labeling>
</qgis>
"""


def _styles(path: str | os.PathLike, layers: list[str]) -> None:
    """QGIS's ``layer_styles`` table: one default style per layer, labelled by code."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME)"
        )
        geometry = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        db.executemany(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
            "update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'geogrid', "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            [
                (layer, geometry[layer], layer, _qml(layer), f"geogrid {layer}: labelled by code")
                for layer in layers
            ],
        )
        db.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', '', "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
        )
