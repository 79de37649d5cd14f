"""The front-end assets a geogrid map needs, served locally: never from a CDN.

The files are vendored from their npm packages under ``web/static/vendor``
(see VENDORED.md there). A map is pointed at them per instance, so other
folium maps in the same process keep their own defaults.
"""

from __future__ import annotations

import re
from pathlib import Path

from branca.element import Element

__all__ = ["HELPER_JS", "VENDOR", "helper_element", "inline_assets", "use_local_assets"]

#: package -> (version, js files, css files), relative to the vendor directory.
VENDOR = {
    "leaflet": ("1.9.4", ["leaflet/leaflet.js"], ["leaflet/leaflet.css"]),
    "leaflet.markercluster": (
        "1.5.3",
        ["leaflet.markercluster/leaflet.markercluster.js"],
        [
            "leaflet.markercluster/MarkerCluster.css",
            "leaflet.markercluster/MarkerCluster.Default.css",
        ],
    ),
    "leaflet.heat": ("0.2.0", ["leaflet.heat/leaflet-heat.js"], []),
}
HELPER_JS = Path(__file__).parent / "static" / "geogrid-map.js"
_CSS = """
.gg-tip table { border-collapse: collapse; font-size: 12px; }
.gg-tip th { text-align: left; padding: 0 .5em 0 0; color: #555; font-weight: normal; }
.gg-tip td { padding: 0; }
.gg-tip-title { font-weight: bold; margin-bottom: 2px; }
.gg-station { background: #2b8cbe; border: 2px solid #fff; border-radius: 50%;
              box-shadow: 0 0 2px #000; }
.leaflet-container { background: #f4f4f0; }
.gg-legend { background: rgba(255,255,255,.9); padding: 4px 8px; border-radius: 4px;
             font-size: 12px; line-height: 18px; box-shadow: 0 0 3px rgba(0,0,0,.3); }
.gg-legend-title { font-weight: bold; }
.gg-legend i { display: inline-block; width: 14px; height: 12px; margin-right: 6px;
               vertical-align: middle; border: 1px solid #bbb; }
"""


def use_local_assets(element, base_url: str, *packages: str) -> None:
    """Point a folium element at the vendored copies of ``packages`` (this instance only)."""
    base = base_url.rstrip("/")
    element.default_js = [
        (f"{p}:{i}", f"{base}/{path}") for p in packages for i, path in enumerate(VENDOR[p][1])
    ]
    element.default_css = [
        (f"{p}:css{i}", f"{base}/{path}") for p in packages for i, path in enumerate(VENDOR[p][2])
    ]


def helper_element() -> Element:
    """The map helper script and its styles, inline (so a saved map needs no server)."""
    script = HELPER_JS.read_text(encoding="utf-8")
    return Element(f"<style>{_CSS}</style>\n<script>{script}</script>")


_TAG = re.compile(
    r'<script src="(?P<js>[^"]+)"></script>|'
    r'<link rel="stylesheet" href="(?P<css>[^"]+)"\s*/?>'
)


def inline_assets(html: str, base_url: str, vendor_dir: Path) -> str:
    """Replace links to ``base_url`` assets with the files' contents: one standalone file."""
    base = base_url.rstrip("/") + "/"

    def embed(match: re.Match) -> str:
        url = match.group("js") or match.group("css")
        if not url.startswith(base):
            return match.group(0)
        text = (vendor_dir / url[len(base) :]).read_text(encoding="utf-8")
        if match.group("js"):
            return "<script>" + text.replace("</script", "<\\/script") + "</script>"
        return "<style>" + text + "</style>"

    return _TAG.sub(embed, html)
