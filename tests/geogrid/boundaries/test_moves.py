"""Writing a redraw's moves: batch by batch, only the columns a batch changes, every row once."""

from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa

from geogrid.boundaries import moves
from geogrid.boundaries.moves import CODE_COLUMNS, Moves, reassign
from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.storage.schema import events

NOW = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
COLUMNS = (events.c.id, events.c.status, events.c.generation_id, events.c.change_seq)


@pytest.fixture
def stocked(store):
    """Five events in the small district, the fifth closed."""
    items = [
        {"lon": 113.507, "lat": 34.707, "category": "noise"},  # micro 01, dedicated none
        {"lon": 113.53, "lat": 34.72, "category": "noise"},
        {"lon": 113.575, "lat": 34.725, "category": "noise"},  # under the dedicated grid
        {"lon": 113.59, "lat": 34.75, "category": "noise"},
        {"lon": 113.52, "lat": 34.75, "category": "noise"},
    ]
    Intake(store, load_categories()).submit(items, "t", store.index(), NOW)
    with store.write() as conn:
        conn.execute(sa.update(events).where(events.c.id == 5).values(status="closed"))
    return store


def _rows(store) -> dict[int, dict]:
    with store.engine.connect() as conn:
        query = sa.select(*COLUMNS, *(events.c[c] for c in CODE_COLUMNS)).order_by(events.c.id)
        return {r.id: dict(r._mapping) for r in conn.execute(query)}


def _moves(before: dict[int, dict], changes: dict[int, dict]) -> Moves:
    """Moves of the events in ``changes`` (id → the columns that change and their values)."""
    ids = sorted(changes)
    old = {c: np.array([before[i][c] or "" for i in ids], dtype=object) for c in CODE_COLUMNS}
    new = {
        c: np.array([changes[i].get(c, before[i][c]) or "" for i in ids], dtype=object)
        for c in CODE_COLUMNS
    }
    status = np.array([before[i]["status"] for i in ids], dtype=object)
    return Moves(ids=np.array(ids, dtype=np.int64), status=status, old=old, new=new)


# each event changes other columns, so no two batches of two set the same ones
CHANGES = {
    1: {"street": "410102002", "community": "410102002001", "grid": "410102002001001"},
    2: {"method": "edge"},
    3: {"dedicated": None, "grid": "410102002001002"},
    4: {"micro": "41010200200100201"},
    5: {"grid": "410102001002009"},
}


@pytest.mark.parametrize("closed_too", [True, False])
def test_moved_events_get_their_columns_batch_by_batch_and_the_rest_their_stamp(
    stocked, monkeypatch, closed_too
):
    monkeypatch.setattr(moves, "_BATCH", 2)
    before = _rows(stocked)
    index = stocked.index()
    with stocked.write() as conn:
        seq = stocked.change_seq(conn)
        moved = reassign(conn, index, closed_too, _moves(before, CHANGES))
    assert moved == (5 if closed_too else 4)
    after = _rows(stocked)
    for i, row in after.items():
        touched = closed_too or row["status"] != "closed"
        expected = {**before[i], **(CHANGES[i] if touched else {})}
        if touched:
            expected.update(generation_id=index.generation, change_seq=seq)
        assert row == expected


def test_with_nothing_moved_every_event_still_gets_the_generation_and_stamp(stocked):
    before = _rows(stocked)
    index = stocked.index()
    with stocked.write() as conn:
        seq = stocked.change_seq(conn)
        assert reassign(conn, index, True, _moves(before, {})) == 0
    assert _rows(stocked) == {
        i: {**row, "generation_id": index.generation, "change_seq": seq}
        for i, row in before.items()
    }
