"""The map readable at every zoom and on a phone, in real headless Chromium.

At district zoom the three-level grids are shaded by open cases with a legend and
the per-grid circles wait for a closer zoom; hot grids are outlined; a chosen
street opens fitted to it; at 390 px the map keeps most of the screen, the layer
list is folded and the panel is a bottom sheet.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from grids_inline import collection, small_features

from devtools.chromium import chromium, wait_for
from devtools.served import served
from geogrid.boundaries.grids import read_grids
from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.storage.store import Store

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
MAP = "window[document.querySelector('.folium-map').id]"
READY = "document.body.getAttribute('data-ready') === '1'"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('readable') / 'store.sqlite'}"
    store = Store(url)
    store.migrate()
    store.import_grids(read_grids(collection(small_features())))
    now = datetime.now(UTC)
    # grid 001 of 甲社区 busy (5 open), 乙 street's grid 001 one case
    points = [(113.512 + 0.001 * i, 34.712) for i in range(5)] + [(113.58, 34.705)]
    Intake(store, load_categories()).submit(
        [{"lon": x, "lat": y, "category": "noise"} for x, y in points], "t", store.index(), now
    )
    with served(url) as base:
        yield base, url
    store.close()


def test_district_zoom_is_a_choropleth_with_a_legend(site):
    with chromium() as driver:
        driver.set_window_size(1280, 900)
        count = (  # every fetch the page makes, before its own scripts run
            "window.asked = []; const f = window.fetch;"
            " window.fetch = (u, o) => (window.asked.push(String(u)), f(u, o));"
        )
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": count})
        driver.get(site[0] + "/")
        wait_for(driver, READY)
        wait_for(driver, f"{MAP}.getZoom() < 14")
        fills = wait_for(
            driver,
            "(() => { const l = geogrid.layers.find(x => x.kind === 'lazy-grid' &&"
            " x.layer.options.style && x.layer.getLayers().length > 0 &&"
            " x.layer.getLayers()[0].options.fillOpacity > 0.5);"
            " return l && l.layer.getLayers().map(p => p.feature.properties.code + '='"
            " + p.options.fillColor); })()",
        )
        by_code = dict(f.split("=") for f in fills)
        assert by_code["410102001001001"] != by_code["410102001002001"]  # 5 open vs none
        grids = "return window.asked.filter(u => u.includes('/map/grids?'))"
        before = None
        while before != (before := driver.execute_script(grids)):
            time.sleep(1)  # until the first view has settled (its fit may zoom once more)
        driver.execute_script(f"{MAP}.fire('moveend')")  # as a resize does, the view unchanged
        time.sleep(0.5)
        assert driver.execute_script(grids) == before  # the same view is not fetched again
        legend = driver.find_element("css selector", ".gg-legend").text
        assert "网格未结案事件数" in legend and "0" in legend
        circles = "geogrid.layers.find(x => x.kind === 'grid-events').layer.getLayers().length"
        assert driver.execute_script(f"return {circles}") == 0  # not at district zoom
        # retried: a zoom animation still running would take the map back where it was going
        wait_for(
            driver,
            f"{MAP}.getZoom() === 15 || ({MAP}.stop(),"
            f" {MAP}.setView([34.712, 113.514], 15, {{animate: false}}), false)",
        )
        wait_for(driver, f"{circles} > 0")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.execute_script(f"{MAP}.setZoom(13, {{animate: false}})")
        driver.save_screenshot(str(SCREENSHOTS / "map-choropleth.png"))


def test_a_chosen_street_opens_fitted_to_it(site):
    with chromium() as driver:
        driver.set_window_size(1280, 900)
        driver.get(site[0] + "/?code=410102002")
        wait_for(driver, READY)
        view = driver.execute_script(
            f"const b = {MAP}.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(),"
            " b.getNorth()];"
        )
        # 410102002 spans 113.55–113.6 × 34.70–34.76: the view holds it, centred on it
        # (the district's centre is 113.55)
        assert view[0] <= 113.55 and view[2] >= 113.6 and view[1] <= 34.70 and view[3] >= 34.76
        assert abs((view[0] + view[2]) / 2 - 113.575) < 0.002


def test_a_phone_keeps_the_map_and_folds_the_rest(site):
    with chromium() as driver:
        driver.set_window_size(390, 844)
        driver.get(site[0] + "/")
        wait_for(driver, READY)
        assert driver.execute_script("return innerWidth") <= 400
        free = driver.execute_script(
            "const m = document.getElementById('mapbox').getBoundingClientRect();"
            "const p = document.getElementById('panel').getBoundingClientRect();"
            "const top = Math.max(m.top, 0), bottom = Math.min(m.bottom, innerHeight, p.top);"
            "return Math.max(0, bottom - top) * Math.min(m.width, innerWidth)"
            " / (innerWidth * innerHeight);"
        )
        assert free >= 0.6, free
        layers = driver.find_element("css selector", ".leaflet-control-layers-list")
        assert not layers.is_displayed()
        driver.find_element("css selector", ".leaflet-control-layers-toggle").click()
        assert layers.is_displayed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / "map-390-layers.png"))
        driver.execute_script(f"{MAP}.fire('click', {{latlng: {MAP}.getCenter()}})")  # a tap
        assert not layers.is_displayed()
        driver.save_screenshot(str(SCREENSHOTS / "map-390.png"))
        driver.find_element("id", "sheet-handle").click()
        wait_for(driver, "document.getElementById('panel').getBoundingClientRect().top < 400")
        driver.save_screenshot(str(SCREENSHOTS / "map-390-panel.png"))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []


def test_the_standalone_file_has_its_legend(site, tmp_path):
    from click.testing import CliRunner

    from geogrid.cli import main

    url = site[1]
    out = tmp_path / "map.html"
    result = CliRunner(env={"GEOGRID_DATABASE_URL": url}).invoke(main, ["map", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with chromium() as driver:
        driver.get(out.as_uri())
        wait_for(driver, READY)
        legend = driver.find_element("css selector", ".gg-legend").text
        assert "网格未结案事件数" in legend and "≥ 1" in legend
