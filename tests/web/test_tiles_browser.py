"""The offline basemap in headless Chromium: tiles from the app's MBTiles file, no other host."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiles_inline import make_mbtiles

from devtools.chromium import chromium, requested_urls, wait_for
from devtools.served import served

NETWORK_SCHEMES = ("http", "https", "ws", "wss")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
AROUND = (113.25, 34.55, 113.85, 34.92)  # the small district and what the first view shows


@pytest.fixture
def site(store, tmp_path):
    path = tmp_path / "district.mbtiles"
    make_mbtiles(path, bounds=AROUND)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GEOGRID_MAP_TILES", f"mbtiles:{path}")  # served() passes the environment on
        with served(store.url) as base:
            yield base


def _map(driver):
    name = driver.execute_script("return document.querySelector('.folium-map').id")
    return f"window[{name!r}]"


def test_the_map_shows_the_mbtiles_basemap_from_the_app_alone(site):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as driver:
        driver.get(site + "/?tiles=mbtiles")
        wait_for(driver, "document.body.getAttribute('data-ready') === '1'")
        zoom = driver.execute_script(f"return {_map(driver)}.getZoom()")
        # the first view's zoom until the map fits the district, then the tiles of the fit
        wait_for(
            driver,
            "[...document.querySelectorAll('img.leaflet-tile-loaded')]"
            f".filter(i => i.src.includes('/tiles/{zoom}/')).length >= 4",
        )
        tiles = driver.execute_script(
            "return [...document.querySelectorAll('img.leaflet-tile-loaded')]"
            ".map(i => [i.src, i.naturalWidth])"
        )
        assert all(src.startswith(f"{site}/tiles/") and width == 256 for src, width in tiles)
        driver.save_screenshot(str(SCREENSHOTS / "map-mbtiles.png"))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        network = [u for u in requested_urls(driver) if u.split(":")[0] in NETWORK_SCHEMES]
        assert any(u.startswith(f"{site}/tiles/{zoom}/") for u in network)
        assert [u for u in network if not u.startswith(site + "/")] == []
