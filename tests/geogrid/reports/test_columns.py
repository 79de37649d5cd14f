"""The event columns follow the store through its change sequence, on both backends."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from metrics_cases import bulletin_rows, case

from geogrid.reports.columns import EventColumns
from geogrid.reports.metrics import stats
from geogrid.storage.schema import events

NOW = datetime(2026, 7, 1, tzinfo=UTC)


def _fresh(store) -> dict:
    """What a process that never read the store would compute."""
    with store.engine.connect() as conn:
        table = EventColumns()
        c = table.read(conn)
        return {name: getattr(c, name).tolist() for name in ("id", "reported_at", "closed_at")} | {
            name: [None if k < 0 else c.vocabulary[k] for k in getattr(c, name)]
            for name in ("grid", "status", "category")
        }


def _stats(store, **kw) -> str:
    with store.engine.connect() as conn:
        return json.dumps(stats(conn, NOW, **kw), sort_keys=True)


def test_every_write_raises_the_sequence_and_stamps_its_events(store):
    before = store.change_seq()
    with store.write() as conn:
        conn.execute(sa.insert(events), bulletin_rows()[:3])
    after = store.change_seq()
    assert after == before + 1
    with store.write() as conn:
        conn.execute(sa.update(events).where(events.c.id == 2).values(status="closed"))
    with store.engine.connect() as conn:
        stamped = dict(conn.execute(sa.select(events.c.id, events.c.change_seq)).all())
    assert stamped == {1: after, 2: after + 1, 3: after}
    with store.write():
        pass  # a write that changes nothing still counts: the counter is per transaction
    assert store.change_seq() == after + 2


def test_incremental_reads_match_a_fresh_read(store):
    table = EventColumns()
    with store.write() as conn:
        conn.execute(sa.insert(events), bulletin_rows())
    with store.engine.connect() as conn:
        first = table.read(conn)
    assert len(first) == 976
    with store.write() as conn:  # updates, a new category, and a row with a lower id
        conn.execute(
            sa.update(events)
            .where(events.c.id.in_([5, 6, 7]))
            .values(status="closed", category="fire", grid=None)
        )
        conn.execute(
            sa.insert(events),
            [case(2000, status="handling", due=NOW), case(999, status="reported", due=NOW)],
        )
    with store.engine.connect() as conn:
        again = table.read(conn)
    fresh = _fresh(store)
    assert again.id.tolist() == fresh["id"] == sorted(fresh["id"])
    assert [again.vocabulary[k] for k in again.category] == fresh["category"]
    assert [None if k < 0 else again.vocabulary[k] for k in again.grid] == fresh["grid"]
    assert again.closed_at.tolist() == fresh["closed_at"]
    assert first.id.tolist() != again.id.tolist()  # the old snapshot was left as it was


def test_stats_follow_writes_made_by_another_store_object(store):
    other = type(store)(store.url)  # another worker
    with store.write() as conn:
        conn.execute(sa.insert(events), bulletin_rows())
    start, end = NOW - timedelta(days=30), NOW
    before = _stats(store, start=start, end=end)
    with other.write() as conn:
        conn.execute(
            sa.update(events)
            .where(events.c.status == "handling")
            .values(status="closed", closed_at=NOW - timedelta(hours=1))
        )
    after = _stats(store, start=start, end=end)
    assert after != before
    # 911 closed, the 61 open ones closed now, and case 1001 (due later) closed early
    assert json.loads(after)["closed"] == 911 + 61 + 1
    other.close()


def test_a_store_restored_to_an_older_sequence_is_read_afresh(store):
    table = EventColumns()
    with store.write() as conn:
        conn.execute(sa.insert(events), bulletin_rows()[:10])
    with store.engine.connect() as conn:
        table.read(conn)
    with store.engine.begin() as conn:  # as a restore would: fewer rows, an older counter
        conn.execute(sa.delete(events).where(events.c.id > 4))
        conn.execute(sa.text("UPDATE store_changes SET seq = 1"))
    with store.engine.connect() as conn:
        assert table.read(conn).id.tolist() == [1, 2, 3, 4]


def test_stats_on_columns_agree_with_a_pandas_reading_of_the_rows(store):
    """Random cases: every count and median equals a direct pandas computation."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(1, 601):
        due = NOW - timedelta(hours=int(rng.integers(-300, 900)))
        closed = None
        status = str(rng.choice(["reported", "handling", "closed", "closed", "rejected", "merged"]))
        if status == "closed":
            closed = due + timedelta(seconds=int(rng.integers(-200_000, 50_000)))
        street = f"41010200{rng.integers(1, 4)}"
        rows.append(case(i, status=status, due=due, closed=closed, street=street))
    with store.write() as conn:
        conn.execute(sa.insert(events), rows)
    start, end = NOW - timedelta(days=20), NOW - timedelta(days=2)
    with store.engine.connect() as conn:
        out = stats(conn, NOW, start=start, end=end)
        sub = stats(conn, NOW, code="410102002", start=start)
    for scope, result in ((None, out), ("410102002", sub)):
        picked = [r for r in rows if scope is None or r["street"] == scope]
        lo = start
        hi = end if result is out else NOW + timedelta(microseconds=1)
        live = [r for r in picked if r["status"] not in ("rejected", "merged")]
        due = [
            r
            for r in live
            if lo <= r["close_due_at"] < hi or (r["closed_at"] and lo <= r["closed_at"] < hi)
        ]
        closed = [r for r in due if r["status"] == "closed" and r["closed_at"] < hi]
        on_time = [r for r in closed if r["closed_at"] <= r["close_due_at"]]
        hours = sorted((r["closed_at"] - r["reported_at"]).total_seconds() / 3600 for r in closed)
        assert (result["due"], result["closed"], result["closed_on_time"]) == (
            len(due),
            len(closed),
            len(on_time),
        )
        assert result["median_hours_to_close"] == round(float(np.median(hours)), 2)
        assert result["reported"] == sum(lo <= r["reported_at"] < hi for r in picked)
