"""Reading GeoJSON geometries in bulk: plain polygons from their arrays, the rest as before.

The reference is the reading that came before the arrays: GEOS's GeoJSON reader
on the whole list, else each object on its own (for its own message).
"""

from unittest import mock

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geogrid.boundaries import geometry
from geogrid.boundaries.geometry import geometries_from_geojson

SQUARE = [[113.5, 34.7], [113.6, 34.7], [113.6, 34.8], [113.5, 34.8], [113.5, 34.7]]
HOLE = [[113.52, 34.72], [113.52, 34.74], [113.54, 34.74], [113.52, 34.72]]
FAR = [[114, 35], [114.1, 35], [114.1, 35.1], [114, 35]]  # integers among the floats


def reference(objs: list) -> list:
    """The reading without the arrays: GEOS on the whole list, else one object at a time."""
    with mock.patch.object(geometry, "_from_coordinates", lambda objs: None):
        return geometries_from_geojson(objs)


def assert_same(found: list, expected: list) -> None:
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        if isinstance(want, ValueError):
            assert isinstance(got, ValueError) and str(got) == str(want)
        else:  # the very same coordinates and structure, byte for byte
            assert shapely.to_wkb(got) == shapely.to_wkb(want)


def polygon(*rings) -> dict:
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


def multi(*polygons) -> dict:
    return {"type": "MultiPolygon", "coordinates": [p["coordinates"] for p in polygons]}


PLAIN = [
    polygon(SQUARE),
    polygon(SQUARE, HOLE),
    multi(polygon(SQUARE, HOLE), polygon(FAR)),
    multi(polygon(FAR)),
    polygon(FAR),
]


def test_plain_polygons_are_built_exactly_as_geos_reads_them():
    found = geometries_from_geojson(PLAIN)
    assert_same(found, reference(PLAIN))
    assert [g.geom_type for g in found] == [
        "Polygon",
        "Polygon",
        "MultiPolygon",
        "MultiPolygon",
        "Polygon",
    ]
    assert [len(g.interiors) for g in found if g.geom_type == "Polygon"] == [0, 1, 0]


@pytest.mark.parametrize(
    "odd",
    [
        polygon(SQUARE[:-1]),  # a ring left open: closed when read on its own
        polygon([[113.5, 34.7, 10.0], [113.6, 34.7, 10.0], [113.6, 34.8, 10.0], [113.5, 34.7, 10]]),
        polygon([["113.5", "34.7"], [113.6, 34.7], [113.6, 34.8], ["113.5", "34.7"]]),
        polygon([[True, 34.7], [113.6, 34.7], [113.6, 34.8], [True, 34.7]]),
        polygon([[113.5, 34.7], [113.6, 34.7], [113.5, 34.7]]),  # too few positions
        polygon([[113.5, 34.7], [113.6], [113.6, 34.8], [113.5, 34.7]]),  # ragged
        polygon([[[113.5, 34.7]], [113.6, 34.7], [113.6, 34.8], [113.5, 34.7]]),  # too deep
        polygon([]),
        multi(polygon(SQUARE), {"coordinates": []}),
        {"type": "Polygon", "coordinates": [[None, None, None, None]]},
    ],
)
def test_anything_else_is_read_as_before(odd):
    objs = [*PLAIN, odd, polygon(SQUARE)]
    assert_same(geometries_from_geojson(objs), reference(objs))


coordinate = st.floats(-180, 180, allow_nan=False) | st.integers(-180, 180)


@st.composite
def plain_rings(draw) -> list:
    """A closed ring of 4 to 8 numeric positions (its shape does not matter here)."""
    inner = draw(st.lists(st.tuples(coordinate, coordinate).map(list), min_size=3, max_size=7))
    return [*inner, list(inner[0])]


plain_polygons = st.lists(plain_rings(), min_size=1, max_size=3).map(lambda rings: polygon(*rings))
plain_geometries = plain_polygons | st.lists(plain_polygons, min_size=1, max_size=3).map(
    lambda polygons: multi(*polygons)
)


@given(st.lists(plain_geometries, min_size=1, max_size=12))
def test_random_plain_geometries_are_read_as_geos_reads_them(objs):
    assert_same(geometries_from_geojson(objs), reference(objs))
