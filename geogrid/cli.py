"""The ``geogrid`` command line.

Every command validates its input and exits non-zero with a message naming
the file, the line or the feature. ``assign`` works on files alone, no store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import click

from geogrid import codes
from geogrid.coords import CRS_NAMES, check_lonlat
from geogrid.engine import DEFAULT_TOLERANCE_M
from geogrid.errors import GeoGridError
from geogrid.storage.location import default_url

if TYPE_CHECKING:
    from geogrid.storage.store import Store

__all__ = ["PLUGINS", "main", "open_store"]

_CRS = click.Choice(CRS_NAMES, case_sensitive=False)


PLUGINS = "geogrid.commands"


class _Group(click.Group):
    """The core's commands plus those registered under the ``geogrid.commands`` entry points.

    The web layer registers ``serve``, ``demo`` and ``map``; a development
    checkout's ``devtools`` registers the benchmarks. A plugin is imported only
    when its command runs (or ``--help`` lists it), so the core commands never
    load Flask; one whose package is not installed (``devtools`` in a wheel) is
    left out. geogrid errors become a clear message and exit status 2.
    """

    def _plugins(self) -> dict[str, metadata.EntryPoint]:
        return {ep.name: ep for ep in metadata.entry_points(group=PLUGINS)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(name for name in self._plugins() if self.get_command(ctx, name))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        entry = self._plugins().get(cmd_name)
        if entry is None:
            return None
        try:
            return entry.load()
        except ModuleNotFoundError as err:
            if err.name and entry.module.split(".")[0] == err.name.split(".")[0]:
                return None  # that package is not installed here
            raise

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
    field = f"{detail['field']}: " if "line" in detail and detail.get("field") else ""
    return f"{where}{code}: {field}{detail.get('message') or detail.get('error')}"


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


def open_store(ctx: click.Context) -> Store:
    """The store named by ``--database`` (or the environment, or the instance folder)."""
    from geogrid.storage.store import Store

    return Store(ctx.obj["url"])


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the store's schema."""
    store = open_store(ctx)
    store.migrate()
    click.echo(f"store ready: {store.display_url}")


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Check the store's consistency (one active generation, histories, assignments)."""
    from geogrid.storage.integrity import check as check_store

    problems = check_store(open_store(ctx))
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
    from geogrid.boundaries.grids import read_grids

    grids = read_grids(file)
    store = open_store(ctx)
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
    found = open_store(ctx).index(tolerance).locate(x, y, crs.lower())
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
    """Assign a file of events to the grids of a GeoJSON file (no store needed).

    EVENTS and OUT are CSV, Parquet, GeoParquet or GeoPackage, by suffix
    (.csv, .parquet, .geoparquet, .gpkg); every input column is kept and the
    codes are added. Exits 1 if some rows were bad: they are listed with their
    line (CSV) or row number and written to OUT's .errors.csv beside it.
    """
    from tqdm import tqdm

    from geogrid.engine.pointfile import assign_file

    index = _file_index(grids_file, tolerance)
    with tqdm(unit=" rows", unit_scale=True, disable=None, file=sys.stderr) as bar:
        result = assign_file(
            index,
            events_file,
            out,
            crs=crs.lower(),
            lon_col=lon_col,
            lat_col=lat_col,
            progress=bar.update,
        )
    methods = ", ".join(f"{n} {m}" for m, n in sorted(result.methods.items()))
    click.echo(f"{result.assigned} rows assigned ({methods or 'none'}) -> {out}")
    if result.errors:
        for error in result.errors[:20]:
            click.echo(f"{result.where} {error[result.where]}: {error['error']}", err=True)
        click.echo(f"{len(result.errors)} bad rows not assigned -> {result.errors_out}", err=True)
        sys.exit(1)


def _file_index(grids_file: Path, tolerance: float):
    """The index of a grids file: saved in the cache by the file's content, built once."""
    from geogrid.boundaries.grids import read_grids
    from geogrid.engine.assign import GridIndex
    from geogrid.engine.indexfile import load_index, save_index
    from geogrid.storage.location import index_cache

    digest = hashlib.sha256(grids_file.read_bytes()).hexdigest()
    folder = index_cache() / "files" / f"{digest}-t{tolerance:g}"
    index = load_index(folder)
    if index is None:
        index = GridIndex(read_grids(grids_file), tolerance_m=tolerance)
        with contextlib.suppress(OSError):  # no cache to write: the next run builds it again
            save_index(index, folder)
    return index


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

    from geogrid.cases.categories import load_categories
    from geogrid.cases.files import read_event_rows
    from geogrid.cases.intake import Intake

    store = open_store(ctx)
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


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "gpkg", "xlsx"]),
    default="geojson",
    show_default=True,
)
@click.option("--personal", is_flag=True, help="gpkg: include reporter names and phones.")
@click.option(
    "--for-edit", is_flag=True, help="Grids to edit in QGIS and upload again (.gpkg or .geojson)."
)
@click.option("--scope", default=None, help="--for-edit: the grid whose subtree to export.")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export(
    ctx: click.Context, fmt: str, personal: bool, for_edit: bool, scope: str | None, out: Path
) -> None:
    """Write the active generation: grids, every layer, or the per-grid report.

    Grids as GeoJSON, every layer as a GeoPackage, or the per-grid Excel report
    (counts, closure and on-time rates per street, community, grid).
    """
    from geogrid.boundaries.grids import grid_to_feature

    store = open_store(ctx)
    if for_edit:
        _export_for_edit(store, scope, out)
        return
    generation = store.active_generation()
    if fmt == "gpkg":
        from geogrid.reports.exports import export_gpkg

        out.unlink(missing_ok=True)
        counts = export_gpkg(store, out, personal)
        click.echo(", ".join(f"{n} {layer}" for layer, n in counts.items()) + f" -> {out}")
        return
    if fmt == "xlsx":
        from geogrid.cases.categories import load_categories
        from geogrid.reports.exports import export_xlsx

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


def _export_for_edit(store, scope: str | None, out: Path) -> None:
    """``export --for-edit``: a GeoPackage (a styled layer per level) or GeoJSON, by suffix."""
    from geogrid.boundaries.export import edit_geojson, edit_gpkg

    if out.suffix.lower() == ".gpkg":
        out.unlink(missing_ok=True)
        counts = edit_gpkg(store, out, scope)
        click.echo(", ".join(f"{n} {layer}" for layer, n in counts.items()) + f" -> {out}")
        return
    collection = edit_geojson(store, scope)
    out.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    click.echo(f"{len(collection['features'])} grids for editing -> {out}")


@main.command("import-stations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_stations_cmd(ctx: click.Context, file: Path) -> None:
    """Replace the stations of the kinds in FILE (GeoJSON points or CSV with lon/lat)."""
    from geogrid.stations import import_stations, read_stations

    found = read_stations(file)
    store = open_store(ctx)
    store.migrate()
    click.echo(f"{import_stations(store, found)} stations imported")


def _people_commands() -> None:
    """``user`` and ``staff`` live in :mod:`geogrid.peoplecli` (they need ``open_store``)."""
    from geogrid.briefcli import brief
    from geogrid.peoplecli import staff, user
    from geogrid.tilescli import tiles

    main.add_command(user)
    main.add_command(staff)
    main.add_command(brief)
    main.add_command(tiles)


_people_commands()
