import copy
import json

import pytest
import shapely
from grids_inline import collection, rect, small_features

from geogrid.boundaries.grids import grid_to_feature, read_grids
from geogrid.errors import InvalidInputError


def test_reads_every_level_and_keeps_other_properties(small_fc):
    grids = read_grids(small_fc)
    assert len(grids) == len(small_fc["features"])
    first_grid = next(g for g in grids if g.code == "410102001001001")
    assert first_grid.level == "grid"
    assert first_grid.parent == "410102001001"
    assert first_grid.attributes == {"leader": "王芳", "phone": "13812341234"}


def test_reads_a_file_and_gzip(tmp_path, small_fc):
    import gzip

    path = tmp_path / "g.geojson.gz"
    path.write_bytes(gzip.compress(json.dumps(small_fc).encode()))
    assert len(read_grids(path)) == len(small_fc["features"])


def test_feature_round_trips(small_grids):
    grid = small_grids[6]
    again = read_grids(collection([grid_to_feature(grid)]))[0]
    assert again.code == grid.code and again.attributes == grid.attributes
    assert shapely.equals_exact(again.geometry, grid.geometry, tolerance=0)


def _with(index, change):
    features = copy.deepcopy(small_features())
    change(features[index])
    return collection(features)


def _set_geometry(geometry):
    return lambda f: f.update(geometry=geometry)


BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[113.5, 34.7], [113.51, 34.71], [113.51, 34.7], [113.5, 34.71], [113.5, 34.7]]
    ],
}
SWAPPED = {
    "type": "Polygon",
    "coordinates": [[[34.70, 113.50], [34.70, 113.51], [34.71, 113.51], [34.70, 113.50]]],
}
METRES = {
    "type": "Polygon",
    "coordinates": [[[500000, 3850000], [500100, 3850000], [500100, 3850100], [500000, 3850000]]],
}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty; expected a GeoJSON FeatureCollection"),
        (
            b'{\n  "type": "FeatureCollection",\n  "features": [,]\n}',
            "invalid JSON at line 3 column 16: Expecting value",
        ),
        (b'{"type": "Feature"}', "expected a GeoJSON FeatureCollection, got 'Feature'"),
        (b"[1, 2]", "expected a GeoJSON FeatureCollection, got 'list'"),
        (b'{"type": "FeatureCollection", "features": []}', "FeatureCollection has no features"),
        (
            b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            b'{"code": "410102", "name": "x"}, "geometry": {"type": "Polygon", "coordinates": '
            b"[[[NaN, 34.7], [113.5, 34.8], [113.6, 34.8], [NaN, 34.7]]]}}]}",
            "invalid JSON: NaN is not a number JSON allows",
        ),
        (b"\xff\xfe{", "file is not UTF-8 text: byte 0"),
    ],
)
def test_bad_files_are_refused(data, message):
    with pytest.raises(InvalidInputError, match=message):
        read_grids(data)


@pytest.mark.parametrize(
    ("index", "change", "message"),
    [
        (6, lambda f: f["properties"].pop("code"), "feature 6: feature has no 'code'"),
        (
            6,
            lambda f: f["properties"].update(code="41010200100100"),
            "feature 6: code '41010200100100' is not a grid code",
        ),
        (6, lambda f: f["properties"].update(name=""), "feature 6: feature has no 'name'"),
        (
            7,
            lambda f: f["properties"].update(code="410102001001001"),
            "feature 7: duplicate code '410102001001001': also feature 6",
        ),
        (
            6,
            lambda f: f["properties"].update(level="micro"),
            "feature 6: level 'micro' disagrees with code '410102001001001' \\(grid\\)",
        ),
        (
            6,
            lambda f: f["properties"].update(parent="410102001002"),
            "feature 6: parent '410102001002' disagrees with code",
        ),
        (
            6,
            _set_geometry(BOWTIE),
            "feature 6: invalid polygon: Self-intersection at lon 113.505, lat 34.705",
        ),
        (6, _set_geometry(SWAPPED), "feature 6: vertex 0: .* lon and lat look swapped"),
        (6, _set_geometry(METRES), "feature 6: vertex 0: .* look like projected metres"),
        (
            6,
            _set_geometry({"type": "Point", "coordinates": [113.5, 34.7]}),
            "feature 6: geometry type must be Polygon or MultiPolygon, got 'Point'",
        ),
        (6, _set_geometry(None), "feature 6: geometry is missing"),
        (
            6,
            _set_geometry({"type": "Polygon", "coordinates": [[[113.5, 34.7]]]}),
            "feature 6: geometry.coordinates are not a valid Polygon array",
        ),
        (
            6,
            _set_geometry(
                {
                    "type": "Polygon",
                    "coordinates": [[[113.5, 34.7], [113.6, 95.0], [113.7, 34.7], [113.5, 34.7]]],
                }
            ),
            "feature 6: vertex 1: .*out of range",
        ),
        (6, lambda f: f.update(type="Point"), "feature 6: expected a GeoJSON Feature"),
    ],
)
def test_bad_features_name_their_index(index, change, message):
    with pytest.raises(InvalidInputError, match=message) as info:
        read_grids(_with(index, change))
    assert info.value.details[0]["index"] == index


def test_missing_parent_is_an_error_naming_it():
    features = [f for f in small_features() if f["properties"]["code"] != "410102001002"]
    with pytest.raises(
        InvalidInputError, match="parent '410102001002' of grid '410102001002001' is missing"
    ):
        read_grids(collection(features))


def test_every_problem_is_reported_not_just_the_first():
    features = small_features()
    features[9]["properties"].pop("code")
    features[6]["geometry"] = BOWTIE
    with pytest.raises(InvalidInputError, match=r"^2 problems in the grids") as info:
        read_grids(collection(features))
    # the micro grids of the refused grid 6 are not reported as orphans
    assert [d["index"] for d in info.value.details] == [6, 9]


def test_a_set_may_start_below_the_district():
    streets_down = [f for f in small_features() if f["properties"]["code"] != "410102"]
    assert len(read_grids(collection(streets_down))) == len(streets_down)


def test_numeric_code_is_read_as_its_digits():
    feature = rect(410102, "区", 113.5, 34.7, 113.6, 34.8)
    assert read_grids(collection([feature]))[0].code == "410102"
