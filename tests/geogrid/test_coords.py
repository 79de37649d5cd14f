"""Every vector of shared/coordinate-vectors.md, and the iterative inverse's properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import china, zhengzhou

from geogrid import coords
from geogrid.errors import InvalidCoordinatesError, InvalidCRSError

# eviltransform go/transform_test.go, (lat, lng) there; (lng, lat) here.
FORWARD = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    # coordTransform_py README
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
]


@pytest.mark.parametrize(("wgs", "gcj"), FORWARD)
def test_forward_gcj02_matches_published_vectors(wgs, gcj):
    x, y = coords.wgs84_to_gcj02(*wgs)
    assert float(x) == pytest.approx(gcj[0], abs=1e-12)
    assert float(y) == pytest.approx(gcj[1], abs=1e-12)


@pytest.mark.parametrize(("wgs", "gcj"), FORWARD)
def test_iterative_inverse_recovers_the_published_wgs84(wgs, gcj):
    x, y = coords.gcj02_to_wgs84(*gcj)
    assert float(x) == pytest.approx(wgs[0], abs=1e-8)
    assert float(y) == pytest.approx(wgs[1], abs=1e-8)


def test_one_step_inverse_is_the_published_naive_vector():
    gx, gy = 116.404, 39.915
    fx, fy = coords.wgs84_to_gcj02(gx, gy)
    naive = (2 * gx - float(fx), 2 * gy - float(fy))
    assert naive == pytest.approx((116.39775550083061, 39.91359571849836), abs=1e-12)


def test_iteration_removes_the_metres_the_one_step_inverse_errs_over_zhengzhou():
    gx, gy = (
        a.ravel() for a in np.meshgrid(np.linspace(113.3, 114.0, 60), np.linspace(34.5, 35.0, 60))
    )
    fx, fy = coords.wgs84_to_gcj02(gx, gy)
    one_step = (2 * gx - fx, 2 * gy - fy)
    exact = coords.gcj02_to_wgs84(gx, gy)
    metres = np.hypot((exact[0] - one_step[0]) * 91_000, (exact[1] - one_step[1]) * 110_900)
    assert 1.0 < metres.max() < 5.0  # DESIGN: up to ~3.2 m over Zhengzhou
    back = coords.wgs84_to_gcj02(*exact)
    assert np.abs(back[0] - gx).max() < 1e-8 and np.abs(back[1] - gy).max() < 1e-8


def test_gcj02_to_bd09_matches_published_vector():
    x, y = coords.gcj02_to_bd09(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-12)


def test_bd09_to_gcj02_agrees_with_published_closed_form_within_its_own_error():
    # The published value comes from the one-step closed form, itself ~4 cm from an exact
    # inverse of gcj02_to_bd09; ours is the iterated inverse (exact round trip, below).
    x, y = coords.bd09_to_gcj02(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-6)
    bx, by = coords.gcj02_to_bd09(x, y)
    assert (float(bx), float(by)) == pytest.approx((116.404, 39.915), abs=1e-9)


@given(st.one_of(china, zhengzhou))
def test_forward_of_inverse_is_identity_within_1e8(point):
    wx, wy = coords.gcj02_to_wgs84(*point)
    gx, gy = coords.wgs84_to_gcj02(wx, wy)
    assert abs(float(gx) - point[0]) < 1e-8 and abs(float(gy) - point[1]) < 1e-8


@given(st.one_of(china, zhengzhou))
def test_bd09_round_trips_through_wgs84(point):
    bx, by = coords.from_wgs84(*point, "bd09")
    x, y = coords.to_wgs84(bx, by, "bd09")
    assert abs(float(x) - point[0]) < 1e-8 and abs(float(y) - point[1]) < 1e-8


def test_outside_china_gcj02_is_wgs84():
    x, y = coords.wgs84_to_gcj02(np.array([2.35, 139.0]), np.array([48.85, 35.7]))
    assert list(x) == [2.35, 139.0] and list(y) == [48.85, 35.7]


def test_zhongyuan_offset_is_about_576_metres():
    x, y = coords.wgs84_to_gcj02(113.5816, 34.7650)
    metres = np.hypot(
        (float(x) - 113.5816) * 111_320 * np.cos(np.radians(34.765)), (float(y) - 34.7650) * 110_574
    )
    assert 560 < metres < 610


def test_cgcs2000_is_taken_as_wgs84():
    x, y = coords.to_wgs84(113.6, 34.78, "cgcs2000")
    assert (float(x), float(y)) == (113.6, 34.78)


@pytest.mark.parametrize("crs", ["WGS84", "gcj-02", "BD09", "cgcs_2000"])
def test_crs_names_are_normalised(crs):
    assert coords.check_crs(crs) in coords.CRS_NAMES


def test_unknown_crs_is_refused():
    with pytest.raises(
        InvalidCRSError,
        match=r"crs must be one of wgs84, cgcs2000, gcj02, "
        r"bd09; got 'epsg:3857'",
    ):
        coords.to_wgs84(1, 2, "epsg:3857")


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (float("nan"), 34.7, "must be finite numbers"),
        (113.6, float("inf"), "must be finite numbers"),
        (34.78, 113.57, "lon and lat look swapped"),
        (38.0, 110.0, "lon and lat look swapped"),
        (500000.0, 3850000.0, "look like projected metres"),
        (200.0, 34.0, r"out of range: expected lon in \[-180, 180\]"),
        ("abc", 34.0, "lon and lat must be numbers"),
    ],
)
def test_bad_lonlat_is_refused_with_the_reason(x, y, message):
    with pytest.raises(InvalidCoordinatesError, match=message):
        coords.check_lonlat(x, y)


def test_good_lonlat_passes():
    assert coords.check_lonlat("113.6", 34.78) == (113.6, 34.78)
