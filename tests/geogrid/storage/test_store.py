"""The embedded store: migrations, generations, nothing half-stored."""

import copy
import sys
from datetime import datetime

import pytest
import shapely
import sqlalchemy as sa
from grids_inline import collection, small_features

from geogrid.boundaries.grids import read_grids
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.storage.schema import audit, generations, grids
from geogrid.storage.store import Store


def _rows(store, table):
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


def _snapshot(store):
    return {t.name: _rows(store, t) for t in (generations, grids, audit)}


def test_first_import_is_generation_1_and_active(store, small_grids):
    assert store.active_generation() == 1
    assert len(store.load_grids()) == len(small_grids)
    [gen] = store.generations()
    assert gen["counts"]["micro"] == 2 and gen["created_by"] == "test"


def test_migrate_is_idempotent(store):
    store.migrate()
    assert store.active_generation() == 1


def test_unchanged_grids_extend_their_range_instead_of_copying(store, small_grids):
    before = len(_rows(store, grids))
    assert store.import_grids(small_grids) == 2
    assert len(_rows(store, grids)) == before
    assert {r["generation_high"] for r in _rows(store, grids)} == {2}


def test_a_redraw_keeps_the_old_generation_and_rollback_reactivates_it(store):
    features = copy.deepcopy(small_features())
    moved = next(f for f in features if f["properties"]["code"] == "41010200100100101")
    moved["geometry"]["coordinates"][0][2] = [113.51, 34.712]
    moved["geometry"]["coordinates"][0][3] = [113.505, 34.712]
    store.import_grids(read_grids(collection(features)))
    assert store.active_generation() == 2
    new = store.get_grid("41010200100100101")
    old = store.get_grid("41010200100100101", generation=1)
    assert new.geometry.bounds[3] == 34.712 and old.geometry.bounds[3] == 34.71
    assert len(store.load_grids(1)) == len(store.load_grids(2))
    store.activate(1)
    assert store.active_generation() == 1
    assert store.index().locate(113.507, 34.711)["micro"] is None
    store.activate(2)
    assert store.index().locate(113.507, 34.711)["micro"] == "41010200100100101"


def test_import_after_a_rollback_does_not_leak_into_the_skipped_generation(store, small_grids):
    store.import_grids(small_grids[:-1])  # generation 2 drops the dedicated grid
    store.activate(1)
    store.import_grids(small_grids)  # generation 3 from generation 1's state
    assert len(store.load_grids(2)) == len(small_grids) - 1
    assert len(store.load_grids(3)) == len(small_grids)


def test_filters_select_level_subtree_and_bbox(store):
    assert [g.code for g in store.load_grids(level="street")] == ["410102001", "410102002"]
    subtree = {g.code for g in store.load_grids(code="410102001001")}
    assert subtree == {
        "410102001001",
        "410102001001001",
        "410102001001002",
        "41010200100100101",
        "41010200100100102",
    }
    in_box = {
        g.code for g in store.load_grids(level="grid", bbox_wgs84=(113.56, 34.74, 113.57, 34.75))
    }
    assert in_box == {"410102002001002"}
    assert store.count_grids(level="micro") == 2
    assert len(store.load_grids(limit=3, offset=1)) == 3


def test_areas_are_in_square_metres(store):
    with store.engine.connect() as conn:
        area = conn.scalar(sa.select(grids.c.area_m2).where(grids.c.code == "41010200100100101"))
    # 0.005 deg lon x 0.005 deg lat at 34.7 N ~ 457 m x 555 m
    assert area == pytest.approx(457 * 555, rel=0.01)


def test_summary_counts_grids_per_street(store):
    summary = store.summary()
    assert summary[0] == {
        "code": "410102001",
        "name": "林山寨街道",
        "community": 2,
        "grid": 3,
        "micro": 2,
    }
    assert summary[1]["dedicated"] == 1


def test_missing_grid_and_generation_are_not_found(store):
    with pytest.raises(NotFoundError, match="no grid with code '410102009'"):
        store.get_grid("410102009")
    with pytest.raises(NotFoundError, match="generation 42 does not exist"):
        store.activate(42)


def test_empty_store_says_what_to_do(store_url):
    store = Store(store_url)
    store.migrate()
    assert store.active_generation() is None
    with pytest.raises(NotFoundError, match="run 'geogrid import-grids FILE'"):
        store.index()
    with pytest.raises(InvalidInputError, match="no grids to import"):
        store.import_grids([])


def test_a_failure_mid_import_stores_nothing(store, small_grids, monkeypatch):
    before = _snapshot(store)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "activate", explode)  # after grid rows were inserted
    changed = [g.__class__(g.code, g.name + "·", g.geometry, g.attributes) for g in small_grids]
    with pytest.raises(RuntimeError, match="disk full"):
        store.import_grids(changed)
    assert _snapshot(store) == before


def test_geometries_round_trip_exactly(store, small_grids):
    stored = {g.code: g for g in store.load_grids()}
    for grid in small_grids:
        assert shapely.equals_exact(stored[grid.code].geometry, grid.geometry, tolerance=0)


def test_messages_never_show_the_database_password():
    store = Store("postgresql+psycopg://geogrid:s3cret@db.example:5432/geogrid")
    assert store.display_url == "postgresql+psycopg://geogrid:***@db.example:5432/geogrid"
    assert store.backend == "postgresql"


def test_a_plain_postgresql_url_means_psycopg_3():
    store = Store("postgresql://geogrid:pw@db.example/geogrid?sslmode=require")
    assert store.url == "postgresql+psycopg://geogrid:pw@db.example/geogrid?sslmode=require"
    assert store.engine.dialect.driver == "psycopg"


def test_names_and_attributes_round_trip_and_a_changed_attribute_makes_a_new_row(store):
    features = copy.deepcopy(small_features())
    grid = next(f for f in features if f["properties"]["code"] == "410102001001002")
    grid["properties"].update(leader="李娜 (代)", tags=["夜市", "学校"], extra={"n": 1, "x": 0.5})
    store.import_grids(read_grids(collection(features)))
    stored = store.get_grid("410102001001002")
    assert (stored.name, stored.attributes) == (
        "甲社区第2网格",
        {"leader": "李娜 (代)", "tags": ["夜市", "学校"], "extra": {"n": 1, "x": 0.5}},
    )
    rows = {r["code"]: r for r in _rows(store, grids) if r["generation_high"] == 2}
    assert rows["410102001001002"]["generation_low"] == 2  # a row of its own
    assert rows["410102001001001"]["generation_low"] == 1  # unchanged: extended
    grid["properties"]["extra"] = {"n": 2, "x": 0.5}  # only a nested value differs
    store.import_grids(read_grids(collection(features)))
    assert store.get_grid("410102001001002").attributes["extra"] == {"n": 2, "x": 0.5}
    assert store.get_grid("410102001001002", generation=2).attributes["extra"]["n"] == 1


@pytest.mark.parametrize("boundaries", [True, False])
def test_a_boundary_write_has_a_roomy_page_cache_and_gives_it_back(tmp_path, boundaries):
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")  # a setting of SQLite's connections
    store.migrate()
    with store.engine.connect() as conn:
        default = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    with store.write(boundaries=boundaries) as conn:
        inside = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    failing = pytest.raises(sa.exc.IntegrityError, match="NOT NULL")
    with failing, store.write(boundaries=boundaries) as conn:  # given back however it ends
        conn.execute(sa.insert(generations).values(created_at=None))
    with store.engine.connect() as conn:  # the pool hands out the same connection again
        after = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    assert inside == (-64 * 1024 if boundaries else default)
    assert after == default
    store.close()


def _wal_index(path) -> tuple[int, int]:
    """(frames in the write-ahead log, frames copied back into the database), from its index.

    SQLite's documented wal-index layout (sqlite.org/walformat.html): mxFrame is
    the header's fifth 32-bit word, nBackfill the first after its two copies.
    """
    header = (path.parent / f"{path.name}-shm").read_bytes()[:100]
    return int.from_bytes(header[16:20], sys.byteorder), int.from_bytes(
        header[96:100], sys.byteorder
    )


@pytest.mark.parametrize("boundaries", [True, False])
def test_a_boundary_write_leaves_the_log_to_a_checkpoint_after_its_commit(
    tmp_path, monkeypatch, boundaries
):
    path = tmp_path / "store.sqlite"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    queued = []
    monkeypatch.setattr(store._checkpoints, "soon", lambda: queued.append(True))
    row = {"at": datetime(2026, 7, 1), "actor": "t", "action": "a", "target": "x" * 4000}
    with store.write(boundaries=boundaries) as conn:  # some 2,000 pages of log
        conn.execute(sa.insert(audit), [{**row, "details": {}}] * 2000)
    frames, copied = _wal_index(path)
    assert frames > 1000
    if boundaries:  # committed without copying the log back: that is left to a thread
        assert queued == [True] and copied < frames
        monkeypatch.undo()
        store._checkpoints.soon()
        store._checkpoints.wait()
        assert _wal_index(path) == (frames, frames)
    else:  # SQLite's own checkpoint, at the commit
        assert queued == [] and copied == frames
    with store.engine.connect() as conn:  # the pooled connection checkpoints by itself again
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    store.close()
    monkeypatch.undo()
    with store.write(boundaries=True) as conn:  # a store used after close() still checkpoints
        conn.execute(sa.insert(audit), [{**row, "details": {}}] * 10)
    assert store._checkpoints._queued is not None
    store._checkpoints.wait()
    store.close()
