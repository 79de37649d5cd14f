"""Login throttling counted in the store, client addresses behind proxies, token lifetimes."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from geogrid.auth import create_token, create_user, revoke_tokens, user_for_token
from geogrid.cli import main as cli
from geogrid.storage.schema import api_tokens


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _try(client, password, username="chief", **environ):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _csrf(client)},
        environ_base=environ,
    )


@pytest.fixture
def chief(store):
    create_user(store, "chief", "operator", "410102001", password="a long password")


def test_five_failures_lock_the_username_for_every_worker(events_app, store, chief, clock):
    from web import create_app

    client = events_app.test_client()
    for _ in range(5):
        assert _try(client, "wrong password", REMOTE_ADDR="10.0.0.1").status_code == 401
    locked = _try(client, "a long password", REMOTE_ADDR="10.0.0.2")
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    # another worker (another app on the same store) sees the same count
    other = create_app({"TESTING": True, "DATABASE_URL": store.url, "CLOCK": clock})
    assert _try(other.test_client(), "a long password", REMOTE_ADDR="10.0.0.3").status_code == 429
    clock.now += timedelta(minutes=16)
    assert _try(client, "a long password", REMOTE_ADDR="10.0.0.2").status_code == 302


def test_one_address_trying_many_usernames_is_locked_too(events_app, chief):
    client = events_app.test_client()
    for n in range(5):
        assert (
            _try(client, "x" * 12, username=f"user{n}", REMOTE_ADDR="10.0.0.9").status_code == 401
        )
    assert _try(client, "a long password", REMOTE_ADDR="10.0.0.9").status_code == 429
    assert _try(client, "a long password", REMOTE_ADDR="10.0.0.10").status_code == 302


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        ([], "10.0.0.5", "203.0.113.7", "10.0.0.5"),  # no proxy trusted: the header is ignored
        (["10.0.0.5"], "10.0.0.5", "203.0.113.7", "203.0.113.7"),
        (["10.0.0.0/8"], "10.0.0.5", "198.51.100.1, 203.0.113.7, 10.0.0.6", "203.0.113.7"),
        (["10.0.0.5"], "192.0.2.1", "203.0.113.7", "192.0.2.1"),  # not from the proxy
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(
    store, clock, trusted, remote, forwarded, client
):
    from web import create_app
    from web.auth import client_address

    app = create_app(
        {"TESTING": True, "DATABASE_URL": store.url, "CLOCK": clock, "TRUSTED_PROXIES": trusted}
    )
    with app.test_request_context(
        "/", environ_base={"REMOTE_ADDR": remote}, headers={"X-Forwarded-For": forwarded}
    ):
        assert client_address() == client


def test_tokens_expire_and_can_be_revoked(store):
    create_user(store, "bot", "reporter")
    token = create_token(store, "bot", "sensor", days=30)
    other = create_token(store, "bot", "hotline")
    assert user_for_token(store, token).username == "bot"
    with store.write() as conn:
        conn.execute(
            sa.update(api_tokens)
            .where(api_tokens.c.name == "sensor")
            .values(expires_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1))
        )
    assert user_for_token(store, token) is None
    assert user_for_token(store, other).username == "bot"
    assert revoke_tokens(store, "bot", "hotline") == 1
    assert user_for_token(store, other) is None


def test_token_commands_set_lifetimes_and_revoke(store):
    create_user(store, "ops", "operator")
    runner = CliRunner()
    made = runner.invoke(cli, ["--database", store.url, "user", "token", "ops", "--days", "90"])
    assert made.exit_code == 0
    token = made.output.strip()
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(api_tokens)).one()
    assert timedelta(days=89) < row.expires_at - row.created_at <= timedelta(days=90)
    assert user_for_token(store, token).username == "ops"
    revoked = runner.invoke(cli, ["--database", store.url, "user", "revoke", "ops"])
    assert revoked.exit_code == 0 and "1 token(s) of ops revoked" in revoked.output
    assert user_for_token(store, token) is None
    bad = runner.invoke(cli, ["--database", store.url, "user", "token", "ops", "--days", "0"])
    assert bad.exit_code == 2 and "--days" in bad.output
