"""Saved grid indexes: the same answers, memory-mapped, one per store and generation."""

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from geogrid.boundaries.redraw import commit, plan
from geogrid.cli import main
from geogrid.engine import indexfile
from geogrid.engine.assign import GridIndex
from geogrid.engine.indexfile import load_index, save_index
from geogrid.io import load_json

DATA = Path(__file__).resolve().parents[2] / "data"


def _points(index, n=4000, seed=3):
    """Random points over the grids and beyond, plus every vertex (edges, shared corners)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = index.bounds
    x = rng.uniform(x0 - 0.01, x1 + 0.01, n)
    y = rng.uniform(y0 - 0.01, y1 + 0.01, n)
    import shapely

    corners = shapely.get_coordinates([g for _, layer in index.layers for g in layer.geometries])
    return np.concatenate([x, corners[:, 0]]), np.concatenate([y, corners[:, 1]])


def test_a_loaded_index_answers_as_the_built_one(small_grids, tmp_path):
    built = GridIndex(small_grids, generation=7, tolerance_m=50)
    loaded = load_index(save_index(built, tmp_path / "g7"))
    x, y = _points(built)
    a, b = built.assign(x, y), loaded.assign(x, y)
    for column in ("district", "street", "community", "grid", "micro", "dedicated", "method"):
        assert getattr(a, column).tolist() == getattr(b, column).tolist(), column
    assert {"inside", "edge", "nearest", "outside"} <= set(a.method.tolist())
    assert loaded.generation == 7 and loaded.tolerance_m == 50
    assert loaded.locate(113.507, 34.707) == built.locate(113.507, 34.707)
    assert isinstance(loaded.layers[0][1].engine.table, np.memmap)  # mapped, not read


def test_a_loaded_index_keeps_its_codes_mapped_and_answers_them_as_str(small_grids, tmp_path):
    built = GridIndex(small_grids, generation=1)
    loaded = load_index(save_index(built, tmp_path / "g1"))
    for _, layer in [*loaded.layers, ("dedicated", loaded.dedicated)]:
        assert isinstance(layer.codes, np.memmap) and layer.codes.dtype == "S17"  # the file
    x, y = _points(built, n=300)
    answers = [loaded.locate(x[i], y[i]) for i in range(0, len(x), 5)]
    assert answers == [built.locate(x[i], y[i]) for i in range(0, len(x), 5)]
    assert any(a["micro"] for a in answers) and any(a["dedicated"] for a in answers)
    again = GridIndex(small_grids, generation=2, reuse=loaded)  # str codes against ASCII
    pairs = zip(
        [*again.layers, (0, again.dedicated)], [*loaded.layers, (0, loaded.dedicated)], strict=True
    )
    assert all(a.engine is b.engine for (_, a), (_, b) in pairs)
    assert again.assign(x, y).micro.tolist() == built.assign(x, y).micro.tolist()


def test_another_format_or_a_broken_folder_is_not_used(small_grids, tmp_path, monkeypatch):
    folder = save_index(GridIndex(small_grids), tmp_path / "g")
    meta = json.loads((folder / "index.json").read_text())
    (folder / "index.json").write_text(json.dumps({**meta, "format": indexfile.FORMAT + 1}))
    assert load_index(folder) is None
    assert load_index(tmp_path / "nothing") is None


def test_the_store_saves_each_generation_once_and_a_commit_before_it_is_active(store):
    first = store.index()
    folder = store.index_folder(first.generation, first.tolerance_m)
    assert (folder / "index.json").exists()
    again = type(store)(store.url).index()  # another worker: mapped from the file
    assert isinstance(again.layers[0][1].engine.table, np.memmap)
    result = plan(store, load_json(DATA / "redraw_valid.geojson")["features"])
    done = commit(store, result, "admin", datetime(2026, 7, 1, tzinfo=UTC))
    new = store.index_folder(done["generation"], first.tolerance_m)
    assert new != folder and (new / "index.json").exists()
    assert isinstance(store.index().layers[0][1].engine.table, np.memmap)


def test_a_store_made_again_never_reads_the_old_ones_index(tmp_path, small_grids, monkeypatch):
    from geogrid.storage.store import Store

    monkeypatch.delenv("GEOGRID_INDEX_DIR")  # SQLite: beside the file
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    store = Store(url)
    store.migrate()
    store.import_grids(small_grids)
    old = store.index_folder(1, 30.0)
    store.index()
    assert old.parent.parent == tmp_path / "s.sqlite.indexes" and old.exists()
    store.close()
    for path in tmp_path.glob("s.sqlite*"):
        if path.is_file():
            path.unlink()
    remade = Store(url)
    remade.migrate()
    remade.import_grids(small_grids[:5])
    assert remade.index_folder(1, 30.0) != old


def test_assign_builds_the_index_of_a_grids_file_once(small_geojson, tmp_path, monkeypatch):
    events = tmp_path / "e.csv"
    events.write_text("id,lon,lat\n1,113.507,34.707\n", encoding="utf-8")
    args = ["assign", "--grids", str(small_geojson), "--events", str(events)]
    runner = CliRunner()
    first = runner.invoke(main, [*args, "--out", str(tmp_path / "a.csv")])
    assert first.exit_code == 0, first.output

    def no_build(*args, **kwargs):
        raise AssertionError("built again")

    monkeypatch.setattr("geogrid.engine.assign.GridIndex.__init__", no_build)
    second = runner.invoke(main, [*args, "--out", str(tmp_path / "b.csv")])
    assert second.exit_code == 0, second.output
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    small_geojson.write_text(small_geojson.read_text().replace("113.5", "113.50"))  # new bytes
    with pytest.raises(AssertionError, match="built again"):
        runner.invoke(main, [*args, "--out", str(tmp_path / "c.csv")], catch_exceptions=False)


def test_points_in_the_demo_district_agree_after_a_save(demo_grids, tmp_path):
    built = GridIndex(demo_grids, generation=1)
    loaded = load_index(save_index(built, tmp_path / "demo"))
    x, y = _points(built, n=20_000)
    assert built.assign(x, y).grid.tolist() == loaded.assign(x, y).grid.tolist()


def test_two_workers_saving_one_index_keep_the_first_and_a_torn_folder_is_rebuilt(
    small_grids, tmp_path
):
    folder = save_index(GridIndex(small_grids, generation=1), tmp_path / "g1")
    stamp = (folder / "index.json").stat().st_mtime_ns
    assert save_index(GridIndex(small_grids, generation=1), folder) == folder
    assert (folder / "index.json").stat().st_mtime_ns == stamp  # the first one stands
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g1"]  # no temporary left
    for path in folder.glob("0.codes.npy"):
        path.unlink()  # torn, as if replaced while read
    assert load_index(folder) is None
