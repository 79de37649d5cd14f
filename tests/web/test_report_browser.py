"""The residents' report page in real headless Chromium, as a phone: locate, report, track.

The phone (390 × 844, touch) gets its position through the DevTools protocol,
as a real one would from its GPS; the server is ``geogrid serve`` on a
throwaway store of each backend. Screenshots go to build/screenshots.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from grids_inline import collection, small_features
from PIL import Image

from devtools.chromium import chromium, requested_urls, wait_for
from devtools.served import served
from geogrid.auth import create_token, create_user
from geogrid.boundaries.grids import read_grids
from geogrid.cases.staff import StaffRow, import_roster
from geogrid.storage.store import Store

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
HERE = (34.7072, 113.5071)  # the phone's GPS: micro grid 01 of 甲社区第1网格
FIRST_LOAD_LIMIT = 300_000  # bytes before any photo


@pytest.fixture(scope="module")
def site(module_store_url):
    store = Store(module_store_url)
    store.migrate()
    store.import_grids(read_grids(collection(small_features())))
    import_roster(
        store,
        [StaffRow(2, "W1", "张伟", "13800000001", "网格员", None, ("410102001001001",))],
        datetime.now(UTC),
    )
    create_user(store, "op", "operator")
    token = create_token(store, "op")
    with served(module_store_url) as base:
        yield base, {"Authorization": f"Bearer {token}"}


def phone(driver, base):
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
    )
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": base, "permissions": ["geolocation"]}
    )
    driver.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {"latitude": HERE[0], "longitude": HERE[1], "accuracy": 8},
    )


def first_load_bytes(driver) -> int:
    return driver.execute_script(
        "return performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource')).reduce((n, e) => n + e.transferSize, 0)"
    )


def test_a_resident_reports_from_a_phone_and_follows_it_to_the_after_photo(site, tmp_path):
    base, operator = site
    photo = tmp_path / "shed.jpg"
    Image.new("RGB", (800, 600), (150, 90, 40)).save(photo, "JPEG")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as driver:
        phone(driver, base)
        driver.get(base + "/report")
        wait_for(driver, "document.body.getAttribute('data-ready') === '1'")
        loaded = first_load_bytes(driver)
        assert 0 < loaded <= FIRST_LOAD_LIMIT, loaded
        driver.find_element("id", "locate").click()
        handler = wait_for(driver, "document.getElementById('handler').textContent")
        assert handler == "将由 甲社区 第1网格 处理"
        lon = float(driver.find_element("name", "lon").get_attribute("value"))
        assert abs(lon - HERE[1]) < 1e-6  # the browser's WGS-84, as it came
        driver.find_element("css selector", "#category option[value=noise]").click()
        driver.find_element("id", "description").send_keys("楼下商铺音响太吵 <b>每晚</b>")
        driver.find_element("id", "photo").send_keys(str(photo))
        driver.find_element("id", "phone").send_keys("13912345678")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        driver.save_screenshot(str(SCREENSHOTS / "report-390.png"))
        driver.find_element("css selector", "#report button[type=submit]").click()
        number = wait_for(
            driver,
            "!document.getElementById('done').hidden"
            " && document.getElementById('number').textContent",
        )
        driver.save_screenshot(str(SCREENSHOTS / "report-done-390.png"))
        network = [u for u in requested_urls(driver) if u.split(":")[0] in ("http", "https", "ws")]
        assert network and all(u.startswith(base) for u in network), network  # nothing elsewhere

        # the street works the case: accepted (dispatched to 张伟 by the rules), handled, resolved
        found = requests.get(
            f"{base}/api/v1/events?source=web", headers=operator, timeout=10
        ).json()
        event = next(e for e in found["events"] if e["description"].startswith("楼下商铺"))
        assert event["reporter"]["phone"] == "13912345678" and len(event["media"]) == 1
        url = f"{base}/api/v1/events/{event['id']}"
        accepted = requests.patch(url, json={"status": "accepted"}, headers=operator, timeout=10)
        assert accepted.json()["assignee"]["name"] == "张伟"
        requests.patch(url, json={"status": "handling"}, headers=operator, timeout=10)
        after = io.BytesIO()
        Image.new("RGB", (640, 480), (60, 160, 90)).save(after, "JPEG")
        resolved = requests.patch(
            url,
            data={"status": "resolved", "note": "已约谈商户，音响已拆除", "public": "true"},
            files={"photo": ("after.jpg", after.getvalue(), "image/jpeg")},
            headers=operator,
            timeout=30,
        )
        assert resolved.status_code == 200, resolved.text

        driver.get(f"{base}/track/{number}")
        assert driver.find_element("id", "status").get_attribute("data-status") == "resolved"
        wait_for(
            driver, "[...document.querySelectorAll('#after img')].some(i => i.naturalWidth > 0)"
        )
        page = driver.find_element("tag name", "main").text
        assert "已约谈商户，音响已拆除" in page and "<b>每晚</b>" in page  # text, not markup
        assert "13912345678" not in driver.page_source and "张伟" not in driver.page_source
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        driver.save_screenshot(str(SCREENSHOTS / "track-390.png"))


def test_without_geolocation_the_resident_taps_the_map(site):
    base, _ = site
    with chromium() as driver:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
        )
        driver.get(base + "/report?lang=en")
        wait_for(driver, "document.body.getAttribute('data-ready') === '1'")
        # a tap far east of the district lands on its nearest point inside
        driver.execute_script(
            "var m = document.getElementById('map'); var r = m.getBoundingClientRect();"
            "m.dispatchEvent(new MouseEvent('click', "
            "{bubbles: true, clientX: r.right - 3, clientY: r.top + r.height / 2}));"
        )
        wait_for(driver, "document.getElementsByName('lon')[0].value !== ''")
        lon = float(driver.find_element("name", "lon").get_attribute("value"))
        assert 113.50 < lon <= 113.60
        assert "will handle it" in wait_for(
            driver, "document.getElementById('handler').textContent"
        )
