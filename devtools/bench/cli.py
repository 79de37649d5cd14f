"""The benchmark commands of ``geogrid`` in a development checkout: ``bench``, ``bench-*``.

Registered under the ``geogrid.commands`` entry points; a wheel does not carry
``devtools``, and there the commands are simply absent.
"""

from __future__ import annotations

import json

import click

from geogrid.cli import open_store

__all__ = [
    "bench",
    "bench_assign_file",
    "bench_batch",
    "bench_cases",
    "bench_hotspots",
    "bench_intake",
    "bench_live",
    "bench_load",
    "bench_map",
    "bench_redraw",
    "bench_stats",
    "bench_workers",
]


def _demo_store(ctx: click.Context):
    """The store of ``--database``, with the demo district built into it if it is empty."""
    from web.cli import build_demo

    store = open_store(ctx)
    store.migrate()
    if store.active_generation() is None:
        build_demo(ctx, store)
    return store


@click.command()
@click.option("--points", default=1_020_000, show_default=True, type=click.IntRange(10_000))
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option(
    "--city",
    is_flag=True,
    help="Instead: a synthetic city of 200,000 micro grids over ~7,000 km², saved and mapped.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench(points: int, repeat: int, city: bool, as_json: bool) -> None:
    """The assignment engine against geopandas.sjoin and shapely STRtree, side by side."""
    if city:
        _bench_city(repeat, as_json)
        return
    from devtools.bench.assign import run, run_demo

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
        f"and micro grids {demo['sjoin_points_per_s']:,} points/s -> {demo['ratio_vs_sjoin']}x "
        f"(median of {repeat}, taking turns after a warm-up); "
        f"{demo['disagreements']} disagreements, index build {demo['index_build_s']} s"
    )


def _bench_city(repeat: int, as_json: bool) -> None:
    from devtools.bench.city import run_city

    r = run_city(repeat=repeat)
    if as_json:
        click.echo(json.dumps({"city": r}))
        return
    click.echo(
        f"city: {r['grids']:,} micro grids over {r['area_km2']:,} km² (generated in "
        f"{r['generate_s']} s)\n"
        f"  index build {r['index_build_s']} s, saved {r['index_file_mb']} MB, "
        f"mapped by a fresh worker in {r['worker_index_load_s']} s\n"
        f"  {r['points']:,} points: geogrid {r['ours_points_per_s']:,} points/s, "
        f"geopandas.sjoin {r['sjoin_points_per_s']:,} points/s -> {r['ratio_vs_sjoin']}x "
        f"(agree: {r['agree_with_sjoin']}; median of {repeat}, taking turns after a warm-up)\n"
        f"  one worker resident {r['worker_rss_mb']} MB (mapped index pages included); "
        f"{r['workers']} independent workers together {r['host_pss_mb']} MB PSS\n"
        f"  forked from an arbiter that imported the engine and froze it (as geogrid serve "
        f"forks its workers): "
        f"1 worker {r['forked_1_pss_mb']} MB, {r['workers']} workers "
        f"{r['forked_{}_pss_mb'.format(r['workers'])]} MB PSS with the arbiter "
        f"(target: at most 2x one, and 500 MB per host)"
    )


@click.command("bench-intake")
@click.option("--url", default=None, help="A running server (default: start one on loopback).")
@click.option("--token", default=None, help="A reporter token for --url.")
@click.option("--singles", default=500, show_default=True, type=click.IntRange(10))
@click.option("--batches", default=5, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 10_000))
def bench_intake(url, token, singles, batches, batch_size) -> None:
    """Intake latency (p50/p99) and batch throughput against a running server."""
    from devtools.bench.intake import run_intake

    r = run_intake(singles, batches, batch_size, url, token)
    click.echo(json.dumps(r))
    click.echo(
        f"single event: p50 {r['single_p50_ms']} ms, p99 {r['single_p99_ms']} ms "
        f"({r['singles']} posts); batch of {r['batch_size']}: median {r['batch_median_s']} s "
        f"= {r['batch_events_per_s']:,} events/s"
    )


@click.command("bench-load")
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
    from devtools.bench.intake import run_load

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


@click.command("bench-map")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 10))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_map(ctx: click.Context, repeat: int, as_json: bool) -> None:
    """Map page load in headless Chromium against a naive folium map (the demo store)."""
    import threading

    from werkzeug.serving import make_server

    from devtools.bench.map import run_map
    from web import create_app
    from web.pages.mapview import warm

    store = _demo_store(ctx)
    app = create_app(overrides={"DATABASE_URL": ctx.obj["url"]})
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
    from devtools.bench.map import cold_first_request

    r["cold_server"] = cold_first_request(store.url, repeat)
    click.echo(json.dumps(r))
    if as_json:
        return
    o, f, n = r["ours"], r["ours_uncached_server"], r["naive_folium"]
    click.echo(
        f"command center map: ready {o['ready_s']} s, {o['bytes'] / 1e6:.2f} MB "
        f"(server rendering it afresh: {f['ready_s']} s)\n"
        f"naive folium map:   ready {n['ready_s']} s, {n['bytes'] / 1e6:.2f} MB\n"
        f"-> {r['speedup']}x faster, {r['bytes_ratio']}x fewer bytes (median of {repeat})\n"
        f"GET / on a server just started: {r['cold_server']['with_pages_s']} s with the "
        f"host's page cache, {r['cold_server']['after_write_s']} s after a write (rendered)"
    )


@click.command("bench-redraw")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_redraw(repeat: int, as_json: bool) -> None:
    """Dry-run validation of the demo district and commit + reassignment of its events."""
    from devtools.bench.redraw import run_redraw

    r = run_redraw(repeat)
    click.echo(json.dumps(r))
    if as_json:
        return
    b = r["baseline"]
    rows = [
        (f"dry run ({r['grids']:,} grids, {r['events']:,} events)", "dry_run_s"),
        (f"commit + reassignment ({r['events_reassigned']:,} moved)", "commit_s"),
        ("together", "total_s"),
    ]
    click.echo(f"{'median of ' + str(r['repeat']) + ' runs':<46} {'today':>8} {'baseline':>9}")
    for label, key in rows:
        click.echo(f"{label:<46} {r[key]:>6.2f} s {b[key]:>7.1f} s")
    click.echo(
        f"target: together <= {r['target_s']:g} s (issue 13); dry run ok={r['dry_run_ok']} "
        f"with {r['dry_run_problems']} warnings"
    )


@click.command("bench-batch")
@click.option("--events", default=10_000, show_default=True, type=click.IntRange(100, 100_000))
def bench_batch(events: int) -> None:
    """A batch at one spot against a spread one, beside a search that takes every hit."""
    from devtools.bench.batch import run_batch

    r = run_batch(events)
    click.echo(json.dumps(r))
    click.echo(f"{'batch of ' + format(events, ','):<22} {'today':>10} {'all hits, then min':>18}")
    for kind in ("identical", "spread"):
        now, before = r[kind], r[f"{kind}_baseline"]
        click.echo(f"{kind + ' points':<22} {now['batch_s']:>9} s {before['batch_s']:>16} s")
        click.echo(
            f"{'  single POST waits':<22} {now['single_wait_s']:>9} s "
            f"{before['single_wait_s']:>16} s"
        )
    click.echo(
        f"identical / spread: {r['identical_vs_spread']}x today, "
        f"{r['baseline_identical_vs_spread']}x taking every hit"
    )


@click.command("bench-stats")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(["sqlite", "postgis"]),
    help="Repeatable (default: both).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_stats(ctx: click.Context, repeat: int, backends, as_json: bool) -> None:
    """District statistics on 100k and 1M events, beside pandas reading and grouping them."""
    from devtools.bench.stats import run_stats

    store = _demo_store(ctx)
    rows = run_stats(store, repeat, backends=backends or ("sqlite", "postgis"))
    if as_json:
        click.echo(json.dumps({"stats": rows}))
        return
    click.echo(
        f"{'backend':8} {'events':>10} {'stats':>9} {'first read':>11} {'pandas':>9} {'ratio':>6}"
    )
    for r in rows:
        click.echo(
            f"{r['backend']:8} {r['events']:>10,} {r['stats_s'] * 1000:>7.0f} ms "
            f"{r['stats_first_read_s']:>9.2f} s {r['pandas_s']:>7.2f} s "
            f"{r['pandas_s'] / r['stats_s']:>5.0f}x"
        )
    click.echo(f"(median of {repeat}; stats = the request after a write, as the panel sees it)")


@click.command("bench-workers")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_workers(ctx: click.Context, repeat: int, as_json: bool) -> None:
    """Memory (PSS) of 1 and 4 web workers on the demo store; index load against build."""
    from devtools.bench.workers import run_workers

    store = _demo_store(ctx)
    r = run_workers(store.url, repeat=repeat)
    click.echo(json.dumps(r))
    if as_json:
        return
    one, four = r["pss_mb"][1], r["pss_mb"][4]
    click.echo(
        f"web workers, PSS of arbiter + workers: 1 worker {one} MB, 4 workers {four} MB "
        f"-> {r['ratio']}x\nindex of the active generation in a fresh process: mapped "
        f"{r['index_load_s']} s, built {r['index_build_s']} s; its first answer "
        f"{r['first_query_s']} s (numba loading its cached code, once per process; "
        f"median of {repeat})"
    )


@click.command("bench-assign-file")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--streamed", default=10_000_000, show_default=True, type=click.IntRange(0))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_assign_file(repeat: int, streamed: int, as_json: bool) -> None:
    """Geogrid assign on 200k and 2M points beside a ten-line geopandas script."""
    from devtools.bench.assignfile import run_assign_files

    r = run_assign_files(repeat=repeat, streamed=streamed)
    click.echo(json.dumps(r))
    if as_json:
        return
    click.echo(f"{'points':>10} {'geogrid assign':>15} {'geopandas script':>17} {'share':>6}")
    for row in r["sizes"]:
        click.echo(
            f"{row['points']:>10,} {row['geogrid_s']:>8} s {row['geogrid_peak_mb']:>4} MB "
            f"{row['geopandas_s']:>8} s {row['geopandas_peak_mb']:>4} MB "
            f"{row['geogrid_share_of_geopandas']:>6}"
        )
    if r["streamed"]:
        b = r["streamed"]
        click.echo(
            f"{b['points']:,} points streamed: {b['geogrid_s']} s, peak {b['geogrid_peak_mb']} MB"
        )


@click.command("bench-cases")
@click.option("--repeat", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_cases(ctx: click.Context, repeat: int, as_json: bool) -> None:
    """Time /cases and /cases/<id> on the demo store (server time, median of --repeat)."""
    from devtools.bench.cases import report_first_load, run_cases
    from web import create_app

    store = _demo_store(ctx)
    app = create_app(overrides={"DATABASE_URL": ctx.obj["url"]})
    r = run_cases(app, store, repeat)
    r["report_page"] = report_first_load(store.url)
    if as_json:
        click.echo(json.dumps(r))
        return
    for key, what in (
        ("queue", "/cases (operator, whole district, open, overdue first)"),
        ("queue_all", "/cases?status=all"),
        ("case", f"/cases/{r['case']['id']} ({r['case']['flagged']} likely duplicates)"),
        ("worker_queue", f"/cases for the busiest worker ({r['worker_queue']['open_cases']} open)"),
    ):
        click.echo(f"{what}: {r[key]['ms']} ms, {r[key]['bytes'] / 1e3:.0f} kB")
    click.echo(f"(median of {repeat} requests after one warm-up)")
    page = r["report_page"]
    click.echo(
        f"/report first load in Chromium at 390 px: {page['bytes'] / 1e3:.0f} kB "
        f"(target <= 300 kB before photos), ready in {page['ready_s']} s (median of 3)"
    )


@click.command("bench-hotspots")
@click.option("--repeat", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_hotspots(ctx: click.Context, repeat: int, as_json: bool) -> None:
    """Time /api/v1/hotspots on the demo store, cold and cached, beside the targets."""
    from devtools.bench.hotspots import run_hotspots
    from web import create_app

    _demo_store(ctx)
    r = run_hotspots(create_app(overrides={"DATABASE_URL": ctx.obj["url"]}), repeat)
    if as_json:
        click.echo(json.dumps(r))
        return
    click.echo(
        f"/api/v1/hotspots, whole demo district ({r['requests']} requests each):\n"
        f"  cold (count, Gi*, FDR): median {r['cold_ms']} ms, max {r['cold_max_ms']} ms "
        f"(target <= 2000 ms)\n"
        f"  cached (no write since): median {r['cached_ms']} ms (target <= 300 ms)\n"
        f"  map base built once per worker: {r['base_build_ms']} ms\n"
        f"  9,999 permutations, kernels compiled: {r['permutation_9999_ms']} ms\n"
        f"  emerging hot spots, 8 weeks: {r['emerging_8_weeks_ms']} ms"
    )


@click.command("bench-live")
@click.option("--clients", default=3, show_default=True, type=click.IntRange(1, 4))
@click.option("--events", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_live(ctx: click.Context, clients: int, events: int, as_json: bool) -> None:
    """The live stream's lag under two gunicorn workers, beside its 2 s target."""
    from devtools.bench.live import run_live

    r = run_live(_demo_store(ctx), clients, events)
    if as_json:
        click.echo(json.dumps(r))
        return
    click.echo(
        f"/api/v1/stream, 2 workers, {r['clients']} clients x {r['events']} events posted: "
        f"lag median {r['median_s']} s, p95 {r['p95_s']} s, max {r['max_s']} s "
        f"(target <= {r['target_s']} s); missed {r['missed']}"
    )
