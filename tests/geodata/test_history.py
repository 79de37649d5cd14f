"""The demo's case history goes through the live workflow's checks, merges included."""

import itertools
from datetime import UTC, datetime

import sqlalchemy as sa

import geodata
from geodata.history import replay_demo
from geogrid.cases.categories import load_categories
from geogrid.cases.files import read_event_rows
from geogrid.cases.intake import Intake
from geogrid.storage.schema import event_history, events
from geogrid.storage.store import Store

# enough of the demo's events to hold duplicates whose main case was merged itself
EVENTS = 3000


def test_the_demo_history_replays_on_the_first_events(store_url, demo_grids):
    store = Store(store_url)
    store.migrate()
    store.import_grids(demo_grids)
    rows = [item for _, item in itertools.islice(read_event_rows(geodata.EVENTS), EVENTS)]
    Intake(store, load_categories()).submit(
        rows, "demo", store.index(), datetime.now(UTC), describe=False
    )
    steps = replay_demo(store)
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(event_history)) == steps + EVENTS
        merged = conn.execute(
            sa.select(events.c.id, events.c.duplicate_of).where(events.c.status == "merged")
        ).all()
        main = dict(conn.execute(sa.select(events.c.id, events.c.status)).all())
    assert merged, "the slice holds merged duplicates"
    assert all(main[target] not in ("merged", "rejected") for _, target in merged)
    store.close()
