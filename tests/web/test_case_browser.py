"""The case workbench in real headless Chromium: one case from report to close, a merge of 30.

The server is ``geogrid serve`` on a throwaway store of each backend; the
pages are driven as people use them (forms, buttons, a file chooser), and
screenshots land in build/screenshots for a person to look at.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from grids_inline import collection, small_features
from PIL import Image

from devtools.chromium import chromium, wait_for
from devtools.served import served
from geogrid.auth import create_user
from geogrid.boundaries.grids import read_grids
from geogrid.cases.categories import load_categories
from geogrid.cases.dispatch import accept
from geogrid.cases.intake import Intake
from geogrid.cases.queries import get_event
from geogrid.cases.staff import StaffRow, import_roster
from geogrid.storage.schema import event_history, events
from geogrid.storage.store import Store

PASSWORD = "case-pages-pw-1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
STADIUM = (113.575, 34.725)


@pytest.fixture(scope="module")
def site(module_store_url):
    store = Store(module_store_url)
    store.migrate()
    store.import_grids(read_grids(collection(small_features())))
    import_roster(
        store,
        [
            StaffRow(2, "W1", "张伟", "13800000001", "网格员", None, ("410102001001001",)),
            StaffRow(3, "Z1", "陈刚", "13800000004", "专职网格员", None, ("410102002001Z01",)),
        ],
        datetime.now(UTC),
    )
    now = datetime.now(UTC)
    noise = {"lon": 113.507, "lat": 34.707, "category": "noise", "description": "广场舞音响太吵"}
    crowd = [
        {
            "lon": STADIUM[0] + 2e-5 * (i % 6),
            "lat": STADIUM[1] + 2e-5 * (i // 6),
            "category": "noise",
            "description": f"体育场演唱会噪音 {i}",
            "reported_at": now.isoformat(),
        }
        for i in range(31)
    ]
    Intake(store, load_categories()).submit([noise, *crowd], "hotline", store.index(), now)
    create_user(store, "op1", "operator", "410102001", password=PASSWORD)
    create_user(store, "op2", "operator", "410102002", password=PASSWORD)
    create_user(store, "w1", "worker", password=PASSWORD, staff_ref="W1")
    with served(module_store_url) as base:
        yield base, store


def login(driver, base, username):
    driver.get(base + "/login?next=/cases")
    driver.find_element("name", "username").send_keys(username)
    driver.find_element("name", "password").send_keys(PASSWORD)
    driver.find_element("css selector", "button[type=submit]").click()
    wait_for(driver, "location.pathname === '/cases'")


def press(driver, action, note="", photo=None):
    form = driver.find_element("css selector", f"form.act-{action}")
    if note:
        form.find_element("name", "note").send_keys(note)
    if photo is not None:
        form.find_element("name", "photo").send_keys(str(photo))
    old = driver.find_element("id", "status")
    form.find_element("css selector", "button[type=submit]").click()
    wait_for(driver, "document.readyState === 'complete' && !!document.getElementById('status')")
    return old


def status(driver) -> str:
    return wait_for(driver, "document.getElementById('status').dataset.status")


def test_one_case_from_report_to_close_through_the_pages(site, tmp_path):
    base, store = site
    photo = tmp_path / "after.jpg"
    Image.new("RGB", (640, 480), (40, 160, 60)).save(photo, "JPEG")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as driver:
        login(driver, base, "op1")
        assert "#1 " in driver.find_element("css selector", "ul.cases").text
        driver.get(base + "/cases/1")
        assert status(driver) == "reported"
        assert driver.execute_script(
            "return document.querySelector('#casemap .leaflet-interactive') !== null"
        )
        press(driver, "accept", "立案")
        wait_for(driver, "document.getElementById('status').dataset.status === 'dispatched'")
        assert "张伟" in driver.find_element("id", "assignee").text  # dispatched by the rules
        press(driver, "start")
        wait_for(driver, "document.getElementById('status').dataset.status === 'handling'")
        press(driver, "resolve", "音响已关小", photo)
        wait_for(driver, "document.getElementById('status').dataset.status === 'resolved'")
        wait_for(
            driver,
            "[...document.querySelectorAll('.photos.after img')].some(i => i.naturalWidth > 0)",
        )
        press(driver, "fail", "仍有噪音")
        wait_for(driver, "document.getElementById('status').dataset.status === 'handling'")
        press(driver, "resolve", "已撤走音响")
        wait_for(driver, "document.getElementById('status').dataset.status === 'resolved'")
        press(driver, "pass", "核查通过")
        wait_for(driver, "document.getElementById('status').dataset.status === 'closed'")
        driver.save_screenshot(str(SCREENSHOTS / "case-closed.png"))
        timeline = driver.find_element("css selector", "ol.timeline").text
    assert timeline.count("处置中") == 2 and "仍有噪音" in timeline
    with store.engine.connect() as conn:
        steps = (
            conn.execute(
                sa.select(event_history.c.to_status)
                .where(event_history.c.event_id == 1)
                .order_by(event_history.c.id)
            )
            .scalars()
            .all()
        )
    assert steps == [
        "reported", "accepted", "dispatched", "handling", "resolved",
        "handling", "resolved", "closed",
    ]  # fmt: skip


def test_thirty_near_duplicates_merge_into_one_case(site):
    base, store = site
    with store.engine.connect() as conn:
        main = conn.scalar(
            sa.select(sa.func.min(events.c.id)).where(events.c.description.like("体育场%"))
        )
    with chromium() as driver:
        login(driver, base, "op2")
        driver.get(f"{base}/cases/{main}")
        boxes = driver.find_elements("css selector", "input.dup")
        assert len(boxes) == 30
        driver.find_element("id", "all-dups").click()
        assert all(b.is_selected() for b in boxes)
        driver.find_element("css selector", "form.merge button[type=submit]").click()
        wait_for(driver, "document.querySelector('.flash') !== null")
        assert "30" in driver.find_element("css selector", ".flash").text
    with store.engine.connect() as conn:
        merged = conn.scalar(
            sa.select(sa.func.count()).where(
                events.c.duplicate_of == main, events.c.status == "merged"
            )
        )
    assert merged == 30


def test_a_grid_worker_on_a_phone_sees_only_their_queue(site):
    base, store = site
    now = datetime.now(UTC)
    cats = load_categories()
    points = [(113.508, 34.708, "sanitation"), (113.576, 34.726, "sanitation")]  # W1's, Z1's
    done = Intake(store, cats).submit(
        [{"lon": x, "lat": y, "category": c} for x, y, c in points], "hotline", store.index(), now
    )
    ids = [r.event["id"] for r in done]
    with store.write() as conn:
        for event_id in ids:
            row, _ = get_event(conn, event_id)
            accept(conn, row, "op", now, cats[row.category])
    with chromium() as driver:
        driver.set_window_size(390, 844)
        login(driver, base, "w1")
        listed = [a.text for a in driver.find_elements("css selector", "ul.cases li a.title")]
        assert [t.split()[0] for t in listed] == [f"#{ids[0]}"]  # W1's, not the stadium's
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        driver.save_screenshot(str(SCREENSHOTS / "cases-worker-390.png"))
        driver.get(f"{base}/cases/{ids[0]}")
        assert driver.find_elements("css selector", "form.act-start")
        assert not driver.find_elements("css selector", "form.act-reassign")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        driver.save_screenshot(str(SCREENSHOTS / "case-worker-390.png"))
        driver.get(f"{base}/cases/{ids[1]}")
        assert "403" in driver.title or "Forbidden" in driver.page_source
