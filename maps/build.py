"""The command center map: every layer, local assets, configurable base tiles.

The caller prepares the data (see :mod:`geogrid.reports.mapdata`): coarse levels and
aggregates embedded, fine levels fetched by bounding box when zoomed in.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import folium
import numpy as np
from folium.plugins import HeatMap

from maps.assets import helper_element, inline_assets, use_local_assets
from maps.layers import DataLayer, FetchOnceLayer, LazyEventsLayer, LazyGridLayer, ReadySignal
from maps.text import labels

__all__ = ["TILES", "MapSpec", "build_map", "standalone_html"]

TILES = ("none", "osm", "tianditu", "amap")  # and "mbtiles" where a file is configured
_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
    "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="
)
_MAX_ZOOM = 19  # the map's deepest zoom
_HOT = {"hot99": "#b2182b", "hot95": "#ef8a62", "cold95": "#67a9cf", "cold99": "#2166ac"}
# emerging categories: reds for hot (darker: stronger or growing), blues for cold
_EMERGING = {
    **dict.fromkeys(("intensifying_hot", "persistent_hot", "consecutive_hot"), "#b2182b"),
    **dict.fromkeys(("new_hot", "sporadic_hot", "oscillating_hot"), "#ef8a62"),
    **dict.fromkeys(("diminishing_hot", "historical_hot"), "#fddbc7"),
    **dict.fromkeys(("intensifying_cold", "persistent_cold", "consecutive_cold"), "#2166ac"),
    **dict.fromkeys(("new_cold", "sporadic_cold", "oscillating_cold"), "#67a9cf"),
    **dict.fromkeys(("diminishing_cold", "historical_cold"), "#d1e5f0"),
}


@dataclass
class MapSpec:
    """What goes on the map; coordinates already in the tiles' CRS (GCJ-02 for Amap)."""

    bounds: tuple[float, float, float, float]
    lang: str = "zh"
    tiles: str = "none"
    tianditu_key: str | None = None
    # tiles="mbtiles": {"url": "/tiles/{z}/{x}/{y}", "minzoom", "maxzoom", "bounds", "attribution"}
    mbtiles: dict | None = None
    asset_base: str = "/static/vendor"
    streets: dict | None = None
    communities: dict | None = None
    dedicated: dict | None = None
    hot: dict | None = None
    uncovered: dict | None = None
    grids: dict | None = None  # embedded (standalone); else fetched from grids_url
    grid_events: list = field(default_factory=list)
    heat: list = field(default_factory=list)
    stations: list = field(default_factory=list)
    walk_m: float = 500.0
    grids_url: str | None = None
    events_url: str | None = None
    emerging_url: str | None = None  # GeoJSON of the emerging hot spots, fetched when shown
    query: str = ""
    categories: dict = field(default_factory=dict)


def _tiles(m: folium.Map, spec: MapSpec) -> None:
    if spec.tiles == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=False).add_to(m)
    elif spec.tiles == "tianditu":
        for layer in ("vec", "cva"):
            folium.TileLayer(
                _TIANDITU.replace("{layer}", layer) + (spec.tianditu_key or ""),
                attr="天地图",
                subdomains="01234567",
                name=layer,
                control=False,
            ).add_to(m)
    elif spec.tiles == "amap":
        folium.TileLayer(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1"
            "&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="高德地图",
            subdomains="1234",
            name="amap",
            control=False,
        ).add_to(m)
    elif spec.tiles == "mbtiles":
        _mbtiles(m, spec.mbtiles)
    elif spec.tiles != "none":
        raise ValueError(f"tiles must be one of {', '.join(TILES)}, got {spec.tiles!r}")


def _mbtiles(m: folium.Map, source: dict | None) -> None:
    """The app's own tiles from an MBTiles file, scaled up past the file's deepest zoom."""
    if not source:
        raise ValueError("tiles 'mbtiles' needs spec.mbtiles: the tiles' url and zooms")
    x0, y0, x1, y1 = source["bounds"]
    folium.TileLayer(
        source["url"],
        # Leaflet writes the attribution as HTML: the file's text goes in as text
        attr=html.escape(source.get("attribution") or "MBTiles"),
        min_zoom=source["minzoom"],
        max_native_zoom=source["maxzoom"],
        max_zoom=_MAX_ZOOM,
        bounds=[[y0, x0], [y1, x1]],  # no requests for tiles the file cannot have
        name="mbtiles",
        control=False,
    ).add_to(m)


#: open cases per grid, from none (near white) to many (dark red)
_SHADES = ["#f7f4f0", "#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]


def choropleth(rows: list[dict], title: str) -> dict:
    """Classes of open cases per grid: none, then from the 50th, 80th and 95th percentiles.

    >>> c = choropleth([{"grid": str(n), "open": n} for n in (1, 2, 3, 4, 9)], "open")
    >>> c["breaks"], c["labels"]
    ([1, 3, 4], ['0', '1–2', '3', '≥ 4'])
    """
    counts = {r["grid"]: r["open"] for r in rows if r["open"]}
    breaks = [1]
    if counts:
        values = np.array(sorted(counts.values()))
        for q in (0.5, 0.8, 0.95):
            edge = int(np.quantile(values, q, method="lower"))  # a count some grid has
            if edge > breaks[-1]:
                breaks.append(edge)
    names = ["0"]
    for lo, hi in itertools.pairwise(breaks):
        names.append(str(lo) if hi - 1 == lo else f"{lo}–{hi - 1}")
    names.append(f"≥ {breaks[-1]}")
    colors = [_SHADES[0], *_SHADES[len(_SHADES) - len(breaks) :]]
    return {"counts": counts, "breaks": breaks, "labels": names, "colors": colors, "title": title}


def _style(color: str, weight: float, fill: float = 0.0, **extra) -> dict:
    return {"color": color, "weight": weight, "fillOpacity": fill, "fillColor": color, **extra}


def _new_map(spec: MapSpec) -> folium.Map:
    """An empty map centred on ``spec.bounds``: local assets, helper script, base tiles."""
    x0, y0, x1, y1 = spec.bounds
    m = folium.Map(
        location=[(y0 + y1) / 2, (x0 + x1) / 2],
        zoom_start=12,
        tiles=None,
        prefer_canvas=True,
        # map options, not tile options: Leaflet.markercluster needs a maxZoom with no tiles
        min_zoom=8,
        max_zoom=_MAX_ZOOM,
        maxZoom=_MAX_ZOOM,
        minZoom=8,
        control_scale=True,
    )
    use_local_assets(m, spec.asset_base, "leaflet")
    m.get_root().header.add_child(helper_element(), name="geogrid_helper")
    _tiles(m, spec)
    return m


def _lazy_grids(m: folium.Map, spec: MapSpec, tip: dict, words: dict) -> None:
    """The grid and micro grid layers, fetched from ``spec.grids_url`` when zoomed in."""
    for level, key, min_zoom, style in (
        ("grid", "layer_grids", 14, _style("#888888", 0.8)),
        ("micro", "layer_micro", 16, _style("#41ab5d", 0.6, 0.08)),
    ):
        LazyGridLayer(
            {
                **tip,
                "url": spec.grids_url,
                "level": level,
                "minZoom": min_zoom,
                "query": spec.query,
                "style": style,
                "uncoveredStyle": {"fillColor": "#fdae61", "fillOpacity": 0.35},
            },
            words[key],
        ).add_to(m)


def _heat(m: folium.Map, spec: MapSpec, words: dict) -> None:
    """The event heat map layer, hidden at first."""
    heat = HeatMap(
        spec.heat,
        name=words["layer_heat"],
        radius=14,
        blur=18,
        min_opacity=0.3,
        max_zoom=16,
        show=False,
    )
    use_local_assets(heat, spec.asset_base, "leaflet.heat")
    heat.add_to(m)


def _lazy_events(m: folium.Map, spec: MapSpec, tip: dict, words: dict) -> None:
    """The clustered event markers, fetched from ``spec.events_url`` when zoomed in."""
    events = LazyEventsLayer(
        {**tip, "url": spec.events_url, "minZoom": 16, "query": spec.query},
        words["layer_events"],
    )
    use_local_assets(events, spec.asset_base, "leaflet.markercluster")
    events.add_to(m)


def build_map(spec: MapSpec) -> folium.Map:
    """A folium map of ``spec``; nothing on it loads from outside ``spec.asset_base``."""
    words = labels(spec.lang, spec.categories)
    m = _new_map(spec)
    tip = {"labels": words}

    def polygons(data, key, style, show=True, **opts):
        if data is not None:
            DataLayer(
                "polygons", data, {**tip, "style": style, **opts}, words[key], show=show
            ).add_to(m)

    polygons(spec.streets, "layer_streets", _style("#333333", 2.5))
    polygons(spec.communities, "layer_communities", _style("#555555", 1.5, dashArray="4"))
    shades = choropleth(spec.grid_events, words["legend_open"])
    if spec.grids is not None:  # standalone: the embedded grids are the choropleth
        polygons(spec.grids, "layer_grids", _style("#999999", 0.5, 0.7), choropleth=shades)
    elif spec.grids_url:
        _lazy_grids(m, spec, tip, words)
        LazyGridLayer(
            {
                **tip,
                "url": spec.grids_url,
                "level": "grid",
                "minZoom": 10,
                "maxZoom": 15,
                "query": spec.query,
                "style": _style("#999999", 0.4, 0.7),
                "choropleth": shades,
            },
            words["layer_choropleth"],
        ).add_to(m)
    polygons(spec.dedicated, "layer_dedicated", _style("#7b3294", 2, 0.15))
    polygons(spec.uncovered, "layer_uncovered", _style("#fdae61", 0.5, 0.3), show=False)
    polygons(
        spec.hot,
        "layer_hot",
        _style("#999999", 2.5),
        classKey="gi_class",
        classColors=_HOT,
        outline=True,  # over the choropleth, not instead of it
    )
    if spec.emerging_url:
        FetchOnceLayer(
            {
                **tip,
                "url": spec.emerging_url,
                "style": _style("#999999", 0.5, 0.5),
                "classKey": "emerging",
                "classColors": _EMERGING,
            },
            words["layer_emerging"],
        ).add_to(m)
    _heat(m, spec, words)
    DataLayer(
        "gridEvents", spec.grid_events, {**tip, "minZoom": 14}, words["layer_grid_events"]
    ).add_to(m)
    if spec.events_url:
        _lazy_events(m, spec, tip, words)
    DataLayer(
        "stations", spec.stations, {**tip, "walk_m": spec.walk_m}, words["layer_stations"]
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    x0, y0, x1, y1 = spec.bounds
    m.fit_bounds([[y0, x0], [y1, x1]])
    ReadySignal().add_to(m)
    return m


def standalone_html(m: folium.Map, asset_base: str, vendor_dir: Path) -> str:
    """The whole map as one HTML file with its assets inlined (no server, no internet)."""
    return inline_assets(m.get_root().render(), asset_base, vendor_dir)
