"""The vendored assets are what maps.assets says, and a map uses nothing else."""

import json
from pathlib import Path

import folium

import web
from maps.assets import VENDOR, use_local_assets

VENDOR_DIR = Path(web.__file__).parent / "static" / "vendor"


def test_versions_and_files_match_the_npm_packages():
    for package, (version, js, css) in VENDOR.items():
        meta = json.loads((VENDOR_DIR / package / "package.json").read_text(encoding="utf-8"))
        assert (meta["name"], meta["version"]) == (package, version)
        for path in js + css:
            assert (VENDOR_DIR / path).is_file(), path
    assert package in (VENDOR_DIR / "VENDORED.md").read_text(encoding="utf-8")


def test_local_assets_are_set_per_map_not_for_every_map():
    ours, theirs = folium.Map(tiles=None), folium.Map(tiles=None)
    use_local_assets(ours, "/static/vendor", "leaflet")
    html = ours.get_root().render()
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "cdn.jsdelivr.net" not in html and "code.jquery.com" not in html
    assert "cdn.jsdelivr.net" in theirs.get_root().render()
