"""Redraw the way GIS staff work: export for editing, change nothing or one vertex, upload back.

On the small district (tests/grids_inline.py), both backends; one slow test on a
community of the demo district.
"""

from __future__ import annotations

import copy
import json
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pyogrio
import pytest
import shapely
from grids_inline import collection, small_features

from geogrid.boundaries.export import edit_geojson, edit_gpkg
from geogrid.boundaries.grids import grid_to_feature, read_grids
from geogrid.boundaries.redraw import commit, plan
from geogrid.boundaries.upload import read_features, source_generation
from geogrid.errors import InvalidInputError
from geogrid.storage.store import Store

NOTHING = {"added": 0, "removed": 0, "reshaped": 0, "updated": 0}


def changes(result) -> dict:
    return {k: len(result.diff[k]) for k in NOTHING}


def upload(store, path: Path, scope=None):
    features = read_features(path, path.name)
    return plan(
        store, features, scope=scope, taken_from=source_generation(path, path.name, features)
    )


def shapefiles(gpkg: Path, out: Path) -> Path:
    """A zip of one Shapefile per layer, as ogr2ogr (or QGIS) writes a GeoPackage out."""
    folder = out / "shp"
    folder.mkdir()
    layers = [name for name, kind in pyogrio.list_layers(gpkg) if kind is not None]
    subprocess.run(
        [
            "ogr2ogr",
            "-q",
            "-lco",
            "ENCODING=UTF-8",
            "-f",
            "ESRI Shapefile",
            str(folder),
            str(gpkg),
            *layers,
        ],
        check=True,
        capture_output=True,
    )
    archive = out / "grids.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in sorted(folder.iterdir()):
            z.write(part, part.name)
    return archive


@pytest.mark.parametrize("scope", [None, "410102001"])
def test_an_unchanged_export_uploads_as_a_no_op_in_every_format(store, tmp_path, scope):
    geojson = tmp_path / "grids.geojson"
    geojson.write_text(json.dumps(edit_geojson(store, scope)), encoding="utf-8")
    gpkg = tmp_path / "grids.gpkg"
    edit_gpkg(store, gpkg, scope)
    for path in (geojson, gpkg, shapefiles(gpkg, tmp_path)):
        result = upload(store, path, scope)
        assert changes(result) == NOTHING, (path.suffix, result.diff)
        assert result.ok and result.stale is None
    assert source_generation(gpkg, gpkg.name, []) == 1  # from the file's metadata


def test_the_geopackage_has_a_styled_layer_per_level(store, tmp_path):
    gpkg = tmp_path / "grids.gpkg"
    counts = edit_gpkg(store, gpkg)
    assert counts == {
        "district": 1, "street": 2, "community": 3, "grid": 5, "micro": 2, "dedicated": 1,
    }  # fmt: skip
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles", read_geometry=False)
    assert sorted(styles.f_table_name) == sorted(counts)
    assert all(styles.useAsDefault) and all('fieldName="code"' in q for q in styles.styleQML)
    grid = pyogrio.read_dataframe(gpkg, layer="grid")
    assert grid.code.iloc[0] == "410102001001001"  # text, not a number that lost its digits
    assert grid.phone.iloc[0] == "13812341234"  # full attributes: an admin's export


def test_coordinates_survive_bit_for_bit(store, tmp_path):
    gpkg = tmp_path / "grids.gpkg"
    edit_gpkg(store, gpkg)
    back = {f["properties"]["code"]: f for f in read_features(gpkg, gpkg.name)}
    for grid in store.load_grids():
        ring = [tuple(p) for p in back[grid.code]["geometry"]["coordinates"][0]]
        assert ring == list(grid.geometry.__geo_interface__["coordinates"][0])  # exact floats


def test_masked_values_are_never_written(store):
    features = [grid_to_feature(g, {"generation": 1}, contacts=False) for g in store.load_grids()]
    masked = next(f for f in features if f["properties"].get("phone"))
    assert masked["properties"]["phone"] == "138****1234"
    result = plan(store, features)
    assert changes(result) == NOTHING  # the mask of the stored phone: the phone is kept
    kept = next(g for g in result.grids if g.code == masked["properties"]["code"])
    assert kept.attributes["phone"] == "13812341234"
    wrong = copy.deepcopy(features)
    index = next(i for i, f in enumerate(wrong) if f["properties"].get("phone"))
    wrong[index]["properties"]["phone"] = "139****0000"
    with pytest.raises(InvalidInputError) as refused:
        plan(store, wrong)
    detail = refused.value.details[0]
    assert (detail["index"], detail["field"]) == (index, "properties.phone")
    assert f"feature {index}" in refused.value.message


def test_an_upload_from_an_older_generation_is_flagged_with_what_changed(store, tmp_path):
    old = edit_geojson(store)
    moved = copy.deepcopy(old)
    _move_shared_vertex(moved)
    commit(store, plan(store, moved["features"]), "gis", datetime.now(UTC))
    path = tmp_path / "old.geojson"
    path.write_text(json.dumps(old), encoding="utf-8")
    result = upload(store, path)
    assert result.stale["file_generation"] == 1 and result.stale["active_generation"] == 2
    assert result.stale["changed"] == ["410102001001001", "410102001001002"]
    assert result.report()["stale"]["counts"] == {"added": 0, "removed": 0, "changed": 2}


def _move_shared_vertex(data: dict) -> None:
    """Move the top of the edge grids 001 and 002 of 甲社区 share (x 113.525) east by ~90 m."""
    for feature in data["features"]:
        if feature["properties"]["code"] in ("410102001001001", "410102001001002"):
            geometry = feature["geometry"]
            geometry["coordinates"] = [
                [[113.526, 34.73] if tuple(p) == (113.525, 34.73) else list(p) for p in ring]
                for ring in geometry["coordinates"]
            ]


def test_moving_one_shared_vertex_reshapes_two_grids_and_commits_exactly_that(store, tmp_path):
    from geogrid.cases.categories import load_categories
    from geogrid.cases.intake import Intake

    # an event just east of the old edge, near its top: it moves from grid 002 to 001
    Intake(store, load_categories()).submit(
        [{"lon": 113.5252, "lat": 34.7295, "category": "noise"}],
        "t",
        store.index(),
        datetime.now(UTC),
    )
    data = edit_geojson(store)
    _move_shared_vertex(data)
    result = plan(store, data["features"])
    assert result.ok, [p.message for p in result.problems if p.severity == "error"]
    assert [r["code"] for r in result.diff["reshaped"]] == ["410102001001001", "410102001001002"]
    assert changes(result) == NOTHING | {"reshaped": 2}
    assert result.events["open_moved"] == 1
    done = commit(store, result, "gis", datetime.now(UTC))
    assert done["events_reassigned"] == 1
    after = {g.code: g for g in store.load_grids()}
    assert after["410102001001001"].geometry.bounds[2] == 113.526  # the new vertex


def test_a_geopackage_upload_reads_every_layer(store, tmp_path):
    gpkg = tmp_path / "grids.gpkg"
    edit_gpkg(store, gpkg)
    codes = {f["properties"]["code"] for f in read_features(gpkg, gpkg.name)}
    assert codes == {g.code for g in store.load_grids()}


@pytest.mark.slow
@pytest.mark.parametrize("scope", [None, "410102001001"])
def test_the_demo_district_round_trips_as_a_no_op_in_every_format(demo_grids, tmp_path, scope):
    store = Store(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    store.migrate()
    store.import_grids(demo_grids)
    gpkg = tmp_path / "grids.gpkg"
    edit_gpkg(store, gpkg, scope)
    geojson = tmp_path / "grids.geojson"
    geojson.write_text(json.dumps(edit_geojson(store, scope)), encoding="utf-8")
    for path in (gpkg, geojson, shapefiles(gpkg, tmp_path)):
        result = upload(store, path, scope)
        assert changes(result) == NOTHING and result.ok, (path.suffix, changes(result))
        assert result.stale is None
    store.close()


def test_small_district_fixture_is_what_the_file_says():
    assert len(read_grids(collection(small_features()))) == 14


def test_a_scoped_preview_lists_its_own_problems_and_counts_the_rest(store):
    # the micro grids of 甲社区第1网格 leave a gap (a warning) in street 001: not the
    # business of an upload of 市场街社区 in street 002
    data = edit_geojson(store, "410102002001")
    result = plan(store, data["features"], scope="410102002001")
    assert result.problems == []
    elsewhere = result.report()["elsewhere"]
    assert (elsewhere["errors"], elsewhere["warnings"]) == (0, 1)
    assert elsewhere["problems"][0]["codes"] == ["410102001001001"]
    # the same warning is about an upload of 甲社区 itself, and comes first there
    own = plan(store, edit_geojson(store, "410102001001")["features"], scope="410102001001")
    assert [p.codes for p in own.problems] == [["410102001001001"]] and own.elsewhere == []


def test_errors_come_before_warnings(store):
    data = edit_geojson(store, "410102001001")
    for feature in data["features"]:  # grid 002 pushed west over grid 001: an overlap
        if feature["properties"]["code"] == "410102001001002":
            feature["geometry"]["coordinates"] = [
                [
                    [113.52, 34.70],
                    [113.55, 34.70],
                    [113.55, 34.73],
                    [113.52, 34.73],
                    [113.52, 34.70],
                ]
            ]
    result = plan(store, data["features"], scope="410102001001")
    severities = [p.severity for p in result.problems]
    assert "error" in severities and severities == sorted(severities)  # error < warning
    assert not result.ok


def test_every_problem_says_where_to_zoom(store):
    from geogrid.boundaries.scoped import where

    data = edit_geojson(store, "410102001001")
    report = plan(store, data["features"], scope="410102001001").report()
    assert report["problems"][0]["bounds"] == [113.5, 34.7, 113.525, 34.73]  # the gap
    grids = store.load_grids()
    # a problem counted without its geometry: the box of the grids it names
    bare = where([{"geometry": None, "codes": ["410102001001001", "nope"]}], grids)
    assert bare[0]["bounds"] == [113.5, 34.7, 113.525, 34.73]
    assert where([{"geometry": None, "codes": ["nope"]}], grids)[0]["bounds"] is None


@pytest.mark.slow
def test_the_gis_officers_walk_on_the_demo_district(demo_grids, tmp_path):
    """The issue's walk on one demo community: masked export, a shifted grid, a moved vertex."""
    from shapely.affinity import translate
    from shapely.geometry import mapping, shape

    from geogrid.boundaries.scoped import near_scope
    from geogrid.cases.categories import load_categories
    from geogrid.cases.intake import Intake

    store = Store(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    store.migrate()
    store.import_grids(demo_grids)
    scope = "410102001001"
    original = edit_geojson(store, scope)
    # 1. what an operator of another street reads (phones masked, generation): a no-op
    masked = [
        grid_to_feature(g, {"generation": 1}, contacts=False)
        for g in store.load_grids()
        if g.code.startswith(scope)
    ]
    assert sum("****" in str(f["properties"].get("phone")) for f in masked) == 375
    result = plan(store, masked, scope=scope)
    assert changes(result) == NOTHING and result.ok
    # 2. one grid shifted by ~25 m: its errors come first, nothing from outside the scope
    # and its neighbours; the rest of the district is one count
    shifted = copy.deepcopy(original)
    for feature in shifted["features"]:
        if feature["properties"]["code"] == "410102001001007":
            moved = translate(shape(feature["geometry"]), xoff=0.00027)
            feature["geometry"] = json.loads(json.dumps(mapping(moved)))
    result = plan(store, shifted["features"], scope=scope)
    assert not result.ok and result.problems[0].severity == "error"
    near = near_scope(result.grids, scope)
    inside = shapely.union_all([g.geometry for g in result.grids if g.code.startswith(scope)])
    for p in result.problems:
        assert set(p.codes) & near or shape(p.geometry).distance(inside) < 1e-5, p.message
    assert sum(p.severity == "error" for p in result.problems) >= 3
    for p in result.elsewhere:
        assert not any(c.startswith(scope) for c in p.codes), p.message
    assert result.report()["elsewhere"]["warnings"] > 1000
    # 3. one vertex two micro grids share, moved ~2 m: reshaped 2, the event there moves
    edited = json.loads(json.dumps(original))  # as a file holds it: lists
    a, b = "41010200100100105", "41010200100100108"
    rings = {f["properties"]["code"]: f["geometry"]["coordinates"][0] for f in edited["features"]}
    vertex = sorted(set(map(tuple, rings[a])) & set(map(tuple, rings[b])))[0]
    for code in (a, b):
        rings[code][:] = [
            [vertex[0] + 2e-5, vertex[1]] if tuple(p) == vertex else p for p in rings[code]
        ]
    before = next(g for g in store.load_grids() if g.code == a).geometry
    swept = before.symmetric_difference(shape({"type": "Polygon", "coordinates": [rings[a]]}))
    spot = swept.representative_point()
    Intake(store, load_categories()).submit(
        [{"lon": spot.x, "lat": spot.y, "category": "noise"}], "t", store.index(), datetime.now(UTC)
    )
    result = plan(store, edited["features"], scope=scope)
    assert result.ok and changes(result) == NOTHING | {"reshaped": 2}
    assert [r["code"] for r in result.diff["reshaped"]] == [a, b]
    assert result.events["open_moved"] == 1
    assert commit(store, result, "gis", datetime.now(UTC))["events_reassigned"] == 1
    # 4. the file exported before that commit is now stale, and says what changed since
    stale = plan(store, original["features"], scope=scope, taken_from=1)
    assert stale.stale["changed"] == [a, b]
    store.close()
