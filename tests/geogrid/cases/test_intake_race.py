"""Two requests carrying the same idempotency key at the same moment: one stores the
event, the other answers with it. On PostgreSQL the second one's insert waits on the
first's uncommitted row (ON CONFLICT DO NOTHING) and then finds it; on SQLite the second
waits for the write lock. Neither stores it twice or fails."""

import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.storage.schema import events

NOW = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
ITEM = {"lon": 113.507, "lat": 34.707, "category": "noise", "idempotency_key": "k-1"}


def _second_is_waiting(store) -> bool:
    if store.backend != "postgresql":
        time.sleep(0.3)  # it can only be queued for the write lock
        return True
    with store.engine.connect() as conn:
        waiting = conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND application_name = current_setting('application_name')"
            )
        )
    return waiting > 0


def test_a_key_being_stored_by_another_request_comes_back_as_existing(store, monkeypatch):
    intake, index = Intake(store, load_categories()), store.index()
    inserted, release = threading.Event(), threading.Event()
    original = Intake._flag_duplicates

    def flag_then_hold(self, conn, ids, rows):  # the first request pauses before commit
        original(self, conn, ids, rows)
        if threading.current_thread().name == "first":
            inserted.set()
            release.wait(30)

    monkeypatch.setattr(Intake, "_flag_duplicates", flag_then_hold)
    results = {}

    def post(name):
        results[name] = intake.submit([dict(ITEM)], "t", index, NOW)[0]

    first = threading.Thread(target=post, args=("first",), name="first")
    first.start()
    assert inserted.wait(30)
    second = threading.Thread(target=post, args=("second",), name="second")
    second.start()
    deadline = time.monotonic() + 30
    while not _second_is_waiting(store) and time.monotonic() < deadline:
        time.sleep(0.05)
    release.set()
    first.join(30)
    second.join(30)

    assert results["first"].outcome == "created"
    assert results["second"].outcome == "existing"
    assert results["second"].event["id"] == results["first"].event["id"]
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(events)) == 1
