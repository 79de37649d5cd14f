"""Redraw: validation rules on golden files, split, partial upload, rollback, crash safety."""

import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from geogrid.boundaries.redraw import commit, plan, rollback
from geogrid.boundaries.upload import Limits, read_features
from geogrid.cases.categories import load_categories
from geogrid.cases.dispatch import accept
from geogrid.cases.intake import Intake
from geogrid.cases.staff import StaffRow, import_roster
from geogrid.errors import InvalidCRSError, InvalidInputError, NotFoundError
from geogrid.io import load_json
from geogrid.storage.integrity import check
from geogrid.storage.schema import audit, event_history, events, generations, grids

DATA = Path(__file__).resolve().parents[2] / "data"
NOW = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)


def features(name: str) -> list:
    return load_json(DATA / f"{name}.geojson")["features"]


def snapshot(store) -> dict:
    with store.engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(t.c.id))]
            for t in (generations, grids, events, audit)
        }


@pytest.fixture
def stocked(store):
    """The small district with events across community 410102002001 (grids south | north)."""
    items = [
        {"lon": 113.575, "lat": 34.745, "category": "noise"},  # 1: north -> band 3
        {"lon": 113.59, "lat": 34.755, "category": "sanitation"},  # 2: north -> band 3
        {"lon": 113.575, "lat": 34.715, "category": "noise"},  # 3: south -> band 1 (same)
        {"lon": 113.59, "lat": 34.725, "category": "fire_hazard"},  # 4: south -> band 2
        {"lon": 113.585, "lat": 34.745, "category": "noise"},
    ]  # 5: closed, north -> 3
    Intake(store, load_categories()).submit(items, "t", store.index(), NOW)
    with store.write() as conn:  # a closed case keeps its history unless asked
        conn.execute(sa.update(events).where(events.c.id == 5).values(status="closed"))
        conn.execute(
            sa.insert(event_history).values(
                event_id=5, at=NOW, actor="t", from_status="reported", to_status="closed"
            )
        )
    return store


def _by_id(store) -> dict:
    with store.engine.connect() as conn:
        return {r.id: (r.grid, r.generation_id) for r in conn.execute(sa.select(events))}


def test_the_valid_file_is_clean_and_changes_nothing(stocked):
    result = plan(stocked, features("redraw_valid"))
    # T-junctions (a grid corner on its community's edge) are no fault: only the micro
    # grids' intended gap (they need not cover their grid) is reported, as a warning
    assert result.ok
    assert [(p.kind, p.severity, p.codes) for p in result.problems] == [
        ("gap", "warning", ["410102001001001"])
    ]
    assert result.diff["unchanged"] == 14 and not result.diff["reshaped"]
    assert result.events["open_moved"] == result.events["closed_moved"] == 0


@pytest.mark.parametrize(
    ("name", "kind", "severity", "message"),
    [
        (
            "redraw_overlap",
            "overlap",
            "error",
            r"grid 410102001001001 and 410102001001002 overlap by 3\d{5}\.\d m²",
        ),
        (
            "redraw_outside_parent",
            "outside_parent",
            "error",
            r"grid 410102001002001 reaches \d+\.\d m² outside its parent 410102001002",
        ),
        (
            "redraw_gap",
            "gap",
            "error",
            r"m² of community 410102002001 is in none of its grid grids",
        ),
        (
            "redraw_sliver",
            "sliver",
            "error",
            r"sliver: grid 410102001001001 and 410102001001002 overlap by 30\.\d m²",
        ),
        (
            "redraw_micro_gap_only",
            "gap",
            "warning",
            r"m² of grid 410102001001001 is in none of its micro grids",
        ),
    ],
)
def test_each_topology_rule(stocked, name, kind, severity, message):
    result = plan(stocked, features(name))
    found = [p for p in result.problems if p.kind == kind and p.severity == severity]
    assert found, [p.message for p in result.problems]
    assert any(__import__("re").search(message, p.message) for p in found)
    assert all(p.geometry and p.geometry["type"] in ("Polygon", "MultiPolygon") for p in found)
    assert result.ok == (severity == "warning")


def test_tolerances_are_configurable(stocked):
    from geogrid.boundaries.topology import Tolerances

    lenient = plan(stocked, features("redraw_sliver"), tolerances=Tolerances(overlap_m2=50))
    assert lenient.ok


def test_a_file_leaving_grids_without_parents_is_refused(stocked):
    with pytest.raises(
        InvalidInputError, match="parent '410102001002' of grid '410102001002001' is missing"
    ):
        plan(stocked, features("redraw_orphan"))
    street_grids = [
        f
        for f in features("redraw_valid")
        if f["properties"]["code"].startswith("410102001") and len(f["properties"]["code"]) >= 15
    ]
    result = plan(stocked, street_grids, scope="410102001")
    assert not result.ok
    assert any(
        p.kind == "orphan" and "left without its parent 410102001001" in p.message
        for p in result.problems
    )


def test_scope_must_match_the_codes_inside(stocked):
    with pytest.raises(
        InvalidInputError,
        match="scope '410102001001' does not match the codes "
        "inside: 4 outside it, first '410102002001001'",
    ):
        plan(stocked, features("redraw_split_scope"), scope="410102001001")
    with pytest.raises(NotFoundError, match="scope '410102009' is not a grid"):
        plan(stocked, features("redraw_split_scope"), scope="410102009")


def test_split_one_community_moves_its_events_to_the_right_new_grids(stocked):
    result = plan(stocked, features("redraw_split_scope"), scope="410102002001")
    assert result.ok, [p.message for p in result.problems]
    assert result.diff["added"] == ["410102002001003"]
    assert [r["code"] for r in result.diff["reshaped"]] == ["410102002001001", "410102002001002"]
    assert result.events["open_moved"] == 3 and result.events["closed_moved"] == 1
    done = commit(stocked, result, "admin", NOW)
    assert done == {"generation": 2, "events_reassigned": 3}
    assert _by_id(stocked) == {
        1: ("410102002001003", 2),
        2: ("410102002001003", 2),
        3: ("410102002001001", 2),  # same grid, now under generation 2
        4: ("410102002001002", 2),
        5: ("410102002001002", 1),  # closed: keeps its historical assignment
    }
    untouched = {g.code for g in stocked.load_grids(1)} - {"410102002001001", "410102002001002"}
    assert untouched <= {g.code for g in stocked.load_grids(2)}
    with stocked.engine.connect() as conn:
        row = conn.execute(sa.select(generations).where(generations.c.id == 2)).one()
        actions = conn.execute(sa.select(audit.c.action)).scalars().all()
    assert row.scope == "410102002001" and row.active
    assert "reassign_events" in actions


def test_closed_events_move_too_when_asked(stocked):
    result = plan(stocked, features("redraw_split_scope"), scope="410102002001")
    assert commit(stocked, result, "admin", NOW, reassign_closed=True)["events_reassigned"] == 4
    assert _by_id(stocked)[5] == ("410102002001003", 2)


def test_a_redraw_rebuilds_only_the_levels_it_changes(stocked):
    import numpy as np

    from geogrid.boundaries.grids import grid_to_feature

    def mapped(result):  # taken from the active generation's saved index, not built
        return {
            lv for lv, layer in result.index.layers if isinstance(layer.engine.table, np.memmap)
        }

    same = plan(stocked, [grid_to_feature(g) for g in stocked.load_grids()])
    assert mapped(same) == {lv for lv, _ in same.index.layers}
    split = plan(stocked, features("redraw_split_scope"), scope="410102002001")
    assert mapped(split) == {"district", "street", "community", "micro"}  # grids changed
    commit(stocked, split, "admin", NOW)
    x, y = np.array([113.575, 113.59, 113.507]), np.array([34.745, 34.725, 34.707])
    from geogrid.engine.assign import GridIndex

    fresh = GridIndex(stocked.load_grids(), generation=2)
    assert stocked.index().assign(x, y).grid.tolist() == fresh.assign(x, y).grid.tolist()


def test_events_written_between_the_preview_and_the_commit_are_reassigned_too(stocked):
    result = plan(stocked, features("redraw_split_scope"), scope="410102002001")
    late = {"lon": 113.575, "lat": 34.745, "category": "noise"}  # where event 1 is: north
    Intake(stocked, load_categories()).submit([late], "t", stocked.index(), NOW)
    with stocked.write() as conn:  # and event 3 is closed meanwhile: it keeps its grid
        conn.execute(sa.update(events).where(events.c.id == 3).values(status="closed"))
    assert commit(stocked, result, "admin", NOW)["events_reassigned"] == 4  # 1, 2, 4 and 6
    assert _by_id(stocked)[6] == ("410102002001003", 2)
    assert _by_id(stocked)[3] == ("410102002001001", 1)


def test_rollback_reactivates_and_reassigns_open_events(stocked):
    commit(
        stocked, plan(stocked, features("redraw_split_scope"), scope="410102002001"), "admin", NOW
    )
    assert rollback(stocked, 1, "admin", NOW) == {"generation": 1, "events_reassigned": 3}
    assert stocked.active_generation() == 1
    assert _by_id(stocked) == {
        1: ("410102002001002", 1),
        2: ("410102002001002", 1),
        3: ("410102002001001", 1),
        4: ("410102002001001", 1),
        5: ("410102002001002", 1),
    }


def test_a_refused_commit_leaves_everything_as_it_was(stocked):
    before = snapshot(stocked)
    result = plan(stocked, features("redraw_overlap"))
    with pytest.raises(InvalidInputError, match="the upload has errors; nothing was changed"):
        commit(stocked, result, "admin", NOW)
    assert snapshot(stocked) == before


def test_a_stale_preview_is_not_committed(stocked):
    stale = plan(stocked, features("redraw_split_scope"), scope="410102002001")
    commit(stocked, plan(stocked, features("redraw_valid")), "admin", NOW)
    with pytest.raises(InvalidInputError, match="the active generation changed"):
        commit(stocked, stale, "admin", NOW)


def test_killed_in_the_middle_of_a_commit_the_previous_generation_stands(stocked):
    before = snapshot(stocked)
    script = textwrap.dedent(f"""
        import os, signal, json
        from datetime import datetime, UTC
        from geogrid.storage.store import Store
        from geogrid.boundaries.redraw import plan, commit
        from geogrid.boundaries.grids import load_json
        store = Store({stocked.url!r})
        original = Store._write_grids
        def write_then_die(self, *args, **kwargs):
            original(self, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)  # mid-transaction: rows written, no commit
        Store._write_grids = write_then_die
        result = plan(store, load_json({str(DATA / "redraw_split_scope.geojson")!r})["features"],
                      scope="410102002001")
        commit(store, result, "admin", datetime.now(UTC))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=os.environ.copy()
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert snapshot(stocked) == before
    assert stocked.active_generation() == 1
    assert check(stocked) == []


def test_reading_uploads(tmp_path):
    import geopandas as gpd

    frame = gpd.read_file(DATA / "redraw_valid.geojson").to_crs(4547)  # CGCS2000 3-degree GK
    frame.to_file(tmp_path / "grids.gpkg", driver="GPKG")
    read = read_features(tmp_path / "grids.gpkg", "grids.gpkg")
    assert len(read) == 14 and read[0]["properties"]["code"] == "410102"
    x, y = read[0]["geometry"]["coordinates"][0][0]
    assert (x, y) == pytest.approx((113.5, 34.7), abs=1e-7)
    frame.to_file(tmp_path / "grids.shp")
    with zipfile.ZipFile(tmp_path / "grids.zip", "w") as z:
        for part in tmp_path.glob("grids.*"):
            if part.suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                z.write(part, part.name)
    assert len(read_features(tmp_path / "grids.zip", "grids.zip")) == 14


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("a.geojson", b"not json", InvalidInputError, "invalid JSON at line 1 column 1"),
        (
            "a.geojson",
            b'{"type": "Feature"}',
            InvalidInputError,
            "expected a GeoJSON FeatureCollection, got 'Feature'",
        ),
        ("a.kml", b"<kml/>", InvalidInputError, "expected one of .geojson, .json, .gpkg, .zip"),
        ("a.zip", b"PK nonsense", InvalidInputError, "not a zip file"),
        ("a.gpkg", b"SQLite format 3\0 broken", InvalidInputError, "cannot read a.gpkg"),
    ],
)
def test_bad_files_are_refused(tmp_path, name, content, error, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        read_features(path, name)


def test_unknown_crs_and_limits(tmp_path):
    with pytest.raises(InvalidCRSError, match="crs 'EPSG:3857': GeoJSON must be lon/lat"):
        read_features(DATA / "redraw_crs_3857.geojson", "x.geojson")
    path = DATA / "redraw_valid.geojson"
    with pytest.raises(InvalidInputError, match=r"the file is [\d,]+ bytes; the limit is 1,000"):
        read_features(path, "x.geojson", Limits(max_bytes=1000))
    with pytest.raises(InvalidInputError, match="14 features; the limit is 10"):
        read_features(path, "x.geojson", Limits(max_features=10))
    with pytest.raises(InvalidInputError, match="70 vertices; the limit is 50"):
        read_features(path, "x.geojson", Limits(max_vertices=50))


def test_zip_traversal_and_bombs_are_refused_before_extraction(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../etc/grids.shp", b"x")
    with pytest.raises(
        InvalidInputError, match=r"unsafe path in the zip: '\.\./\.\./etc/grids\.shp'"
    ):
        read_features(evil, "evil.zip")
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("grids.shp", b"\0" * 2_000_000)
    with pytest.raises(InvalidInputError, match="unpacks to 2,000,000 bytes; the limit is"):
        read_features(big, "big.zip", Limits(max_unzipped_bytes=1_000_000))
    assert not (tmp_path.parent / "etc").exists()


def test_intake_under_a_replaced_generation_is_refused_or_reassigned(stocked):
    from geogrid.cases.intake import StaleIndexError

    old_index = stocked.index()
    commit(stocked, plan(stocked, features("redraw_split_scope"), scope="410102002001"), "a", NOW)
    intake = Intake(stocked, load_categories())
    item = [{"lon": 113.575, "lat": 34.745, "category": "noise"}]
    with pytest.raises(StaleIndexError, match="changed from generation 1 to 2"):
        intake.submit(item, "t", old_index, NOW)
    [result] = intake.submit(item, "t", old_index, NOW, reindex=stocked.index)
    assert result.event["assignment"]["generation"] == 2
    assert result.event["assignment"]["grid"] == "410102002001003"


def _roster(store, codes_by_ref: dict[str, tuple[str, ...]]) -> None:
    rows = [
        StaffRow(i + 2, ref, f"员{i}", None, "网格员", None, codes)
        for i, (ref, codes) in enumerate(codes_by_ref.items())
    ]
    import_roster(store, rows, NOW)


def test_the_dry_run_lists_grids_left_without_a_grid_worker(stocked):
    assert plan(stocked, features("redraw_split_scope"), scope="410102002001").unstaffed == []
    _roster(stocked, {"A": ("410102002001001",), "B": ("410102002001002",)})
    result = plan(stocked, features("redraw_split_scope"), scope="410102002001")
    # the new grid 003 has nobody; so have the grids nobody served before (street 001)
    assert result.unstaffed == [
        "410102001001001",
        "410102001001002",
        "410102001002001",
        "410102002001003",
    ]
    assert result.report()["unstaffed"] == {"count": 4, "codes": result.unstaffed}


def test_staff_follow_their_codes_across_a_redraw(stocked):
    _roster(stocked, {"A": ("410102002001001",), "B": ("410102002001002",)})
    commit(stocked, plan(stocked, features("redraw_split_scope"), scope="410102002001"), "a", NOW)
    with stocked.write() as conn:
        row = conn.execute(sa.select(events).where(events.c.id == 4)).one()
        assert (row.grid, row.generation_id) == ("410102002001002", 2)
        assignee = accept(conn, row, "op", NOW, load_categories()[row.category])
    assert (assignee["name"], assignee["rule"]) == ("员1", "grid")
    with stocked.engine.connect() as conn:  # the reshaped grid's new events go to B as well
        assert (
            dict(conn.execute(sa.text("SELECT ref, id FROM staff")).all())["B"]
            == (assignee["staff_id"])
        )


def test_an_in_memory_store_plans_in_one_thread(small_grids):
    """``sqlite://`` is one database per thread: the dry run cannot hand work to another."""
    from geogrid.storage.store import Store

    store = Store("sqlite://")
    store.migrate()
    store.import_grids(small_grids, actor="test")
    result = plan(store, features("redraw_valid"))
    assert result.ok and result.diff["unchanged"] == 14
    assert result.events["open_moved"] == 0 and result.moves is not None
