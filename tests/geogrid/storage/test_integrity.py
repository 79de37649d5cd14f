"""geogrid check finds each kind of inconsistency a crash or a hand edit could leave."""

import sqlalchemy as sa
from click.testing import CliRunner

from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.cli import main
from geogrid.storage.integrity import check
from geogrid.storage.schema import event_history, events, generations, grids

ITEMS = [
    {"lon": 113.507, "lat": 34.707, "category": "noise"},
    {"lon": 113.575, "lat": 34.745, "category": "noise"},
    {"lon": 113.59, "lat": 34.725, "category": "noise"},
]


def test_a_sound_store_passes_and_each_fault_is_named(store, clock):
    Intake(store, load_categories()).submit(ITEMS, "t", store.index(), clock.now)
    store.import_grids(store.load_grids(), actor="t")  # generation 2 extends every range
    assert check(store) == []
    result = CliRunner().invoke(main, ["--database", store.url, "check"])
    assert result.exit_code == 0 and "store consistent" in result.output

    with store.write() as conn:
        conn.execute(sa.update(generations).values(active=True))
        conn.execute(sa.delete(event_history).where(event_history.c.event_id == 1))
        conn.execute(sa.update(events).where(events.c.id == 2).values(status="closed"))
        conn.execute(sa.update(events).where(events.c.id == 3).values(grid="410102002001009"))
        conn.execute(
            sa.update(grids)
            .where(grids.c.code == "410102001")
            .values(generation_low=2, generation_high=1)
        )
    problems = check(store)
    assert problems == [
        "2 active generations, expected exactly one: [1, 2]",
        "1 grid rows whose generation range is empty (grid row ids) (e.g. 2)",
        "1 events without a history (event ids) (e.g. 1)",
        "1 events whose status is not their last step's (event ids) (e.g. 2)",
        # event 1 lies in street 410102001, whose row no longer covers its generation
        "1 events whose street is not a grid of their generation (event ids) (e.g. 1)",
        "1 events whose grid is not a grid of their generation (event ids) (e.g. 3)",
    ]
    result = CliRunner().invoke(main, ["--database", store.url, "check"])
    assert result.exit_code == 1 and "problem: 2 active generations" in result.output
