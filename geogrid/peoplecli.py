"""The people commands of ``geogrid``: users and their tokens, and the staff roster."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

__all__ = ["staff", "user"]


def open_store(ctx: click.Context):
    """The store of ``--database`` (:func:`geogrid.cli.open_store`, which imports this module)."""
    from geogrid.cli import open_store as opened

    return opened(ctx)


#: the roles (as :data:`geogrid.auth.ROLES`, kept here so the CLI starts without SQLAlchemy)
ROLES = ("reporter", "viewer", "worker", "operator", "admin")


@click.group()
def user() -> None:
    """Users and API tokens."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--scope", default=None, help="District or street code (default: everywhere).")
@click.option("--staff", "staff_ref", default=None, help="A worker's roster entry (its ref).")
@click.option("--password", is_flag=True, help="Ask for a password (for the web pages).")
@click.pass_context
def user_add(
    ctx: click.Context,
    username: str,
    role: str,
    scope: str | None,
    staff_ref: str | None,
    password: bool,
) -> None:
    """Add a user (a grid worker: --role worker --staff REF)."""
    from geogrid.auth import create_user

    secret = None
    if password:
        secret = click.prompt("password", hide_input=True, confirmation_prompt=True)
    store = open_store(ctx)
    store.migrate()
    created = create_user(store, username, role, scope, secret, staff_ref)
    click.echo(f"user {created.username}: {created.role}, scope {created.scope or 'all'}")


@user.command("token")
@click.argument("username")
@click.option("--name", default="", help="What the token is for.")
@click.option(
    "--days",
    default=365,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="Days until the token expires.",
)
@click.pass_context
def user_token(ctx: click.Context, username: str, name: str, days: int) -> None:
    """Create an API token for USERNAME and print it (only its hash is kept)."""
    from geogrid.auth import create_token

    click.echo(create_token(open_store(ctx), username, name, days))


@user.command("revoke")
@click.argument("username")
@click.option("--token-name", default=None, help="Only the tokens with this name.")
@click.pass_context
def user_revoke(ctx: click.Context, username: str, token_name: str | None) -> None:
    """Revoke every API token of USERNAME (or those named --token-name)."""
    from geogrid.auth import revoke_tokens

    count = revoke_tokens(open_store(ctx), username, token_name)
    click.echo(f"{count} token(s) of {username} revoked")


@click.group()
def staff() -> None:
    """The roster: grid workers, community leaders and department liaisons."""


@staff.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def staff_import(ctx: click.Context, file: Path) -> None:
    """Add or update the people of a roster (.csv or .xlsx); importing it again changes nothing."""
    from geogrid.cases.staff import import_roster, read_roster

    rows = read_roster(file)
    store = open_store(ctx)
    store.migrate()
    counts = import_roster(store, rows, datetime.now(UTC))
    kinds = ("created", "updated", "unchanged", "departments_created")
    click.echo(", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in kinds))
    if unknown := counts["unknown_codes"]:
        shown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
        click.echo(f"warning: {len(unknown)} codes not in the active generation: {shown}", err=True)
