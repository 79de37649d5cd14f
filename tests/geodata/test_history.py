"""The demo's case history goes through the live workflow's checks, merges included."""

import itertools
from datetime import UTC, datetime

import sqlalchemy as sa

import geodata
from geodata.history import replay_demo
from geodata.roster import DEPARTMENTS, roster_rows
from geogrid.cases.categories import load_categories
from geogrid.cases.dispatch import choose
from geogrid.cases.files import read_event_rows
from geogrid.cases.intake import Intake
from geogrid.cases.staff import import_roster
from geogrid.storage.schema import event_history, events
from geogrid.storage.store import Store

# enough of the demo's events to hold duplicates whose main case was merged itself
EVENTS = 3000


def test_the_demo_history_replays_on_the_first_events(store_url, demo_grids):
    store = Store(store_url)
    store.migrate()
    store.import_grids(demo_grids)
    import_roster(store, roster_rows(demo_grids), datetime.now(UTC))
    rows = [item for _, item in itertools.islice(read_event_rows(geodata.EVENTS), EVENTS)]
    Intake(store, load_categories()).submit(
        rows, "demo", store.index(), datetime.now(UTC), describe=False
    )
    steps = replay_demo(store)
    categories = load_categories()
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(event_history)) == steps + EVENTS
        merged = conn.execute(
            sa.select(events.c.id, events.c.duplicate_of).where(events.c.status == "merged")
        ).all()
        main = dict(conn.execute(sa.select(events.c.id, events.c.status)).all())
    assert merged, "the slice holds merged duplicates"
    assert all(main[target] not in ("merged", "rejected") for _, target in merged)
    # the demo roster works the cases: every dispatch names who, by the live rules
    with store.engine.connect() as conn:
        dispatched = conn.execute(
            sa.select(events, event_history.c.assignee)
            .join(event_history, event_history.c.event_id == events.c.id)
            .where(event_history.c.to_status == "dispatched")
        ).all()
        checked = 0
        for row in dispatched[:200]:
            assert row.assignee == choose(conn, row, categories[row.category])
            checked += 1
    assert checked == 200
    # only a point outside every grid has nobody (its street or district handles it),
    # unless its category is a department's
    assert all(
        (r.assignee is None) == (r.grid is None and not categories[r.category].department)
        for r in dispatched
    )
    fire = [r for r in dispatched if r.category == "fire_hazard"]
    assert fire and all(r.assignee["department"] == "消防" for r in fire)
    assert all(
        (r.assignee_staff_id, r.assignee_department_id)
        == ((r.assignee["staff_id"], r.assignee["department_id"]) if r.assignee else (None, None))
        for r in dispatched
    )
    store.close()


def test_the_demo_roster_serves_every_grid(demo_grids):
    rows = roster_rows(demo_grids)
    served = {code for r in rows if r.role == "网格员" for code in r.grids}
    grids = {g.code for g in demo_grids if g.level == "grid"}
    assert served == grids
    leaders = {code for r in rows if r.role == "网格长" for code in r.grids}
    assert leaders == {g.code for g in demo_grids if g.level == "community"}
    assert sorted(r.department for r in rows if r.department) == sorted(DEPARTMENTS)
    # the grid's own leader is its 网格员 (the attributes are a view of the roster)
    first = next(g for g in demo_grids if g.level == "grid")
    worker = next(r for r in rows if r.grids == (first.code,))
    assert (worker.name, worker.phone) == (first.attributes["leader"], first.attributes["phone"])
