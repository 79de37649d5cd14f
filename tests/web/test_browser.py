"""The command center map in real headless Chromium: offline, every layer, nothing injected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from grids_inline import collection, small_features

from devtools.chromium import chromium, requested_urls, wait_for
from devtools.served import served
from geogrid.auth import create_user
from geogrid.boundaries.grids import read_grids
from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.stations import Station, import_stations
from geogrid.storage.store import Store

PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "</script><script>window.__xss=2</script>",
    "${window.__xss=3}",
    "`+(window.__xss=4)+`",
    '"><svg onload="window.__xss=5">',
]
NETWORK_SCHEMES = ("http", "https", "ws", "wss")  # chrome:// pages are the browser's own
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
OVERLAYS = [
    "街道",
    "社区/村",
    "三级网格",
    "微网格",
    "未结案事件（网格分级着色）",
    "专属网格",
    "步行500米外无驿站的网格",
    "热点网格 (Gi*)",
    "新兴热点（近8周）",
    "事件热力图",
    "未结案事件（按网格汇总）",
    "未结案事件（放大后逐个显示）",
    "清凉驿站",
]


@pytest.fixture(scope="module")
def site(module_store_url):
    """A store whose names, station names and event texts are all attack strings."""
    url = module_store_url
    features = small_features()
    for feature, payload in zip(features[1:6], PAYLOADS, strict=True):
        feature["properties"]["name"] = payload  # streets and communities
    features[9]["properties"]["name"] = PAYLOADS[0]  # a three-level grid
    features[11]["properties"]["leader"] = PAYLOADS[2]  # a micro grid's leader
    store = Store(url)
    store.migrate()
    store.import_grids(read_grids(collection(features)))
    import_stations(
        store,
        [
            Station(
                "cooling",
                p,
                113.56 + 0.006 * i,
                34.71 + 0.004 * i,
                address=p,
                hours=p,
                amenities=[p],
            )
            for i, p in enumerate(PAYLOADS)
        ],
    )
    events = [
        {
            "lon": 113.575 + 0.0012 * i,
            "lat": 34.745,
            "category": "noise",
            "description": p,
            "reporter_name": p,
        }
        for i, p in enumerate(PAYLOADS)
    ]
    index = store.index()
    Intake(store, load_categories()).submit(events, "test", index, datetime.now(UTC))
    create_user(store, "viewer1", "viewer", password="viewer-password-1")
    with served(url) as base:
        yield base


def _map(driver):
    name = driver.execute_script("return document.querySelector('.folium-map').id")
    return f"window[{name!r}]"


def test_map_loads_offline_with_every_layer(site):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as driver:
        driver.get(site + "/")
        wait_for(driver, "document.body.getAttribute('data-ready') === '1'")
        assert driver.execute_script("return L.version") == "1.9.4"
        labels = driver.execute_script(
            "return [...document.querySelectorAll("
            "'.leaflet-control-layers-overlays label span span')].map(s => s.textContent.trim())"
        )
        assert labels == OVERLAYS
        kinds = driver.execute_script("return geogrid.layers.map(l => l.kind)")
        assert {"polygons", "lazy-grid", "lazy-micro", "events", "stations", "grid-events"} <= set(
            kinds
        )
        assert driver.execute_script(
            "return document.querySelectorAll('.gg-station').length"
        ) == len(PAYLOADS)
        driver.save_screenshot(str(SCREENSHOTS / "map.png"))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        network = [u for u in requested_urls(driver) if u.split(":")[0] in NETWORK_SCHEMES]
        foreign = [u for u in network if not u.startswith(site + "/")]
        assert any(u.endswith("/static/vendor/leaflet/leaflet.js") for u in network)
        assert foreign == []


def _go(driver, lat: float, lon: float, zoom: int = 18) -> None:
    """Jump there; retried, since an open popup's auto-pan can swallow a move."""
    m = _map(driver)
    driver.execute_script(f"{m}.closePopup()")
    wait_for(
        driver,
        f"{m}.getZoom() === {zoom} && {m}.getCenter().distanceTo([{lat}, {lon}]) < 5"
        f" || ({m}.stop(), {m}.setView([{lat}, {lon}], {zoom}, {{animate: false}}),"
        " false)",
    )


def _open_everything(driver, kind: str) -> list[str]:
    """Open every tooltip and popup of the layers of ``kind``; return their texts."""
    return driver.execute_script(
        """
        const texts = [];
        const kind = arguments[0];
        for (const entry of geogrid.layers.filter(l => l.kind === kind)) {
          const members = entry.layer.getLayers ? entry.layer.getLayers() : [];
          for (const m of members) {
            const at = m.getBounds ? m.getBounds().getCenter() : m.getLatLng();
            if (m.getTooltip()) { m.openTooltip(at);
              texts.push(document.querySelector('.leaflet-tooltip:last-child').textContent);
              m.closeTooltip(); }
            if (m.getPopup()) { m.openPopup(at);
              texts.push(document.querySelector('.leaflet-popup-content').textContent);
              m.closePopup(); }
          }
        }
        return texts;""",
        kind,
    )


def test_attack_strings_are_shown_as_text_and_never_run(site):
    with chromium() as driver:
        driver.get(site + "/login")
        driver.find_element("name", "username").send_keys("viewer1")
        driver.find_element("name", "password").send_keys("viewer-password-1")
        driver.find_element("css selector", "button[type=submit]").click()
        wait_for(driver, "document.body.getAttribute('data-ready') === '1'")
        shown = _open_everything(driver, "polygons") + _open_everything(driver, "stations")
        _go(driver, 34.745, 113.5774)
        wait_for(
            driver,
            "geogrid.layers.some(l => l.kind === 'events' && l.layer.getLayers().length === 5)",
        )
        wait_for(
            driver,
            "geogrid.layers.some(l => l.kind === 'lazy-grid' && l.layer.getLayers().length > 0)",
        )
        shown += _open_everything(driver, "events") + _open_everything(driver, "lazy-grid")
        _go(driver, 34.7075, 113.5075)
        wait_for(
            driver,
            "geogrid.layers.some(l => l.kind === 'lazy-micro' && l.layer.getLayers().length > 0)",
        )
        shown += _open_everything(driver, "lazy-micro")
        assert driver.execute_script("return window.__xss") is None
        text = "\n".join(shown)
        for payload in PAYLOADS:
            assert payload in text, payload
        panel = driver.find_element("id", "panel").text
        assert PAYLOADS[1] in panel  # street names in the filter list, as text
        assert driver.execute_script("return window.__xss") is None
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
