"""The map panel's trend charts in real headless Chromium, on `geogrid serve` (two workers).

The map's first load does not ask for ECharts (and stays under 1 MB); opening
"趋势" loads it from the app itself and draws events per day by category and the
weekly closure rates, in Chinese; nothing is asked of any other host.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from grids_inline import collection, small_features

from devtools.chromium import chromium, wait_for
from devtools.served import served
from geogrid.auth import create_user
from geogrid.boundaries.grids import read_grids
from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.cases.workflow import transition
from geogrid.storage.schema import events
from geogrid.storage.store import Store
from geogrid.times import utc

PASSWORD = "trend-viewer-pw-1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
ECHARTS = "/static/vendor/echarts/echarts.min.js"
FIRST_LOAD_LIMIT = 1_000_000  # bytes, the budget for the map's first load
CATEGORIES = ("noise", "sanitation", "safety_hazard", "municipal_facility")
WHERE = ((113.507, 34.707), (113.57, 34.71), (113.59, 34.75))
FLOW = ("accepted", "dispatched", "handling", "resolved", "closed")
DRAWN = (
    "window.echarts && ['trend-days', 'trend-weeks'].every(function (id) {"
    " var c = echarts.getInstanceByDom(document.getElementById(id));"
    " return c && c.getOption().series.length > 0; })"
)


def _cases(store: Store) -> None:
    """Thirty days of reports, every third one closed (every sixth late)."""
    categories = load_categories()
    now = datetime.now(UTC)
    items = []
    for day in range(30):
        for k in range(1 + (day * 7) % 4):
            x, y = WHERE[(day + k) % len(WHERE)]
            at = now - timedelta(days=day, hours=1 + k)
            category = CATEGORIES[(day + 2 * k) % len(CATEGORIES)]
            items.append({"lon": x, "lat": y, "category": category, "reported_at": at.isoformat()})
    for start in range(0, len(items), 50):
        Intake(store, categories).submit(
            items[start : start + 50], "hotline", store.index(), now, describe=False
        )
    with store.engine.begin() as conn:
        ids = conn.scalars(sa.select(events.c.id).order_by(events.c.id)).all()
        for n, event_id in enumerate(ids[::3]):
            row = conn.execute(sa.select(events).where(events.c.id == event_id)).one()
            at = utc(row.reported_at)
            for step, status in enumerate(FLOW, start=1):
                row = conn.execute(sa.select(events).where(events.c.id == event_id)).one()
                when = min(at + timedelta(hours=(3 if n % 2 else 30) * step), now)
                transition(conn, row, status, "admin", when, categories[row.category])


@pytest.fixture(scope="module")
def site(module_store_url):
    if not module_store_url.startswith("sqlite"):
        pytest.skip("the trend API is tested on both backends; one is enough for the chart")
    store = Store(module_store_url)
    store.migrate()
    store.import_grids(read_grids(collection(small_features())))
    _cases(store)
    create_user(store, "leader", "viewer", password=PASSWORD)
    with served(module_store_url, workers=2) as base:
        yield base
    store.close()


def login(driver, base: str, path: str) -> None:
    driver.get(f"{base}/login?next={urllib.request.quote(path)}")
    driver.find_element("name", "username").send_keys("leader")
    driver.find_element("name", "password").send_keys(PASSWORD)
    driver.find_element("css selector", "button[type=submit]").click()
    wait_for(driver, "document.body.getAttribute('data-ready') === '1'")


def _network(driver) -> tuple[list[str], int]:
    """URLs asked for and bytes received (encodedDataLength) since the log was last read."""
    urls, received = [], 0
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
        elif message["method"] == "Network.loadingFinished":
            received += message["params"]["encodedDataLength"]
    return urls, received


def _first_load(driver, base: str) -> tuple[list[str], int]:
    """The map page loaded again with the browser's cache off: what it asks for, and its bytes."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    _network(driver)
    driver.get(base + "/")
    wait_for(driver, "document.body.getAttribute('data-ready') === '1'")
    time.sleep(2)  # whatever the page asks for after it is ready
    urls, received = _network(driver)
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": False})
    return urls, received


def test_the_trends_load_echarts_from_the_app_only_when_opened(site):
    base = site
    with chromium() as driver:
        driver.set_window_size(1280, 900)
        login(driver, base, "/")
        before, _ = _network(driver)
        first, received = _first_load(driver, base)
        print(f"map first load: {received} bytes ({len(first)} requests)")
        assert not [u for u in before + first if "echarts" in u]
        assert received < FIRST_LOAD_LIMIT
        assert driver.execute_script("return window.echarts === undefined")

        driver.execute_script("document.getElementById('trend').scrollIntoView()")
        driver.find_element("css selector", "#trend summary").click()
        wait_for(driver, DRAWN, seconds=20)
        opened, _ = _network(driver)
        assert base + ECHARTS in opened
        assert [u for u in opened if "/api/v1/stats/trend" in u] == [
            base + "/api/v1/stats/trend?days=30"
        ]
        days, weeks = driver.execute_script(
            "return ['trend-days', 'trend-weeks'].map(function (id) {"
            " var o = echarts.getInstanceByDom(document.getElementById(id)).getOption();"
            " return {x: o.xAxis[0].data, names: o.series.map(function (s) { return s.name; }),"
            " title: o.title[0].text}; })"
        )
        assert len(days["x"]) == 30 and days["title"] == "每日事件（按类别）"
        assert set(days["names"]) == {"噪音扰民", "环境卫生", "安全隐患", "市政设施"}
        assert weeks["names"] == ["结案率", "按期结案率"] and len(weeks["x"]) >= 5
        # a live event asks for fresh figures: the charts follow, within the minute
        assert driver.execute_script(
            "geogridTrend.refresh(); return geogridTrend.current.pending !== null"
        )
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        asked = [u for u in before + first + opened if u.split(":")[0] in ("http", "https", "ws")]
        assert [u for u in asked if not u.startswith(base + "/")] == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.execute_script("document.getElementById('trend').scrollIntoView()")
        driver.save_screenshot(str(SCREENSHOTS / "map-trend.png"))

        # a phone: the charts follow the panel's width
        driver.set_window_size(390, 844)
        wait_for(
            driver,
            "[...document.querySelectorAll('#trend canvas')].every(c =>"
            " c.getBoundingClientRect().right <= document.getElementById('panel')"
            ".getBoundingClientRect().right + 1)",
            seconds=5,
        )
        driver.execute_script("document.getElementById('trend').scrollIntoView()")
        driver.save_screenshot(str(SCREENSHOTS / "map-trend-390.png"))

        # the wall opens the trends by itself
        driver.set_window_size(1920, 1080)
        driver.get(base + "/?wall=1")
        wait_for(driver, DRAWN, seconds=20)
        assert driver.execute_script("return document.getElementById('trend').open")
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
