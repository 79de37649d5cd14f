"""Small MBTiles files built inline for tests: a few raster tiles over the small district.

Each tile is a 256 px image of one colour per zoom with its XYZ address written on
it, stored under its TMS row, as QGIS and other tools write MBTiles.
"""

from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path

from PIL import Image, ImageDraw

#: the small district of grids_inline.py (lon/lat box)
DISTRICT = (113.50, 34.70, 113.60, 34.76)
COLOURS = {12: (222, 235, 247), 13: (229, 245, 224), 14: (254, 230, 206)}
PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}


def tile_range(bounds, zoom: int) -> tuple[range, range]:
    """The XYZ columns and rows of the tiles that cover ``bounds`` at ``zoom``."""
    x0, y0, x1, y1 = bounds
    n = 1 << zoom

    def col(lon: float) -> int:
        return int((lon + 180.0) / 360.0 * n)

    def row(lat: float) -> int:
        return int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)

    return range(col(x0), col(x1) + 1), range(row(y1), row(y0) + 1)


def tile_image(z: int, x: int, y: int, fmt: str = "png") -> bytes:
    image = Image.new("RGB", (256, 256), COLOURS.get(z, (240, 240, 240)))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 255, 255), outline=(90, 90, 90))
    draw.line((0, 128, 255, 128), fill=(160, 160, 160), width=3)  # a "road"
    draw.text((8, 8), f"{z}/{x}/{y}", fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, PIL_FORMATS[fmt])
    return out.getvalue()


def make_mbtiles(
    path: Path,
    bounds=DISTRICT,
    zooms=(12, 13, 14),
    fmt: str = "png",
    metadata: dict | None = None,
) -> dict[tuple[int, int, int], bytes]:
    """Write an MBTiles file of the tiles over ``bounds``; its tiles by XYZ address.

    ``metadata`` is added to (or, with a None value, removed from) the usual
    entries: name, format, minzoom, maxzoom, bounds, attribution.
    """
    meta = {
        "name": "测试底图",
        "format": fmt,
        "minzoom": str(min(zooms, default=0)),
        "maxzoom": str(max(zooms, default=0)),
        "bounds": ",".join(str(v) for v in bounds),
        "attribution": "测试 <b>底图</b>",
    } | (metadata or {})
    written = {}
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        conn.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        conn.executemany(
            "INSERT INTO metadata VALUES (?, ?)", [(k, v) for k, v in meta.items() if v is not None]
        )
        for z in zooms:
            columns, rows = tile_range(bounds, z)
            for x in columns:
                for y in rows:
                    data = tile_image(z, x, y, fmt)
                    tms = (1 << z) - 1 - y
                    conn.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, tms, data))
                    written[(z, x, y)] = data
    conn.close()
    return written
