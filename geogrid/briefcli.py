"""``geogrid brief``: the daily brief of a street or community as a one-page PDF."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click

__all__ = ["brief"]


@click.command()
@click.option("--code", required=True, help="The street or community code.")
@click.option("--date", "day", default=None, help="The day, YYYY-MM-DD (default: today, CST).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--png", is_flag=True, help="Write a PNG rendering (150 dpi) instead of a PDF.")
@click.pass_context
def brief(ctx: click.Context, code: str, day: str | None, out: Path, png: bool) -> None:
    """Write the daily brief of street or community CODE for a day to OUT (one A4 page)."""
    from geogrid.cases.categories import load_categories
    from geogrid.cli import open_store
    from geogrid.errors import InvalidInputError
    from geogrid.reports.brief import brief_of, parse_day
    from geogrid.reports.briefpdf import render_brief
    from geogrid.reports.trend import china_day

    started = time.perf_counter()
    now = datetime.now(UTC)
    store = open_store(ctx)
    try:
        found = brief_of(store, code, parse_day(day, china_day(now)), now)
    except InvalidInputError as err:
        field = err.details[0]["field"] if err.details else "code"
        message = err.details[0]["message"] if err.details else err.message
        raise click.BadParameter(message, param_hint=f"--{field}") from None
    names = {k: c.name for k, c in load_categories().items()}
    out.write_bytes(render_brief(found, names, "png" if png else "pdf"))
    elapsed = time.perf_counter() - started
    click.echo(f"brief of {found.name} ({code}) for {found.day} -> {out} ({elapsed:.1f} s)")
