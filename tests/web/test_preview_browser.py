"""The redraw preview in real headless Chromium: a problem in the list zooms the map to it.

The preview map is a sandboxed frame; the page asks it to zoom by message. The
test uploads a file with an overlap through the admin page, clicks the error and
reads the map's view inside the frame.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grids_inline import collection, small_features

from devtools.chromium import chromium, wait_for
from devtools.served import served
from geogrid.auth import create_user
from geogrid.boundaries.export import edit_geojson
from geogrid.boundaries.grids import read_grids
from geogrid.storage.store import Store

PASSWORD = "preview-pages-pw-1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
SCOPE = "410102001001"
MAP = "window[Object.keys(window).find(function (k) { return /^map_[0-9a-f]+$/.test(k); })]"


@pytest.fixture
def site(tmp_path):
    url = f"sqlite:///{tmp_path / 'preview.sqlite'}"
    store = Store(url)
    store.migrate()
    store.import_grids(read_grids(collection(small_features())))
    create_user(store, "gis", "admin", password=PASSWORD)
    data = edit_geojson(store, SCOPE)
    for feature in data["features"]:  # grid 002 pushed west over grid 001: an overlap
        if feature["properties"]["code"] == "410102001001002":
            feature["geometry"]["coordinates"] = [
                [
                    [113.52, 34.70],
                    [113.55, 34.70],
                    [113.55, 34.73],
                    [113.52, 34.73],
                    [113.52, 34.70],
                ]
            ]
    upload = tmp_path / "overlap.geojson"
    upload.write_text(json.dumps(data), encoding="utf-8")
    with served(url) as base:
        yield base, upload
    store.close()


def test_clicking_a_problem_zooms_the_preview_map_to_it(site):
    base, upload = site
    with chromium() as driver:
        driver.set_window_size(1280, 1000)
        driver.get(base + "/login?next=/admin/boundaries")
        driver.find_element("name", "username").send_keys("gis")
        driver.find_element("name", "password").send_keys(PASSWORD)
        driver.find_element("css selector", "button[type=submit]").click()
        wait_for(driver, "location.pathname === '/admin/boundaries'")
        form = driver.find_element("css selector", "form[enctype='multipart/form-data']")
        form.find_element("name", "file").send_keys(str(upload))
        form.find_element("name", "scope").send_keys(SCOPE)
        form.find_element("css selector", "button[type=submit]").click()
        wait_for(driver, "document.getElementById('preview-map') !== null")
        link = driver.find_element("css selector", "#problems li.error a.zoom")
        west, south, east, north = json.loads(link.get_attribute("data-zoom-bounds"))
        frame = driver.find_element("id", "preview-map")
        driver.switch_to.frame(frame)
        wait_for(driver, "document.body.getAttribute('data-ready') === '1'")
        # the map looks elsewhere first (as after panning around)
        driver.execute_script(f"{MAP}.setView([34.9, 113.9], 11, {{animate: false}});")
        driver.switch_to.default_content()
        link.click()
        assert "focused" in link.find_element("xpath", "..").get_attribute("class")
        driver.switch_to.frame(frame)
        # the map shows the whole problem, closer than before
        box = f"L.latLngBounds([[{south}, {west}], [{north}, {east}]])"
        wait_for(driver, f"{MAP}.getBounds().contains({box}) && {MAP}.getZoom() > 11", seconds=10)
        assert driver.execute_script(f"return {MAP}.getBoundsZoom({box}, false, [48, 48]);") == (
            driver.execute_script(f"return {MAP}.getZoom();")
        )
        outlined = driver.execute_script(
            f"var n = 0; {MAP}.eachLayer(function (l) {{ if (l instanceof L.Rectangle) n++; }});"
            " return n;"
        )
        assert outlined == 1
        driver.switch_to.default_content()
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / "redraw-preview-problem.png"))
