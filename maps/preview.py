"""The preview of a redraw: old and new boundaries of what changes, and the problems."""

from __future__ import annotations

import folium

from maps.assets import helper_element, use_local_assets
from maps.layers import DataLayer, ReadySignal

__all__ = ["build_preview"]


def build_preview(
    old: dict,
    new: dict,
    problems: dict,
    bounds: tuple[float, float, float, float],
    asset_base: str = "/static/vendor",
    lang: str = "zh",
) -> folium.Map:
    """A map of the changed grids before (red, dashed) and after (blue), problems in orange."""
    zh = lang != "en"
    labels = {
        "code": "编码" if zh else "Code",
        "leader": "",
        "phone": "",
        "households": "",
        "events": "",
        "gi": "",
    }
    x0, y0, x1, y1 = bounds
    m = folium.Map(
        location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=13, tiles=None, maxZoom=20, minZoom=8
    )
    use_local_assets(m, asset_base, "leaflet")
    m.get_root().header.add_child(helper_element(), name="geogrid_helper")
    layers = [
        (
            old,
            "现有边界" if zh else "Current boundaries",
            {"color": "#d7301f", "weight": 2, "dashArray": "5", "fillOpacity": 0.05},
        ),
        (
            new,
            "新边界" if zh else "New boundaries",
            {"color": "#2171b5", "weight": 2, "fillOpacity": 0.1},
        ),
        (
            problems,
            "问题" if zh else "Problems",
            {"color": "#fd8d3c", "weight": 3, "fillOpacity": 0.5},
        ),
    ]
    for data, name, style in layers:
        DataLayer("polygons", data, {"labels": labels, "style": style}, name).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    ReadySignal().add_to(m)
    return m
