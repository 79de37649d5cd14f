"""The ``geogrid tiles`` commands: checking an MBTiles file before the map serves it."""

from __future__ import annotations

import math
from pathlib import Path

import click

from geogrid.tiles import count_tiles, coverage, open_tileset

__all__ = ["tiles"]

_FULL = 0.995  # covering this share of the district is covering it (rounding, slivers)


@click.group()
def tiles() -> None:
    """Offline basemap tiles (MBTiles, served at /tiles/{z}/{x}/{y})."""


@tiles.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def check(ctx: click.Context, file: Path) -> None:
    """Report FILE's format, zooms, bounds and tiles, and how much of the district it covers.

    The district is the active generation's district grid in the store
    (``--database``); a bad file exits 2 with what is wrong with it.
    """
    tileset = open_tileset(file)
    click.echo(f"file: {tileset.path}")
    if tileset.name:
        click.echo(f"name: {tileset.name}")
    click.echo(f"format: {tileset.format} ({tileset.media_type})")
    click.echo(f"zoom: {tileset.minzoom} to {tileset.maxzoom}")
    where = f"the tiles at zoom {tileset.minzoom}" if tileset.bounds_from_tiles else "metadata"
    click.echo(f"bounds: {_box(tileset.bounds_wgs84)} (WGS-84, from {where})")
    click.echo(f"tiles: {count_tiles(tileset):,}")
    district = _district(ctx)
    if district is None:
        click.echo("district: no store with an active generation; not compared")
        return
    share, left = coverage(tileset.bounds_wgs84, district.geometry)
    name = f"district {district.code} {district.name}"
    if share >= _FULL:
        click.echo(f"{name}: covers 100 % of the district")
    else:
        click.echo(
            f"warning: {name}: covers {math.floor(share * 100)} % of the district; "
            f"not covered: {_box(left.bounds)}",
            err=True,
        )


def _box(bounds) -> str:
    return ",".join(f"{v:.6f}" for v in bounds)


def _district(ctx: click.Context):
    """The active generation's district grid in the store of ``--database``, if there is one."""
    import sqlalchemy as sa

    from geogrid.cli import open_store

    url = sa.engine.make_url(ctx.find_root().obj["url"])
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None  # no store here: don't create an empty one by asking
    store = open_store(ctx)
    try:
        if not store.is_initialized() or store.active_generation() is None:
            return None
        found = store.load_grids(level="district")
        return found[0] if found else None
    finally:
        store.close()
