"""Coordinate systems met at intake, their conversion to WGS-84, and lon/lat checks.

geogrid stores WGS-84 (EPSG:4326); CGCS2000 (EPSG:4490) agrees with it to
centimetres and is taken as is. Chinese apps send GCJ-02 (Amap, Tencent) or
BD-09 (Baidu), which PROJ does not know. The GCJ-02 inverse is the fixed-point
iteration ``w <- w - (fwd(w) - g)``, not the one-step inverse that errs by up
to ~5 m. Every function takes scalars or numpy arrays, ``x`` (longitude) first.

Examples
--------
>>> x, y = wgs84_to_gcj02(116.404, 39.915)
>>> round(float(x), 9), round(float(y), 9)
(116.410244499, 39.916404282)
>>> bx, by = gcj02_to_wgs84(x, y)
>>> abs(float(bx) - 116.404) < 1e-9 and abs(float(by) - 39.915) < 1e-9
True
"""

from __future__ import annotations

import math

import numpy as np
import pyproj
import shapely

from geogrid.errors import InvalidCoordinatesError, InvalidCRSError

__all__ = [
    "CRS_NAMES",
    "areas_m2",
    "bd09_to_gcj02",
    "check_crs",
    "check_lonlat",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "lonlat_problem",
    "lonlat_problems",
    "metric_transformer",
    "to_metric",
    "to_wgs84",
    "utm_crs_for",
    "wgs84_to_gcj02",
]

CRS_NAMES = ("wgs84", "cgcs2000", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as GCJ-02 uses it
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_CHINA = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max
_TOLERANCE_DEG = 1e-10
_MAX_ITERATIONS = 30


def check_crs(crs: object) -> str:
    """Return ``crs`` normalised to lower case, or raise :class:`InvalidCRSError`."""
    name = crs.lower().replace("-", "").replace("_", "") if isinstance(crs, str) else crs
    if name not in CRS_NAMES:
        raise InvalidCRSError(f"crs must be one of {', '.join(CRS_NAMES)}; got {crs!r}")
    return name


def _in_china(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = _CHINA
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def _offset_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    out += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    out += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    out += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return out


def _offset_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    out += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    out += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    out += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return out


def _as_arrays(x, y):
    return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")


def wgs84_to_gcj02(x, y):
    """Forward GCJ-02 transform of WGS-84 lon/lat; identity outside China."""
    x, y = _as_arrays(x, y)
    dlat = _offset_lat(x - 105.0, y - 35.0)
    dlon = _offset_lon(x - 105.0, y - 35.0)
    radlat = y / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = _in_china(x, y)
    return np.where(inside, x + dlon, x), np.where(inside, y + dlat, y)


def _invert(forward, x, y, start):
    """Solve ``forward(w) == (x, y)`` by fixed-point iteration from ``start``."""
    wx, wy = start
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(wx, wy)
        dx, dy = fx - x, fy - y
        wx, wy = wx - dx, wy - dy
        if np.all(np.abs(dx) < _TOLERANCE_DEG) and np.all(np.abs(dy) < _TOLERANCE_DEG):
            break
    return wx, wy


def gcj02_to_wgs84(x, y):
    """Iterative inverse of :func:`wgs84_to_gcj02`, sub-millimetre."""
    x, y = _as_arrays(x, y)
    return _invert(wgs84_to_gcj02, x, y, (x, y))


def gcj02_to_bd09(x, y):
    """BD-09 from GCJ-02 (``x_pi = pi * 3000 / 180``)."""
    x, y = _as_arrays(x, y)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(x, y):
    """GCJ-02 from BD-09: the published closed form, refined by iteration."""
    x, y = _as_arrays(x, y)
    bx, by = x - 0.0065, y - 0.006
    z = np.sqrt(bx * bx + by * by) - 0.00002 * np.sin(by * _X_PI)
    theta = np.arctan2(by, bx) - 0.000003 * np.cos(bx * _X_PI)
    return _invert(gcj02_to_bd09, x, y, (z * np.cos(theta), z * np.sin(theta)))


def to_wgs84(x, y, crs: str = "wgs84"):
    """Convert lon/lat in ``crs`` to WGS-84 lon/lat."""
    crs = check_crs(crs)
    if crs == "gcj02":
        return gcj02_to_wgs84(x, y)
    if crs == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(x, y))
    return _as_arrays(x, y)


def from_wgs84(x, y, crs: str = "wgs84"):
    """Convert WGS-84 lon/lat to ``crs``."""
    crs = check_crs(crs)
    if crs == "gcj02":
        return wgs84_to_gcj02(x, y)
    if crs == "bd09":
        return gcj02_to_bd09(*wgs84_to_gcj02(x, y))
    return _as_arrays(x, y)


def lonlat_problem(x: float, y: float) -> str | None:
    """None if one lon/lat pair is usable, else why not (see :func:`lonlat_problems`)."""
    x0, y0, x1, y1 = _CHINA
    finite = math.isfinite(x) and math.isfinite(y)
    if finite and abs(x) <= 180 and abs(y) <= 90:
        swapped = not (x0 <= x <= x1 and y0 <= y <= y1) and (x0 <= y <= x1 and y0 <= x <= y1)
        if not swapped:
            return None
    return _describe(float(x), float(y))


def lonlat_problems(x, y) -> list[str | None]:
    """For each lon/lat pair, None if it is usable, else why not.

    Catches NaN/Infinity, values out of range, projected metres and pairs that
    look swapped (lat, lon) for a place in China.
    """
    x, y = _as_arrays(np.atleast_1d(x), np.atleast_1d(y))
    out: list[str | None] = [None] * len(x)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    bad |= (np.abs(x) > 180) | (np.abs(y) > 90)
    swapped = ~_in_china(x, y) & _in_china(y, x)
    for i in np.flatnonzero(bad | swapped):
        out[i] = _describe(float(x[i]), float(y[i]))
    return out


def _describe(x: float, y: float) -> str:
    if not (np.isfinite(x) and np.isfinite(y)):
        return f"coordinates must be finite numbers, got lon={x!r}, lat={y!r}"
    if abs(x) > 1000 or abs(y) > 1000:
        return (
            f"lon={x!r}, lat={y!r} look like projected metres; expected lon/lat degrees "
            "(WGS-84, CGCS2000, GCJ-02 or BD-09)"
        )
    if abs(y) > 90 and abs(x) <= 90:
        return f"lat={y!r} is out of range [-90, 90]; lon and lat look swapped (lon comes first)"
    if abs(x) > 180 or abs(y) > 90:
        return f"lon={x!r}, lat={y!r} out of range: expected lon in [-180, 180], lat in [-90, 90]"
    return f"lon={x!r}, lat={y!r} look swapped: ({y!r}, {x!r}) is in China; lon comes first"


def check_lonlat(x: float, y: float) -> tuple[float, float]:
    """Return ``(x, y)`` as floats, or raise :class:`InvalidCoordinatesError`."""
    try:
        fx, fy = float(x), float(y)
    except (TypeError, ValueError) as err:
        raise InvalidCoordinatesError(
            f"lon and lat must be numbers, got lon={x!r}, lat={y!r}"
        ) from err
    problem = lonlat_problem(fx, fy)
    if problem:
        raise InvalidCoordinatesError(problem)
    return fx, fy


def utm_crs_for(lon: float, lat: float) -> pyproj.CRS:
    """The WGS-84 UTM zone CRS containing lon/lat (EPSG:32649 for Zhengzhou).

    Examples
    --------
    >>> utm_crs_for(113.6, 34.7).to_epsg()
    32649
    """
    zone = int((lon + 180) // 6) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def metric_transformer(geometries, inverse: bool = False) -> pyproj.Transformer:
    """Lon/lat → metres in the UTM zone at the centre of ``geometries`` (or back, ``inverse``).

    Areas and distances are measured there; one zone spans a district with
    distortion well under 0.1 %.
    """
    x0, y0, x1, y1 = shapely.total_bounds(geometries)
    crs = utm_crs_for((x0 + x1) / 2, (y0 + y1) / 2)
    if inverse:
        return pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    return pyproj.Transformer.from_crs(4326, crs, always_xy=True)


def to_metric(geometries, transformer: pyproj.Transformer):
    """``geometries`` transformed by ``transformer`` (one of :func:`metric_transformer`)."""
    return shapely.transform(
        geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def areas_m2(geometries) -> np.ndarray:
    """Areas of lon/lat geometries in square metres, in the UTM zone of the data."""
    return shapely.area(to_metric(geometries, metric_transformer(geometries)))
