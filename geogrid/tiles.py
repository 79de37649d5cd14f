"""Raster tiles from an MBTiles file: the map's basemap on an intranet with no internet.

An MBTiles file is an SQLite database with a ``metadata`` table (name, value)
and a ``tiles`` table (zoom_level, tile_column, tile_row, tile_data) whose rows
count from the south, as TMS does; the map asks for XYZ rows, counted from the
north. The file is opened read-only and never changes under a connection (it is
replaced whole, which changes its identity): what is read of its metadata is
kept per path and identity, and each thread keeps its own connection.

Examples
--------
>>> tms_row(12, 0)
4095
>>> check_tile_address("14", "13390", "6505")
(14, 13390, 6505)
>>> check_tile_address("3", "8", "0")
Traceback (most recent call last):
...
geogrid.errors.InvalidInputError: x: expected an integer from 0 to 7 at zoom 3, got '8'
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import sqlite3
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import shapely

from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.parse import bad_field

__all__ = [
    "MAX_ZOOM",
    "MBTILES_PREFIX",
    "MEDIA_TYPES",
    "TileSet",
    "check_tile_address",
    "count_tiles",
    "coverage",
    "mbtiles_path",
    "open_tileset",
    "read_tile",
    "tms_row",
]

#: the ``MAP_TILES`` setting naming an MBTiles file: ``mbtiles:/path/to/district.mbtiles``
MBTILES_PREFIX = "mbtiles:"
#: the highest zoom a tile address may have
MAX_ZOOM = 30
#: raster formats of the ``format`` metadata entry and what they are served as
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
_MAGIC = ((b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpg"), (b"RIFF", "webp"))
_INTEGER = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True)
class TileSet:
    """What the map needs of an MBTiles file, read once per file and identity."""

    path: str
    identity: str  # changes when the file is replaced or rewritten
    format: str
    media_type: str
    minzoom: int
    maxzoom: int
    bounds_wgs84: tuple[float, float, float, float]
    name: str | None = None
    attribution: str | None = None
    bounds_from_tiles: bool = False  # the metadata had no usable ``bounds``


def mbtiles_path(setting: object) -> str | None:
    """The file a ``MAP_TILES`` setting names, if it is ``mbtiles:PATH``, else None."""
    if isinstance(setting, str) and setting.startswith(MBTILES_PREFIX):
        return setting[len(MBTILES_PREFIX) :] or None
    return None


def tms_row(zoom: int, y: int) -> int:
    """The MBTiles (TMS) row of XYZ row ``y`` at ``zoom``; the flip is its own inverse."""
    return (1 << zoom) - 1 - y


def check_tile_address(z: str, x: str, y: str) -> tuple[int, int, int]:
    """An XYZ tile address from its text: zoom 0 to :data:`MAX_ZOOM`, x and y within the zoom."""
    zoom = _address_part("z", z, MAX_ZOOM, "")
    side = (1 << zoom) - 1
    return zoom, _address_part("x", x, side, zoom), _address_part("y", y, side, zoom)


def _address_part(field: str, raw: str, high: int, zoom: int | str) -> int:
    at = f" at zoom {zoom}" if zoom != "" else ""
    expected = f"expected an integer from 0 to {high}{at}, got {raw!r}"
    if not _INTEGER.fullmatch(raw) or int(raw) > high:
        raise bad_field(field, expected)
    return int(raw)


_LOCK = threading.Lock()
_TILESETS: dict[str, TileSet] = {}  # path → its tile set, as of its identity
_LOCAL = threading.local()  # this thread's connections: path → (pid, identity, connection)


def open_tileset(path: str | os.PathLike) -> TileSet:
    """The tile set of the MBTiles file at ``path``: read once, again when the file changes.

    Raises
    ------
    NotFoundError
        There is no file at ``path``.
    InvalidInputError
        The file is not SQLite, has no ``tiles`` table or no tiles, or holds
        vector tiles (``pbf``) or another format that is not PNG, JPEG or WebP.
    """
    path = os.path.abspath(path)
    identity = _identity(path)
    found = _TILESETS.get(path)
    if found is not None and found.identity == identity:
        return found
    with contextlib.closing(_connect(path)) as conn:
        try:
            tileset = _read_tileset(conn, path, identity)
        except sqlite3.DatabaseError as err:  # tables of the wrong shape, a damaged file
            raise InvalidInputError(f"{path}: not a readable MBTiles file: {err}") from err
    with _LOCK:
        _TILESETS[path] = tileset
    return tileset


def read_tile(tileset: TileSet, z: int, x: int, y: int) -> bytes | None:
    """The image of XYZ tile ``z/x/y``, or None where the file has none (one indexed lookup)."""
    query = "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?"
    row = _connection(tileset).execute(query, (z, x, tms_row(z, y))).fetchone()
    return None if row is None else bytes(row[0])


def count_tiles(tileset: TileSet) -> int:
    """How many tiles the file holds (a full count: for a check, not for every request)."""
    with contextlib.closing(_connect(tileset.path)) as conn:
        return conn.execute("SELECT count(*) FROM tiles").fetchone()[0]


def coverage(bounds_wgs84: tuple[float, float, float, float], district) -> tuple[float, object]:
    """The share of ``district`` (a polygon in WGS-84) inside ``bounds_wgs84``, and what is left.

    The share is of its area in degrees, which at a district's size is the share
    on the ground to well under a percent.

    Examples
    --------
    >>> share, left = coverage((0.0, 0.0, 1.0, 1.0), shapely.box(0.5, 0.0, 1.5, 1.0))
    >>> share, left.bounds
    (0.5, (1.0, 0.0, 1.5, 1.0))
    """
    covered = shapely.intersection(district, shapely.box(*bounds_wgs84))
    share = covered.area / district.area if district.area > 0 else 0.0
    return share, shapely.difference(district, shapely.box(*bounds_wgs84))


def _identity(path: str) -> str:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such MBTiles file") from None
    except OSError as err:
        raise InvalidInputError(f"{path}: cannot be read: {err.strerror}") from err
    if not Path(path).is_file():
        raise InvalidInputError(f"{path}: not a file")
    key = f"{path}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def _connect(path: str) -> sqlite3.Connection:
    # immutable: the file is never written while served, so SQLite need not lock it
    uri = f"file:{urllib.parse.quote(path)}?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True)


def _connection(tileset: TileSet) -> sqlite3.Connection:
    """The calling thread's connection to the file as it is (new after a fork or a change)."""
    conns = getattr(_LOCAL, "conns", None)
    if conns is None:
        conns = _LOCAL.conns = {}
    held = conns.get(tileset.path)
    if held is not None and held[:2] == (os.getpid(), tileset.identity):
        return held[2]
    if held is not None and held[0] == os.getpid():
        held[2].close()  # the file was replaced (one from before a fork is only dropped)
    conn = _connect(tileset.path)
    conns[tileset.path] = (os.getpid(), tileset.identity, conn)
    return conn


def _read_tileset(conn: sqlite3.Connection, path: str, identity: str) -> TileSet:
    """Check the file and read its metadata, falling back on the tiles where it is silent."""
    try:
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            )
        }
    except sqlite3.DatabaseError as err:
        raise InvalidInputError(f"{path}: not an SQLite database (MBTiles): {err}") from err
    if "tiles" not in tables:
        raise InvalidInputError(f"{path}: no 'tiles' table: not an MBTiles file")
    meta = dict(conn.execute("SELECT name, value FROM metadata")) if "metadata" in tables else {}
    zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
    if zooms[0] is None:
        raise InvalidInputError(f"{path}: has no tiles")
    fmt = _format(conn, path, meta.get("format"))
    minzoom = _meta_zoom(meta, "minzoom", zooms[0])
    maxzoom = _meta_zoom(meta, "maxzoom", zooms[1])
    bounds = _meta_bounds(meta.get("bounds"))
    return TileSet(
        path=path,
        identity=identity,
        format=fmt,
        media_type=MEDIA_TYPES[fmt],
        minzoom=minzoom,
        maxzoom=maxzoom,
        bounds_wgs84=bounds or _tile_bounds(conn, zooms[0]),
        name=meta.get("name") or None,
        attribution=meta.get("attribution") or None,
        bounds_from_tiles=bounds is None,
    )


def _format(conn: sqlite3.Connection, path: str, declared: str | None) -> str:
    """The raster format the metadata declares, else the one the first tile's bytes show."""
    if declared is None:
        first = conn.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()[0]
        declared = next((f for magic, f in _MAGIC if bytes(first[:4]).startswith(magic)), "")
    fmt = declared.strip().lower()
    if fmt == "pbf":
        raise InvalidInputError(
            f"{path}: holds vector tiles (format 'pbf'); geogrid serves raster tiles: "
            "PNG, JPEG or WebP"
        )
    if fmt not in MEDIA_TYPES:
        raise InvalidInputError(
            f"{path}: format {declared!r} is not a raster format geogrid serves: png, jpg or webp"
        )
    return fmt


def _meta_zoom(meta: dict, name: str, fallback: int) -> int:
    try:
        zoom = int(meta[name])
    except (KeyError, TypeError, ValueError):
        return fallback
    return zoom if 0 <= zoom <= MAX_ZOOM else fallback


def _meta_bounds(raw: str | None) -> tuple[float, float, float, float] | None:
    """``bounds`` as the MBTiles spec writes it: ``left,bottom,right,top`` in WGS-84."""
    try:
        x0, y0, x1, y1 = (float(v) for v in (raw or "").split(","))
    except ValueError:
        return None
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        return None
    return x0, y0, x1, y1


def _tile_bounds(conn: sqlite3.Connection, zoom: int) -> tuple[float, float, float, float]:
    """The WGS-84 box of the tiles at ``zoom`` (rows counted from the south, as stored)."""
    c0, c1, r0, r1 = conn.execute(
        "SELECT min(tile_column), max(tile_column), min(tile_row), max(tile_row) "
        "FROM tiles WHERE zoom_level = ?",
        (zoom,),
    ).fetchone()
    n = 1 << zoom
    # the northern edge of the top row, the southern edge of the bottom one
    return _lon(c0, n), _lat(tms_row(zoom, r0) + 1, n), _lon(c1 + 1, n), _lat(tms_row(zoom, r1), n)


def _lon(x: int, n: int) -> float:
    return x / n * 360.0 - 180.0


def _lat(y: int, n: int) -> float:
    """The latitude of the top edge of XYZ row ``y`` of ``n`` (Web Mercator)."""
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
