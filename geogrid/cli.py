"""The ``geogrid`` command line.

Every command validates its input and exits non-zero with a message naming
the file, the line or the feature. ``assign`` works on files alone, no store.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from geogrid import codes
from geogrid.assign import DEFAULT_TOLERANCE_M, GridIndex
from geogrid.coords import CRS_NAMES, check_lonlat
from geogrid.errors import GeoGridError
from geogrid.eventimport import read_event_rows
from geogrid.registry import grid_to_feature, read_grids
from geogrid.store import Store, default_url

__all__ = ["main"]

_CRS = click.Choice(CRS_NAMES, case_sensitive=False)


class _Group(click.Group):
    """Turns geogrid errors into a clear message and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GeoGridError as err:
            click.echo(f"error: {err.message}", err=True)
            for detail in err.details[:20]:
                click.echo(f"  {_detail(detail)}", err=True)
            if len(err.details) > 20:
                click.echo(f"  … and {len(err.details) - 20} more", err=True)
            ctx.exit(2)


def _detail(detail: dict) -> str:
    where = f"feature {detail['index']}" if "index" in detail else f"line {detail.get('line')}"
    code = f" ({detail['code']})" if detail.get("code") else ""
    return f"{where}{code}: {detail.get('message') or detail.get('error')}"


@click.group(cls=_Group)
@click.option(
    "--database",
    envvar="GEOGRID_DATABASE_URL",
    default=None,
    help="Store URL (default: instance/geogrid.sqlite; env GEOGRID_DATABASE_URL).",
)
@click.pass_context
def main(ctx: click.Context, database: str | None) -> None:
    """geogrid: grid registry, event assignment and the command center map."""
    ctx.obj = {"url": database or default_url()}


def _store(ctx: click.Context) -> Store:
    return Store(ctx.obj["url"])


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the store's schema."""
    store = _store(ctx)
    store.migrate()
    click.echo(f"store ready: {store.display_url}")


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Check the store's consistency (one active generation, histories, assignments)."""
    from geogrid.integrity import check as check_store

    problems = check_store(_store(ctx))
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo("store consistent")


@main.command("import-grids")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="cli", show_default=True, help="Who imports (audit).")
@click.option("--description", default="", help="What this generation is.")
@click.pass_context
def import_grids(ctx: click.Context, file: Path, actor: str, description: str) -> None:
    """Import a GeoJSON FeatureCollection of grids as a new active generation."""
    grids = read_grids(file)
    store = _store(ctx)
    store.migrate()
    sha = hashlib.sha256(file.read_bytes()).hexdigest()
    gen = store.import_grids(
        grids, actor=actor, description=description or file.name, source_sha256=sha
    )
    counts = {lv: sum(g.level == lv for g in grids) for lv in codes.LEVELS}
    shown = ", ".join(f"{n} {lv}" for lv, n in counts.items() if n)
    click.echo(f"generation {gen} active: {shown}")


@main.command()
@click.argument("lon", type=str)
@click.argument("lat", type=str)
@click.option("--crs", type=_CRS, default="wgs84", show_default=True)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=DEFAULT_TOLERANCE_M,
    show_default=True,
    help="Metres outside every grid still taken as nearest.",
)
@click.pass_context
def locate(ctx: click.Context, lon: str, lat: str, crs: str, tolerance: float) -> None:
    """Print the grid chain of one point as JSON (nothing is stored)."""
    x, y = check_lonlat(lon, lat)
    found = _store(ctx).index(tolerance).locate(x, y, crs.lower())
    click.echo(json.dumps(found, ensure_ascii=False))


@main.command()
@click.option(
    "--grids",
    "grids_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--events",
    "events_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--crs",
    type=_CRS,
    default="wgs84",
    show_default=True,
    help="Coordinate system of the events' lon/lat columns.",
)
@click.option("--lon-col", default="lon", show_default=True)
@click.option("--lat-col", default="lat", show_default=True)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=DEFAULT_TOLERANCE_M,
    show_default=True,
    help="Metres outside every grid still taken as nearest.",
)
def assign(grids_file, events_file, out, crs, lon_col, lat_col, tolerance) -> None:
    """Assign a CSV of events to the grids of a GeoJSON file (no store needed).

    Exits 1 if some rows were bad: they are listed with their line numbers
    and written to OUT's .errors.csv beside it.
    """
    from tqdm import tqdm

    from geogrid.eventfile import assign_csv

    index = GridIndex(read_grids(grids_file), tolerance_m=tolerance)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="pt", disable=None, file=sys.stderr)
        bar.update(done)

    result = assign_csv(
        index,
        events_file,
        out,
        crs=crs.lower(),
        lon_col=lon_col,
        lat_col=lat_col,
        progress=progress,
    )
    if bar is not None:
        bar.close()
    methods = ", ".join(f"{n} {m}" for m, n in sorted(result.methods.items()))
    click.echo(f"{result.assigned} rows assigned ({methods or 'none'}) -> {out}")
    if result.errors:
        for error in result.errors[:20]:
            click.echo(f"line {error['line']}: {error['error']}", err=True)
        click.echo(f"{len(result.errors)} bad rows not assigned -> {result.errors_out}", err=True)
        sys.exit(1)


@main.command("import-events")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", type=_CRS, default=None, help="CRS of rows that do not say (default wgs84).")
@click.option("--actor", default="cli", show_default=True, help="Who reports (audit, keys).")
@click.pass_context
def import_events(ctx: click.Context, file: Path, crs: str | None, actor: str) -> None:
    """Store events from a CSV or GeoJSON file, assigned on intake (re-runs store nothing twice).

    Exits 1 if some rows were bad; they are listed with their line or feature index.
    """
    from tqdm import tqdm

    from geogrid.categories import load_categories
    from geogrid.intake import Intake

    store = _store(ctx)
    store.migrate()
    intake = Intake(store, load_categories())
    index = store.index()

    def reindex():  # a redraw committed meanwhile: the rest goes under the new generation
        nonlocal index
        index = store.index()
        return index

    rows = list(read_event_rows(file, crs.lower() if crs else None))
    counts = {"created": 0, "existing": 0, "invalid": 0}
    bad = []
    now = datetime.now(UTC)
    with tqdm(total=len(rows), unit="event", disable=None, file=sys.stderr) as bar:
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            items = [item for _, item in chunk]
            results = intake.submit(items, actor, index, now, describe=False, reindex=reindex)
            for (where, _), result in zip(chunk, results, strict=True):
                counts[result.outcome] += 1
                if result.error:
                    bad.append(f"{where}: {result.error['message']}")
            bar.update(len(chunk))
    click.echo(
        f"{counts['created']} events stored, {counts['existing']} already there, "
        f"{counts['invalid']} bad (generation {index.generation})"
    )
    for line in bad[:20]:
        click.echo(line, err=True)
    if bad:
        sys.exit(1)


@main.group()
def user() -> None:
    """Users and API tokens."""


@user.command("add")
@click.argument("username")
@click.option(
    "--role", type=click.Choice(["reporter", "viewer", "operator", "admin"]), required=True
)
@click.option("--scope", default=None, help="District or street code (default: everywhere).")
@click.option("--password", is_flag=True, help="Ask for a password (for the web pages).")
@click.pass_context
def user_add(
    ctx: click.Context, username: str, role: str, scope: str | None, password: bool
) -> None:
    """Add a user."""
    from geogrid.auth import create_user

    secret = None
    if password:
        secret = click.prompt("password", hide_input=True, confirmation_prompt=True)
    store = _store(ctx)
    store.migrate()
    created = create_user(store, username, role, scope, secret)
    click.echo(f"user {created.username}: {created.role}, scope {created.scope or 'all'}")


@user.command("token")
@click.argument("username")
@click.option("--name", default="", help="What the token is for.")
@click.pass_context
def user_token(ctx: click.Context, username: str, name: str) -> None:
    """Create an API token for USERNAME and print it (only its hash is kept)."""
    from geogrid.auth import create_token

    click.echo(create_token(_store(ctx), username, name))


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "gpkg", "xlsx"]),
    default="geojson",
    show_default=True,
)
@click.option("--personal", is_flag=True, help="gpkg: include reporter names and phones.")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export(ctx: click.Context, fmt: str, personal: bool, out: Path) -> None:
    """Write the active generation: grids as GeoJSON, every layer as a GeoPackage, or the
    per-grid Excel report (counts, closure and on-time rates per street, community, grid)."""
    store = _store(ctx)
    generation = store.active_generation()
    if fmt == "gpkg":
        from geogrid.exports import export_gpkg

        out.unlink(missing_ok=True)
        counts = export_gpkg(store, out, personal)
        click.echo(", ".join(f"{n} {layer}" for layer, n in counts.items()) + f" -> {out}")
        return
    if fmt == "xlsx":
        from geogrid.categories import load_categories
        from geogrid.exports import export_xlsx

        counts = export_xlsx(store, out, load_categories(), datetime.now(UTC))
        click.echo(", ".join(f"{n} rows in {sheet}" for sheet, n in counts.items()) + f" -> {out}")
        return
    grids = store.load_grids(generation)
    collection = {
        "type": "FeatureCollection",
        "generation": generation,
        "features": [grid_to_feature(g) for g in grids],
    }
    out.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    click.echo(f"{len(grids)} grids of generation {generation} -> {out}")


@main.command()
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def demo(ctx: click.Context, host: str, port: int) -> None:
    """Build the store from the bundled demo district (first run only), then serve."""

    store = _store(ctx)
    store.migrate()
    if store.active_generation() is None:
        _build_demo(ctx, store)
    store.close()
    # Serve from a fresh process: the build ran the engine's OpenMP threads here, and
    # gunicorn's workers are forked, which GNU OpenMP does not survive.
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "geogrid", "serve", f"--host={host}", f"--port={port}"]
    os.execve(sys.executable, argv, {**os.environ, "GEOGRID_DATABASE_URL": store.url})


def _build_demo(ctx: click.Context, store: Store) -> None:
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
    click.echo("loading the demo events (100,000; about half a minute)…")
    ctx.invoke(import_events, file=geodata.EVENTS, crs=None, actor="demo")
    from geodata.history import replay_demo

    click.echo(f"{replay_demo(store):,} workflow steps replayed (the demo's case history)")


@main.command()
@click.option("--points", default=1_020_000, show_default=True, type=click.IntRange(10_000))
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench(points: int, repeat: int, as_json: bool) -> None:
    """The assignment engine against geopandas.sjoin and shapely STRtree, side by side."""
    from geogrid.bench import run, run_demo

    report = run(points, repeat)
    demo = run_demo(repeat=repeat)
    if as_json:
        report.pop("text")
        click.echo(json.dumps({**report, "demo_full_rule": demo}))
        return
    click.echo(report["text"])
    click.echo(
        f"demo district, whole rule (micro, grid, nearest, dedicated), {demo['points']:,} "
        f"points: geogrid assign {demo['assign_points_per_s']:,} points/s, sjoin on grids "
        f"and micro grids {demo['sjoin_points_per_s']:,} points/s -> {demo['ratio_vs_sjoin']}x; "
        f"{demo['disagreements']} disagreements, index build {demo['index_build_s']} s"
    )


@main.command("bench-intake")
@click.option("--url", default=None, help="A running server (default: start one on loopback).")
@click.option("--token", default=None, help="A reporter token for --url.")
@click.option("--singles", default=500, show_default=True, type=click.IntRange(10))
@click.option("--batches", default=5, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 10_000))
def bench_intake(url, token, singles, batches, batch_size) -> None:
    """Intake latency (p50/p99) and batch throughput against a running server."""
    from geogrid.benchintake import run_intake

    r = run_intake(singles, batches, batch_size, url, token)
    click.echo(json.dumps(r))
    click.echo(
        f"single event: p50 {r['single_p50_ms']} ms, p99 {r['single_p99_ms']} ms "
        f"({r['singles']} posts); batch of {r['batch_size']}: median {r['batch_median_s']} s "
        f"= {r['batch_events_per_s']:,} events/s"
    )


@main.command("bench-load")
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(["sqlite", "postgis"]),
    help="Repeatable (default: both).",
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--clients", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option("--seconds", default=15.0, show_default=True, type=click.FloatRange(1, 3600))
@click.option("--batch", default=1, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--postgres-url",
    default=None,
    help="An empty PostGIS database to use (default: a throwaway cluster in /tmp).",
)
def bench_load(backends, workers, clients, seconds, batch, postgres_url) -> None:
    """The load script: intake under gunicorn workers, driven from a second process."""
    from geogrid.benchintake import run_load

    backends = backends or ("sqlite", "postgis")
    rows = run_load(backends, workers, clients, seconds, batch, postgres_url)
    click.echo(
        f"{'backend':8} {'workers':>7} {'clients':>7} {'batch':>5} {'requests':>8} "
        f"{'errors':>6} {'req/s':>8} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7}"
    )
    for r in rows:
        click.echo(
            f"{r['backend']:8} {r['workers']:>7} {r['clients']:>7} {r['batch']:>5} "
            f"{r['requests']:>8} {r['errors']:>6} {r['requests_per_s']:>8} "
            f"{r['events_per_s']:>9} {r['p50_ms']:>7} {r['p99_ms']:>7}"
        )


@main.command("import-stations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_stations_cmd(ctx: click.Context, file: Path) -> None:
    """Replace the stations of the kinds in FILE (GeoJSON points or CSV with lon/lat)."""
    from geogrid.stations import import_stations, read_stations

    found = read_stations(file)
    store = _store(ctx)
    store.migrate()
    click.echo(f"{import_stations(store, found)} stations imported")


@main.command("map")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def map_cmd(ctx: click.Context, out: Path, lang: str) -> None:
    """Write the command center map of the active generation as one standalone HTML file."""
    from web import create_app

    app = create_app({"DATABASE_URL": ctx.obj["url"], "STANDALONE": True})
    with app.test_request_context(f"/?lang={lang}"):
        from web.mapview import standalone_map

        out.write_text(standalone_map(), encoding="utf-8")
    click.echo(f"map written to {out} ({out.stat().st_size:,} bytes)")


@main.command("bench-map")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 10))
@click.pass_context
def bench_map(ctx: click.Context, repeat: int) -> None:
    """Map page load in headless Chromium against a naive folium map (the demo store)."""
    import threading

    from werkzeug.serving import make_server

    from web import create_app
    from web.benchmap import run_map
    from web.mapview import warm

    store = _store(ctx)
    store.migrate()
    if store.active_generation() is None:
        _build_demo(ctx, store)
    app = create_app({"DATABASE_URL": ctx.obj["url"]})
    warm(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        with app.test_client() as client:
            client.get("/")  # the page cache holds it, as on a wall screen
        r = run_map(store, url, repeat)
    finally:
        server.shutdown()
    click.echo(json.dumps(r))
    o, f, n = r["ours"], r["ours_uncached_server"], r["naive_folium"]
    click.echo(
        f"command center map: ready {o['ready_s']} s, {o['bytes'] / 1e6:.2f} MB "
        f"(server rendering it afresh: {f['ready_s']} s)\n"
        f"naive folium map:   ready {n['ready_s']} s, {n['bytes'] / 1e6:.2f} MB\n"
        f"-> {r['speedup']}x faster, {r['bytes_ratio']}x fewer bytes (median of {repeat})"
    )


@main.command("bench-redraw")
def bench_redraw() -> None:
    """Dry-run validation of the demo district and commit + reassignment of its events."""
    from geogrid.benchredraw import run_redraw

    r = run_redraw()
    click.echo(json.dumps(r))
    click.echo(
        f"dry run of {r['grids']:,} grids with {r['events']:,} events: {r['dry_run_s']} s "
        f"(ok={r['dry_run_ok']}, {r['dry_run_problems']} warnings)\n"
        f"commit + reassignment: {r['commit_s']} s, {r['events_reassigned']:,} events moved"
    )
