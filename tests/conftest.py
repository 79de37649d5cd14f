"""Shared fixtures: a small inline district, a store, the Flask app and its clients.

See grids_inline.py for the small district.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from grids_inline import collection, small_features

from geogrid.registry import read_grids
from geogrid.store import Store


@pytest.fixture
def small_fc() -> dict:
    return collection(small_features())


@pytest.fixture
def small_grids(small_fc):
    return read_grids(small_fc)


@pytest.fixture
def small_geojson(tmp_path, small_fc):
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(small_fc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def store_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture
def store(store_url, small_grids) -> Store:
    store = Store(store_url)
    store.migrate()
    store.import_grids(small_grids, actor="test")
    return store


@pytest.fixture
def app(store):
    from web import create_app

    return create_app({"TESTING": True, "DATABASE_URL": store.url})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def demo_grids():
    import geodata

    return read_grids(geodata.GRIDS)


@pytest.fixture(scope="session")
def demo_index(demo_grids):
    from geogrid.assign import GridIndex

    return GridIndex(demo_grids, generation=1)


# -- events: a fixed clock and one token per role ------------------------------

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def clock():
    """A settable clock for the app: ``clock.now`` is what the app sees."""

    class Clock:
        now = NOW

        def __call__(self):
            return self.now

    return Clock()


@pytest.fixture
def events_app(store, clock):
    from web import create_app

    return create_app({"TESTING": True, "DATABASE_URL": store.url, "CLOCK": clock})


@pytest.fixture
def api(events_app):
    return events_app.test_client()


@pytest.fixture
def tokens(store) -> dict[str, str]:
    """Bearer headers per role; operator ``op1`` is scoped to street 410102001."""
    from geogrid.auth import create_token, create_user

    out = {}
    for name, role, scope in [
        ("rep", "reporter", None),
        ("view", "viewer", None),
        ("op1", "operator", "410102001"),
        ("op2", "operator", "410102002"),
        ("opd", "operator", "410102"),
        ("adm", "admin", None),
    ]:
        create_user(store, name, role, scope)
        out[name] = {"Authorization": f"Bearer {create_token(store, name)}"}
    return out
