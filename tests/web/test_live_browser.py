"""The live wall in real headless Chromium, on `geogrid serve` with two gunicorn workers.

An event posted through the API appears on an open map (and in its ticker and
figures) without a reload, on both backends; ``?wall=1`` runs a minute without
a console error; nothing is asked of any host but the app.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from grids_inline import collection, small_features

from devtools.chromium import chromium, requested_urls, wait_for
from devtools.served import served
from geogrid.auth import create_token, create_user
from geogrid.boundaries.grids import read_grids
from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.storage.store import Store

PASSWORD = "live-wall-pw-1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
LIVE = "window.geogridLive && geogridLive.current"


@pytest.fixture(scope="module")
def site(module_store_url):
    store = Store(module_store_url)
    store.migrate()
    store.import_grids(read_grids(collection(small_features())))
    long_ago = datetime.now(UTC) - timedelta(days=10)  # overdue by now
    Intake(store, load_categories()).submit(
        [{"lon": 113.57, "lat": 34.71, "category": "noise", "reported_at": long_ago.isoformat()}],
        "hotline",
        store.index(),
        long_ago,
    )
    create_user(store, "leader", "viewer", password=PASSWORD)
    create_user(store, "intake", "reporter")
    token = create_token(store, "intake")
    with served(module_store_url, workers=2) as base:
        yield base, token
    store.close()


def login(driver, base: str, path: str) -> None:
    driver.get(f"{base}/login?next={urllib.request.quote(path)}")
    driver.find_element("name", "username").send_keys("leader")
    driver.find_element("name", "password").send_keys(PASSWORD)
    driver.find_element("css selector", "button[type=submit]").click()
    wait_for(driver, "document.body.getAttribute('data-ready') === '1'")


def report(base: str, token: str, description: str) -> int:
    body = {"lon": 113.507, "lat": 34.707, "category": "noise", "description": description}
    request = urllib.request.Request(
        base + "/api/v1/events",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)["id"]


def foreign(driver, base: str) -> list[str]:
    urls = [u for u in requested_urls(driver) if u.split(":")[0] in ("http", "https", "ws")]
    return [u for u in urls if not u.startswith(base + "/")]


def test_a_posted_event_appears_on_the_open_map(site):
    base, token = site
    with chromium() as driver:
        driver.set_window_size(1280, 900)
        login(driver, base, "/")
        wait_for(driver, "document.getElementById('live-state').dataset.state === 'on'")
        reported = wait_for(driver, "document.querySelector('[data-stat=reported]').textContent")
        posted = time.monotonic()
        # the stream and the post are served by whichever of the two workers takes them
        event_id = report(base, token, "<b>夜间施工</b>")
        wait_for(driver, f"{LIVE}.markers[{event_id}] !== undefined", seconds=10)
        lag = time.monotonic() - posted
        ticker = driver.execute_script(
            "return [...document.querySelectorAll('#ticker li')].map(li => li.textContent)"
        )
        assert len(ticker) == 1 and "噪音扰民" in ticker[0], ticker
        wait_for(
            driver,
            f"document.querySelector('[data-stat=reported]').textContent === '{int(reported) + 1}'",
            seconds=10,
        )
        # user text reaches the popup as text
        driver.execute_script(f"{LIVE}.markers[{event_id}].openPopup()")
        wait_for(  # the popup's text, whatever its fade-in is doing on a busy machine
            driver,
            "(document.querySelector('.leaflet-popup-content') || {}).textContent"
            " && document.querySelector('.leaflet-popup-content').textContent"
            ".includes('<b>夜间施工</b>')",
            seconds=10,
        )
        assert driver.execute_script("return document.querySelectorAll('.gg-tip b').length") == 0
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        assert foreign(driver, base) == []
        print(f"live lag {lag:.2f} s")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / "map-live.png"))


@pytest.mark.slow
def test_the_wall_runs_a_minute_without_an_error(site, module_store_url):
    if not module_store_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the wall's minute")
    base, token = site
    with chromium() as driver:
        driver.set_window_size(1920, 1080)
        login(driver, base, "/?wall=1")
        assert driver.execute_script("return document.body.classList.contains('wall')")
        assert not driver.find_element("css selector", "#panel form").is_displayed()
        report(base, token, "大屏测试")  # arrives while the wall runs
        captions = set()
        end = time.monotonic() + 60
        while time.monotonic() < end:
            captions.add(driver.find_element("id", "wall-caption").text)
            time.sleep(2)
        # the district, then the street with the overdue case
        assert len(captions) >= 2, captions
        assert any("超期 1" in c for c in captions), captions
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        assert foreign(driver, base) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / "wall.png"))
