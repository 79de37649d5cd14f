"""The assignment rule: finest covering grid, lowest code on shared boundaries, nearest, outside."""

import dataclasses
import functools

import numpy as np
import pytest
import shapely
from grids_inline import collection, small_features
from hypothesis import given, settings
from hypothesis import strategies as st

from geogrid.boundaries.grids import read_grids
from geogrid.coords import from_wgs84
from geogrid.engine.assign import GridIndex

SMALL = read_grids(collection(small_features()))
SMALL_INDEX = GridIndex(SMALL)


@pytest.fixture
def index(small_grids):
    return GridIndex(small_grids, generation=7)


@pytest.mark.parametrize(
    ("x", "y", "finest", "method"),
    [
        (113.507, 34.707, "41010200100100101", "inside"),
        (113.52, 34.72, "410102001001001", "inside"),  # in the grid, in no micro grid
        (113.51, 34.707, "41010200100100101", "edge"),  # micro edge shared by 01 | 02
        (113.525, 34.72, "410102001001001", "edge"),  # grid edge 001 | 002
        (113.525, 34.73, "410102001001001", "edge"),  # T-vertex of three grids
        (113.55, 34.73, "410102001001002", "edge"),  # vertex of four grids, two streets
        (113.55, 34.74, "410102001002001", "edge"),  # street boundary
        (113.50, 34.72, "410102001001001", "edge"),  # the district's outer edge
        (113.59, 34.75, "410102002001002", "inside"),
    ],
)
def test_rule_on_known_points(index, x, y, finest, method):
    found = index.locate(x, y)
    assert found["method"] == method
    assert finest in (found["micro"], found["grid"])
    assert found["micro"] == (finest if len(finest) == 17 else None)
    assert found["street"] == finest[:9] and found["community"] == finest[:12]
    assert found["generation"] == 7


def test_dedicated_grid_is_reported_beside_the_chain(index):
    found = index.locate(113.575, 34.725)
    assert found["dedicated"] == "410102002001Z01"
    assert found["grid"] == "410102002001001"
    assert index.locate(113.59, 34.75)["dedicated"] is None


def test_a_point_just_outside_goes_to_the_nearest_grid_within_30_m(index):
    # ~18 m west of the district's western edge (1 deg lon ~ 91.4 km here)
    found = index.locate(113.50 - 18 / 91_400, 34.715)
    assert found["method"] == "nearest"
    assert found["grid"] == "410102001001001" and found["micro"] is None


def test_a_point_far_outside_is_kept_as_outside_with_its_district(index):
    found = index.locate(113.50 - 100 / 91_400, 34.715)
    assert found == {
        "district": "410102",
        "street": None,
        "community": None,
        "grid": None,
        "micro": None,
        "dedicated": None,
        "method": "outside",
        "generation": 7,
    }


def test_tolerance_is_configurable(small_grids):
    x, y = 113.50 - 18 / 91_400, 34.715
    assert GridIndex(small_grids, tolerance_m=10).locate(x, y)["method"] == "outside"
    assert GridIndex(small_grids, tolerance_m=0).locate(x, y)["method"] == "outside"
    with pytest.raises(ValueError, match="tolerance_m must be >= 0 metres, got -1"):
        GridIndex(small_grids, tolerance_m=-1)


def test_gcj02_input_is_converted_before_assignment(index):
    x, y = from_wgs84(113.507, 34.707, "gcj02")
    assert index.locate(float(x), float(y), "gcj02")["micro"] == "41010200100100101"
    # unconverted, the same GCJ-02 numbers land ~580 m away: not in that micro grid
    assert index.locate(float(x), float(y))["micro"] != "41010200100100101"


def test_empty_arrays(index):
    assert len(index.assign(np.array([]), np.array([]))) == 0
    assert len(index.assign(np.array([]), np.array([])).joined()) == 0


def test_joined_codes_are_each_points_columns_in_order(index):
    """What a redraw compares with the codes stored: every column, '' for none, in order."""
    rng = np.random.default_rng(5)
    x, y = rng.uniform(113.49, 113.61, 500), rng.uniform(34.69, 34.76, 500)
    found = index.assign(x, y)
    columns = ("district", "street", "community", "grid", "micro", "dedicated", "method")
    expected = ["|".join(row) for row in zip(*(getattr(found, c) for c in columns), strict=True)]
    assert found.joined().tolist() == expected
    assert len(set(expected)) > 10  # inside, on edges, nearest, outside, dedicated


def _brute_force_owner(grids, x, y):
    """Lowest code among the finest covering regular grids: shapely.covers on every grid."""
    codes, levels, geometries = _arrays(grids)
    covering = shapely.covers(geometries, shapely.Point(x, y))
    for level in ("micro", "grid"):
        found = sorted(codes[covering & (levels == level)])
        if found:
            return found[0]
    return None


_ARRAYS: dict[int, tuple] = {}


def _arrays(grids):
    """Codes, levels and geometries of ``grids`` as arrays (cached per list)."""
    if id(grids) not in _ARRAYS:
        _ARRAYS[id(grids)] = (
            grids,
            np.array([g.code for g in grids]),
            np.array([g.level for g in grids]),
            np.array([g.geometry for g in grids], dtype=object),
        )
    return _ARRAYS[id(grids)][1:]


def _check_chain(found):
    for child, parent in (("community", "street"), ("grid", "community"), ("micro", "grid")):
        if found[child]:
            assert found[child].startswith(found[parent])
    assert found["street"].startswith(found["district"])


inside_small = st.tuples(st.floats(113.50, 113.60), st.floats(34.70, 34.76))
on_small_edges = st.one_of(
    st.tuples(
        st.sampled_from([113.50, 113.505, 113.51, 113.515, 113.525, 113.55, 113.60]),
        st.floats(34.70, 34.76),
    ),
    st.tuples(st.floats(113.50, 113.60), st.sampled_from([34.70, 34.705, 34.71, 34.73, 34.76])),
    st.tuples(
        st.sampled_from([113.50, 113.51, 113.525, 113.55, 113.60]),
        st.sampled_from([34.70, 34.705, 34.71, 34.73, 34.76]),
    ),
)


@given(st.one_of(inside_small, on_small_edges))
def test_every_point_in_the_small_district_has_one_owner_per_level(point):
    small_grids = SMALL
    found = SMALL_INDEX.locate(*point)
    assert found["method"] in ("inside", "edge")
    assert all(found[level] for level in ("district", "street", "community", "grid"))
    _check_chain(found)
    assert _brute_force_owner(small_grids, *point) in (found["micro"], found["grid"])
    owner = found["micro"] or found["grid"]
    geometry = next(g.geometry for g in small_grids if g.code == owner)
    on_boundary = geometry.boundary.intersects(shapely.Point(point))
    assert (found["method"] == "edge") == on_boundary


# -- the demo district ------------------------------------------------------


def _shared_points(grids, draw_index, draw_fraction):
    """A vertex or a point along an edge of a demo grid or micro grid."""
    _, levels, geometries = _arrays(grids)
    polygons = geometries[(levels == "grid") | (levels == "micro")]
    geometry = polygons[draw_index % len(polygons)]
    ring = shapely.get_exterior_ring(shapely.get_geometry(geometry, 0))
    if draw_fraction is None:
        coords = shapely.get_coordinates(ring)
        return tuple(coords[draw_index % (len(coords) - 1)])
    return tuple(shapely.get_coordinates(ring.interpolate(draw_fraction, normalized=True))[0])


@functools.cache
def _demo():
    import geodata

    grids = read_grids(geodata.GRIDS)
    return grids, GridIndex(grids)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**6), st.one_of(st.none(), st.floats(0, 1)))
def test_demo_points_on_edges_and_vertices_have_exactly_one_owner(draw_index, draw_fraction):
    demo_grids, demo_index = _demo()
    x, y = _shared_points(demo_grids, draw_index, draw_fraction)
    found = demo_index.locate(x, y)
    _check_chain(found)
    if found["method"] == "nearest":
        # a point interpolated along the district's outer edge may round to just outside
        owner = next(g for g in demo_grids if g.code == found["grid"])
        assert owner.geometry.distance(shapely.Point(x, y)) < 1e-12
        return
    assert found["method"] in ("inside", "edge")
    assert _brute_force_owner(demo_grids, x, y) in (found["micro"], found["grid"])


@pytest.mark.slow
def test_demo_assignment_equals_geopandas_sjoin_off_boundaries(demo_grids, demo_index):
    import geopandas as gpd

    rng = np.random.default_rng(1)
    x0, y0, x1, y1 = shapely.total_bounds([g.geometry for g in demo_grids])
    n = 100_000
    x, y = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    found = demo_index.assign(x, y)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
    expected = np.full(n, "", dtype="U17")
    for level in ("grid", "micro"):  # finer level last, so it wins
        layer = [g for g in demo_grids if g.level == level]
        frame = gpd.GeoDataFrame(
            {"code": [g.code for g in layer]}, geometry=[g.geometry for g in layer], crs=4326
        )
        joined = gpd.sjoin(points, frame, predicate="within", how="inner")
        assert not joined.index.duplicated().any()  # no overlaps off boundaries
        expected[joined.index.to_numpy()] = joined["code"].to_numpy()
    ours = np.where(found.micro != "", found.micro, found.grid)
    in_a_grid = expected != ""
    assert in_a_grid.sum() > 50_000
    on_boundary = found.method == "edge"
    assert on_boundary.sum() == 0  # random floats do not land on edges
    assert (ours[in_a_grid] == expected[in_a_grid]).all()
    assert set(found.method[in_a_grid]) == {"inside"}
    assert set(found.method[~in_a_grid]) <= {"nearest", "outside"}
    assert (found.method[~in_a_grid] == "nearest").any()


@pytest.mark.slow
def test_demo_nearest_is_the_lowest_coded_closest_grid_within_the_tolerance(demo_grids, demo_index):
    """Points up to 70 m around the district's outline: brute force over every three-level grid."""
    from geogrid.coords import metric_transformer, to_metric

    tiling = sorted((g for g in demo_grids if g.level == "grid"), key=lambda g: g.code)
    polygons = np.array([g.geometry for g in tiling], dtype=object)
    forward = metric_transformer(polygons)
    metric = to_metric(polygons, forward)
    outline = shapely.union_all(metric).exterior
    rng = np.random.default_rng(5)
    along = shapely.line_interpolate_point(outline, rng.uniform(0, 1, 600), normalized=True)
    offset = shapely.buffer(along, rng.uniform(0.5, 70, 600))  # a circle around each
    points = shapely.line_interpolate_point(
        shapely.get_exterior_ring(offset), rng.uniform(0, 1, 600), normalized=True
    )
    mx, my = shapely.get_x(points), shapely.get_y(points)
    x, y = metric_transformer(polygons, inverse=True).transform(mx, my)
    found = demo_index.assign(x, y)
    outside = ~shapely.intersects(shapely.union_all(metric), points)
    assert outside.sum() > 100
    distances = shapely.distance(points[:, None], metric[None, :])  # points x grids
    best = distances.min(axis=1)
    nearest = np.array([tiling[np.flatnonzero(row == row.min())[0]].code for row in distances])
    within = outside & (best <= 30)
    assert within.sum() > 30 and (outside & (best > 31)).sum() > 30
    assert (found.method[within] == "nearest").all()
    assert (found.grid[within] == nearest[within]).all()
    assert (found.method[outside & (best > 30)] == "outside").all()


@pytest.mark.slow
def test_demo_whole_rule_equals_the_reference_engine_with_holes_in_the_finer_levels(demo_grids):
    """Every column, against STRtree: points far outside, around, on vertices and not finite.

    Some micro and three-level grids are left out, so communities and streets own
    points themselves; the cell engine's vacancy table and in-place layers must
    agree with the layer-by-layer reference everywhere.
    """
    from geogrid.engine.reference import STRtreeEngine

    rng = np.random.default_rng(11)
    kept = [g for i, g in enumerate(demo_grids) if g.level not in ("micro", "grid") or i % 3]
    cells, reference = GridIndex(kept), GridIndex(kept, engine=STRtreeEngine)
    x0, y0, x1, y1 = cells.bounds
    w, h = x1 - x0, y1 - y0
    x = rng.uniform(x0 - w / 4, x1 + w / 4, 40_000)
    y = rng.uniform(y0 - h / 4, y1 + h / 4, 40_000)
    vertices = shapely.get_coordinates([g.geometry for g in kept])[::97]
    x = np.concatenate([x, vertices[:, 0], [np.nan, np.inf, x0]])
    y = np.concatenate([y, vertices[:, 1], [y0, 0.0, -np.inf]])
    ours, theirs = cells.assign(x, y), reference.assign(x, y)
    assert {"inside", "edge", "nearest", "outside"} <= set(ours.method)
    assert (ours.community != "").sum() > (ours.grid != "").sum()  # communities own points
    for column in ("district", "street", "community", "grid", "micro", "dedicated", "method"):
        assert (getattr(ours, column) == getattr(theirs, column)).all(), column


@pytest.mark.slow
def test_points_screened_near_the_outline_still_get_the_nearest_grid(demo_grids):
    """Only three-level grids: the vacancy table's reach bit decides the nearest search.

    With no coarse layer, the cells no layer touches reach within 30 m of the
    grids; a point there must still be searched (VACANT), one beyond must not (FAR).
    """
    from geogrid.coords import metric_transformer, to_metric
    from geogrid.engine.reference import STRtreeEngine
    from geogrid.engine.sweep import FAR, VACANT

    tiling = [g for g in demo_grids if g.level == "grid"]
    cells, reference = GridIndex(tiling), GridIndex(tiling, engine=STRtreeEngine)
    polygons = np.array([g.geometry for g in tiling], dtype=object)
    outline = shapely.union_all(to_metric(polygons, metric_transformer(polygons))).exterior
    rng = np.random.default_rng(8)
    along = shapely.line_interpolate_point(outline, rng.uniform(0, 1, 6000), normalized=True)
    around = shapely.get_exterior_ring(shapely.buffer(along, rng.uniform(15, 90, 6000)))
    points = shapely.line_interpolate_point(around, rng.uniform(0, 1, 6000), normalized=True)
    x, y = metric_transformer(polygons, inverse=True).transform(*shapely.get_coordinates(points).T)
    screened = np.full(len(x), 3, dtype=np.int8)
    cells._nearest_search()  # built by the first assignment that needs it, with the reach
    cells._vacancy.screen(x, y, screened)
    ours, theirs = cells.assign(x, y), reference.assign(x, y)
    first = GridIndex(tiling).assign(x, y)  # its vacancy table does not know the reach yet
    for found in (ours, first):
        for column in ("grid", "method"):
            assert (getattr(found, column) == getattr(theirs, column)).all(), column
    assert (screened == VACANT).sum() > 50 and (screened == FAR).sum() > 50
    assert (ours.method[screened == VACANT] == "nearest").sum() > 10


def test_an_index_takes_over_what_its_predecessor_derived_from_the_same_layers(small_grids):
    """A redraw's index reuses the chain table, vacancy table and nearest search it can.

    Only where they were made from the same codes and engines: a reshaped micro
    grid gets its layer and the vacancy table made again, and every answer is
    the one a new index gives.
    """
    rng = np.random.default_rng(9)
    x, y = rng.uniform(113.49, 113.61, 2000), rng.uniform(34.69, 34.76, 2000)
    before = GridIndex(small_grids, generation=1)
    assert "nearest" in before.assign(x, y).counts("method")  # all three built
    same = GridIndex(small_grids, generation=2, reuse=before)
    assert same._chains is before._chains
    assert same._vacancy is before._vacancy
    assert same._metric is before._metric
    micro = "41010200100100101"
    reshaped = [
        dataclasses.replace(g, geometry=g.geometry.buffer(-1e-5)) if g.code == micro else g
        for g in small_grids
    ]
    moved = GridIndex(reshaped, generation=2, reuse=before)
    assert moved._chains is before._chains and moved._metric is before._metric
    assert "_vacancy" not in moved.__dict__
    elsewhere = GridIndex(small_grids, tolerance_m=10, reuse=before)
    assert elsewhere._metric is None and "_chains" not in elsewhere.__dict__
    for index, grids in ((same, small_grids), (moved, reshaped), (elsewhere, small_grids)):
        fresh = GridIndex(grids, tolerance_m=index.tolerance_m)
        assert index.assign(x, y).joined().tolist() == fresh.assign(x, y).joined().tolist()
    assert moved._vacancy is not before._vacancy
