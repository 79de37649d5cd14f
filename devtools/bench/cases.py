"""Case pages benchmark: how long ``/cases`` and ``/cases/<id>`` take on the demo district.

In one process, through the app's test client (server time, no network): an
operator of the whole district and a grid worker, logged in, open

- ``/cases`` — open cases, overdue first, counts per status (100,000 events);
- ``/cases?status=all`` — every case, newest page of the queue order;
- ``/cases/<id>`` — the case with the most likely duplicates (its map, chain,
  history, duplicates and dispatch choices);
- the worker's ``/cases`` (their own queue);

each the median of ``repeat`` requests after one warm-up. Not a test.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import time

import sqlalchemy as sa

__all__ = ["report_first_load", "run_cases"]

_PASSWORD = "bench-cases-password"


def _login(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": username, "password": _PASSWORD, "csrf_token": token})
    return client


def _median_ms(client, path: str, repeat: int) -> dict:
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path)
        times.append(time.perf_counter() - start)
    return {"ms": round(statistics.median(times) * 1000, 1), "bytes": len(first.data)}


def _users(store) -> tuple[str, str, int]:
    """A district operator and the worker with the most open cases (made once per store)."""
    from geogrid.auth import create_user
    from geogrid.cases.workflow import OPEN
    from geogrid.errors import ConflictError
    from geogrid.storage.schema import events, staff

    with store.engine.connect() as conn:
        ref, busiest = conn.execute(
            sa.select(staff.c.ref, sa.func.count())
            .join(events, events.c.assignee_staff_id == staff.c.id)
            .where(events.c.status.in_(OPEN))
            .group_by(staff.c.ref)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).one()
    for name, role, extra in (
        ("bench-op", "operator", {}),
        ("bench-w", "worker", {"staff_ref": ref}),
    ):
        with contextlib.suppress(ConflictError):
            create_user(store, name, role, password=_PASSWORD, **extra)
    return "bench-op", "bench-w", busiest


def _busiest_case(store) -> tuple[int, int]:
    from geogrid.storage.schema import events

    with store.engine.connect() as conn:
        return conn.execute(
            sa.select(events.c.likely_duplicate_of, sa.func.count())
            .where(events.c.likely_duplicate_of.isnot(None))
            .group_by(events.c.likely_duplicate_of)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).one()


def run_cases(app, store, repeat: int = 5) -> dict:
    """Time the case pages on ``store`` (the demo district); figures in ms and bytes."""
    operator, worker, open_cases = _users(store)
    case_id, flagged = _busiest_case(store)
    op, wk = _login(app, operator), _login(app, worker)
    return {
        "queue": _median_ms(op, "/cases", repeat),
        "queue_all": _median_ms(op, "/cases?status=all", repeat),
        "case": _median_ms(op, f"/cases/{case_id}", repeat) | {"id": case_id, "flagged": flagged},
        "worker_queue": _median_ms(wk, "/cases", repeat) | {"open_cases": open_cases},
        "repeat": repeat,
    }


def report_first_load(url: str, repeat: int = 3) -> dict:
    """Bytes and seconds of ``/report``'s first load in headless Chromium as a 390 px phone.

    The bytes are every response's transfer size (headers included) until the
    page has drawn the district; the median of ``repeat`` fresh browsers.
    """
    from devtools.chromium import chromium, wait_for
    from devtools.served import served

    sizes, times = [], []
    with served(url) as base:
        for _ in range(repeat):
            with chromium() as driver:
                driver.execute_cdp_cmd(
                    "Emulation.setDeviceMetricsOverride",
                    {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
                )
                start = time.perf_counter()
                driver.get(base + "/report")
                wait_for(driver, "document.body.getAttribute('data-ready') === '1'")
                times.append(time.perf_counter() - start)
                sizes.append(
                    driver.execute_script(
                        "return performance.getEntriesByType('navigation').concat("
                        "performance.getEntriesByType('resource'))"
                        ".reduce((n, e) => n + e.transferSize, 0)"
                    )
                )
    return {"bytes": int(statistics.median(sizes)), "ready_s": round(statistics.median(times), 3)}
