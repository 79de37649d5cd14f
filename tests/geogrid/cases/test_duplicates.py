from datetime import UTC, datetime, timedelta

from geogrid.cases.duplicates import DuplicateFinder

T = datetime(2026, 7, 1, tzinfo=UTC)


def test_box_query_then_exact_distance_and_window():
    finder = DuplicateFinder(None)
    finder.add(1, "noise", 113.6, 34.78, T)
    finder.add(2, "noise", 113.6004, 34.78, T + timedelta(hours=71))  # ~36.6 m east
    finder.add(3, "noise", 113.6, 34.7804, T - timedelta(hours=73))  # 44 m north, too early
    finder.add(4, "sanitation", 113.6, 34.78, T)
    hits = finder.find("noise", 113.6, 34.78, T)
    assert [i for _, i in hits] == [1, 2]
    assert 36 < hits[1][0] < 37
    # a corner of the 50 m box: ~54 m away, not a duplicate
    corner = finder.find("noise", 113.6004 + 0.00039, 34.78 + 0.00039, T + timedelta(hours=71))
    assert corner == []
    finder.remove(1)
    assert [i for _, i in finder.find("noise", 113.6, 34.78, T)] == [2]
    assert finder.find("fire_hazard", 113.6, 34.78, T) == []


STRESS = """
import threading
from datetime import UTC, datetime, timedelta
import numpy as np
from geogrid.cases.duplicates import DuplicateFinder

finder = DuplicateFinder(None)
t0 = datetime(2026, 7, 1, tzinfo=UTC)
stop = threading.Event()

def writer(k):  # a worker's thread syncing new and closed events into the finder
    rng = np.random.default_rng(k)
    for i in range(1500):
        lon, lat = 113.6 + rng.uniform(0, 0.01), 34.78 + rng.uniform(0, 0.01)
        at = t0 + timedelta(minutes=int(rng.integers(0, 600)))
        finder.add(k * 1_000_000 + i, "noise", lon, lat, at)
        if i % 2:
            finder.remove(k * 1_000_000 + i - 1)

def reader(k):  # another flagging its batch
    rng = np.random.default_rng(100 + k)
    while not stop.is_set():
        lon, lat = 113.6 + rng.uniform(0, 0.01), 34.78 + rng.uniform(0, 0.01)
        finder.find("noise", lon, lat, t0 + timedelta(minutes=300))

writers = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
readers = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
for t in writers + readers:
    t.start()
for t in writers:
    t.join()
stop.set()
for t in readers:
    t.join()
print("ok")
"""


def test_one_finder_is_safe_across_a_workers_threads():
    """libspatialindex is not thread-safe: unguarded, this aborts or segfaults the process
    (it did, 5 times in 5, and so did gunicorn workers under bench-load on PostGIS)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", STRESS], capture_output=True, text=True
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr[-2000:]


def _insert_event(store, event_id: int, lon: float, status: str = "reported") -> None:
    import sqlalchemy as sa

    from geogrid.storage.schema import event_history, events

    at = T.replace(tzinfo=None)
    with store.write() as conn:
        conn.execute(
            sa.insert(events).values(
                id=event_id, created_at=at, created_by="t", reported_at=at, lon=lon,
                lat=34.78, crs="wgs84", lon_in=lon, lat_in=34.78, category="noise",
                source="app", status=status, status_at=at, close_due_at=at, method="inside",
            )
        )  # fmt: skip
        conn.execute(
            sa.insert(event_history).values(
                event_id=event_id, at=at, actor="t", to_status="reported"
            )
        )


def test_an_event_committed_after_a_later_id_is_still_seen(store):
    """PostgreSQL hands out ids at insert and shows rows at commit: event 1 may become
    visible after event 2, and the finder must not have moved past it for good."""
    finder = DuplicateFinder(store.engine)
    _insert_event(store, 2, 113.6)
    finder.sync()
    assert [i for _, i in finder.find("noise", 113.6, 34.78, T)] == [2]
    _insert_event(store, 1, 113.7)  # committed late, below the top already read
    finder.sync()
    assert [i for _, i in finder.find("noise", 113.7, 34.78, T)] == [1]


def test_nearest_is_the_first_of_find_with_many_events_at_one_spot():
    import numpy as np

    rng = np.random.default_rng(5)
    finder = DuplicateFinder(None)
    spots = [(113.6 + rng.uniform(0, 0.001), 34.78 + rng.uniform(0, 0.001)) for _ in range(6)]
    alive = []
    for event_id in range(1, 400):
        lon, lat = spots[rng.integers(len(spots))]
        at = T + timedelta(hours=float(rng.integers(0, 200)))
        finder.add(event_id, "noise", lon, lat, at)
        alive.append(event_id)
        if rng.random() < 0.2:
            finder.remove(alive.pop(int(rng.integers(len(alive)))))
    for _ in range(300):
        lon, lat = spots[rng.integers(len(spots))]
        lon += rng.normal(0, 2e-4)
        at = T + timedelta(hours=float(rng.integers(-50, 250)))
        hits = finder.find("noise", lon, lat, at)
        assert finder.nearest("noise", lon, lat, at) == (hits[0] if hits else None)
        assert {i for _, i in hits} <= set(alive)
