"""The offline basemap: tiles of the configured MBTiles file at ``/tiles/{z}/{x}/{y}``.

``MAP_TILES = "mbtiles:/path/to/district.mbtiles"`` names the file; the map page
then offers (and defaults to) ``tiles=mbtiles``. Tiles are immutable for a given
file, so browsers keep them a day and revalidate them by an ETag made of the
file's identity and the tile's address.
"""

from __future__ import annotations

import urllib.parse

from flask import Blueprint, Response, abort, current_app, request, url_for

from geogrid.errors import GeoGridError
from geogrid.tiles import TileSet, check_tile_address, mbtiles_path, open_tileset, read_tile
from maps.build import TILES
from web.params import get_choice

__all__ = ["bp", "configured_tileset", "tile_choice", "tile_choices", "tile_url"]

bp = Blueprint("tiles", __name__)

MAX_AGE = 86400  # a day: a district replaces its file seldom, and the ETag catches it


def configured_tileset() -> TileSet | None:
    """The MBTiles file ``MAP_TILES`` names, read; None if it names none or one unusable.

    An unusable file (gone, not MBTiles, vector tiles) is logged, and the map
    goes on without it rather than failing every page.
    """
    path = mbtiles_path(current_app.config["MAP_TILES"])
    if path is None:
        return None
    try:
        return open_tileset(path)
    except GeoGridError as err:
        current_app.logger.warning("MAP_TILES: %s", err.message)
        return None


def tile_choices() -> tuple[str, ...]:
    """The base tiles a page may ask for: ``mbtiles`` too when a usable file is configured."""
    return (*TILES, "mbtiles") if configured_tileset() is not None else TILES


def tile_choice() -> str:
    """The request's ``tiles``, else the configured default (``mbtiles`` for a file)."""
    choices = tile_choices()
    default = current_app.config["MAP_TILES"]
    if mbtiles_path(default) is not None:
        default = "mbtiles" if "mbtiles" in choices else "none"
    return get_choice("tiles", choices, default)


def tile_url() -> str:
    """The Leaflet URL template of the tiles: ``/tiles/{z}/{x}/{y}`` under the app's root."""
    return urllib.parse.unquote(url_for("tiles.get_tile", z="{z}", x="{x}", y="{y}"))


@bp.get("/tiles/<z>/<x>/<y>")
def get_tile(z: str, x: str, y: str) -> Response:
    """One XYZ tile of the MBTiles file; 404 where there is none, 400 for a bad address."""
    tileset = configured_tileset()
    if tileset is None:
        abort(404)
    z_, x_, y_ = check_tile_address(z, x, y)
    data = read_tile(tileset, z_, x_, y_)
    if data is None:
        return Response(status=404)
    response = Response(data, mimetype=tileset.media_type)
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.set_etag(f"{tileset.identity}-{z_}-{x_}-{y_}")  # no hashing of the bytes
    return response.make_conditional(request)
