"""The web commands of ``geogrid``: ``serve``, ``demo`` and ``map``.

They are registered under the ``geogrid.commands`` entry points (setup.cfg), so
the core CLI lists them without importing Flask.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from geogrid.cli import import_events, import_grids, import_stations_cmd, open_store
from geogrid.storage.store import Store

__all__ = ["build_demo", "demo", "map_cmd", "serve"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes (each holds the active generation's index in memory).",
)
@click.option(
    "--threads", default=8, show_default=True, type=click.IntRange(1, 256), help="Per worker."
)
@click.option("--access-log", is_flag=True, help="Log every request to stderr.")
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, workers: int, threads: int, access_log: bool
) -> None:
    """Serve the web app with gunicorn (a production WSGI server)."""
    from web import instance_secret
    from web.wsgi import GeogridServer

    instance_secret()  # created once here, before the workers race to create it
    GeogridServer(ctx.obj["url"], host, port, workers, threads, access_log).run()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def demo(ctx: click.Context, host: str, port: int) -> None:
    """Build the store from the bundled demo district (first run only), then serve."""
    store = open_store(ctx)
    store.migrate()
    if store.active_generation() is None:
        build_demo(ctx, store)
    store.close()
    # Serve from a fresh process: the build ran the engine's OpenMP threads here, and
    # gunicorn's workers are forked, which GNU OpenMP does not survive.
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "geogrid", "serve", f"--host={host}", f"--port={port}"]
    os.execve(sys.executable, argv, {**os.environ, "GEOGRID_DATABASE_URL": store.url})


def build_demo(ctx: click.Context, store: Store) -> None:
    """Load the bundled demo district, stations, events and case history into ``store``."""
    import geodata

    click.echo("building the demo store (first run only)…")
    ctx.invoke(
        import_grids,
        file=geodata.GRIDS,
        actor="demo",
        description="bundled demo district (synthetic)",
    )
    ctx.invoke(import_stations_cmd, file=geodata.STATIONS)
    from datetime import UTC, datetime

    from geodata.roster import roster_rows
    from geogrid.cases.staff import import_roster

    counts = import_roster(store, roster_rows(store.load_grids()), datetime.now(UTC))
    click.echo(
        f"{counts['created']:,} staff on the demo roster (a 网格员 per grid, eight departments)"
    )
    click.echo("loading the demo events (100,000; about half a minute)…")
    ctx.invoke(import_events, file=geodata.EVENTS, crs=None, actor="demo")
    from geodata.history import replay_demo

    click.echo(f"{replay_demo(store):,} workflow steps replayed (the demo's case history)")


@click.command("map")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def map_cmd(ctx: click.Context, out: Path, lang: str) -> None:
    """Write the command center map of the active generation as one standalone HTML file."""
    from web import create_app

    app = create_app(overrides={"DATABASE_URL": ctx.obj["url"], "STANDALONE": True})
    with app.test_request_context(f"/?lang={lang}"):
        from web.pages.mapview import standalone_map

        out.write_text(standalone_map(), encoding="utf-8")
    click.echo(f"map written to {out} ({out.stat().st_size:,} bytes)")
