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
@pytest.mark.parametrize("share", [2.0, 0.0], ids=["in-place", "indexes-rebuilt"])
def test_moved_events_get_their_columns_batch_by_batch_and_the_rest_their_stamp(
    stocked, monkeypatch, closed_too, share
):
    monkeypatch.setattr(moves, "_BATCH", 2)
    monkeypatch.setattr(moves, "REBUILD_SHARE", share)
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


def _schema(store) -> list[tuple]:
    """The events' indexes and triggers as the database keeps them, with ANALYZE's figures.

    SQLite only (else empty).
    """
    if store.backend != "sqlite":
        return []
    with store.engine.connect() as conn:
        kept = conn.exec_driver_sql(
            "SELECT type, name, sql FROM sqlite_master "
            "WHERE tbl_name = 'events' AND type IN ('index', 'trigger') ORDER BY name"
        ).all()
        stats = conn.exec_driver_sql("SELECT * FROM sqlite_stat1 ORDER BY tbl, idx").all()
    return kept + stats


def _dropped(store, monkeypatch) -> list[str]:
    """The DROP statements the store runs from now on (collected as they run).

    On SQLite, ANALYZE runs first: its figures for the indexes must outlive a rebuild.
    """
    if store.backend == "sqlite":
        with store.write() as conn:
            conn.exec_driver_sql("ANALYZE")
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("DROP"):
            seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", listen)
    monkeypatch.setattr(moves, "_BATCH", 2)
    return seen


@pytest.mark.parametrize("share", [0.0, 0.8, 2.0])
def test_when_most_events_move_sqlite_rebuilds_the_indexes_written_and_only_those(
    stocked, monkeypatch, share
):
    monkeypatch.setattr(moves, "REBUILD_SHARE", share)
    dropped = _dropped(stocked, monkeypatch)
    schema = _schema(stocked)
    before = _rows(stocked)
    index = stocked.index()
    with stocked.write() as conn:
        seq = stocked.change_seq(conn)
        assert reassign(conn, index, True, _moves(before, CHANGES)) == 5
    assert _rows(stocked) == {
        i: {**before[i], **CHANGES[i], "generation_id": index.generation, "change_seq": seq}
        for i in before
    }
    assert _schema(stocked) == schema  # the same indexes, from the same text
    rebuilt = stocked.backend == "sqlite" and share <= 1.0  # five of five events move
    assert sorted(dropped) == (
        [
            f'DROP INDEX "{n}"'
            for n in ("ix_events_change_seq", "ix_events_grid", "ix_events_street")
        ]
        if rebuilt
        else []
    )
    if stocked.backend == "sqlite":
        with stocked.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            for column in ("grid", "street", "change_seq"):
                by_index, by_scan = (
                    conn.exec_driver_sql(
                        f"SELECT {column}, id FROM events {how} ORDER BY {column}, id"
                    ).all()
                    for how in (f"INDEXED BY ix_events_{column}", "NOT INDEXED")
                )
                assert by_index == by_scan


def test_with_few_events_moving_sqlite_updates_its_indexes_in_place(stocked, monkeypatch):
    monkeypatch.setattr(moves, "REBUILD_SHARE", 0.5)
    dropped = _dropped(stocked, monkeypatch)
    before = _rows(stocked)
    with stocked.write() as conn:
        reassign(conn, stocked.index(), True, _moves(before, {2: CHANGES[2], 4: CHANGES[4]}))
    assert dropped == []


def test_a_failure_after_the_indexes_are_dropped_stores_nothing(stocked, monkeypatch):
    monkeypatch.setattr(moves, "REBUILD_SHARE", 0.0)
    dropped = _dropped(stocked, monkeypatch)
    schema, before = _schema(stocked), _rows(stocked)
    original = moves._write_moved
    written = []

    def failing(conn, the_moves, part, generation):
        if written:
            raise RuntimeError("disk full")
        written.append(part)
        original(conn, the_moves, part, generation)

    monkeypatch.setattr(moves, "_write_moved", failing)
    with pytest.raises(RuntimeError, match="disk full"), stocked.write() as conn:
        reassign(conn, stocked.index(), True, _moves(before, CHANGES))
    assert written and (dropped or stocked.backend != "sqlite")
    assert _rows(stocked) == before
    assert _schema(stocked) == schema
