"""Shared fixtures: a small inline district, a store, the Flask app and its clients.

See grids_inline.py for the small district.

Every test that takes ``store_url`` (and so ``store``, ``app``, ``api`` …) runs
once per backend: ``[sqlite]`` on a file in its tmp_path, ``[postgis]`` in a
schema of its own in a PostgreSQL + PostGIS database. That database is
``$GEOGRID_TEST_DATABASE_URL`` (an existing server, PostGIS installed) or a
throwaway cluster the session starts on 127.0.0.1 and stops at the end
(devtools.pgtemp). ``GEOGRID_TEST_BACKENDS=sqlite`` restricts a run to the
embedded store; otherwise a missing PostgreSQL fails the PostGIS tests, it
never skips them.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import strategies  # noqa: F401  (registers and loads the hypothesis profiles)
from grids_inline import collection, small_features

from geogrid.boundaries.grids import read_grids
from geogrid.storage.store import Store


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


BACKENDS = os.environ.get("GEOGRID_TEST_BACKENDS", "sqlite,postgis").split(",")
PG_URL_ENV = "GEOGRID_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def postgis_server():
    """The URL of a PostgreSQL database with PostGIS, for the whole session."""
    from devtools.pgtemp import PostgresNotFound, TempCluster

    if os.environ.get(PG_URL_ENV):
        yield os.environ[PG_URL_ENV]
        return
    cluster = TempCluster()
    try:
        url = cluster.start()
    except PostgresNotFound as err:
        pytest.fail(f"{err}; or set GEOGRID_TEST_BACKENDS=sqlite to test SQLite only")
    yield url
    cluster.stop()


def postgis_schema_url(server_url: str):
    """A fresh schema in the PostGIS database: (its URL, a function that drops it).

    The URL puts the schema first on the search path (PostGIS stays in
    public) and names its connections after it, so the drop can end them.
    """
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:16]}"
    url = sa.engine.make_url(server_url).update_query_dict(
        {"options": f"-csearch_path={schema},public", "application_name": schema}
    )
    rendered = url.render_as_string(hide_password=False)
    admin = sa.create_engine(server_url, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        for store in _OPENED.pop(rendered, []):
            store.close()
        with admin.begin() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": schema},
            )
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()

    return rendered, drop


def backend_url(request, directory) -> str:
    """A new empty store URL on ``request.param``'s backend (dropped after the test)."""
    if request.param == "sqlite":
        return f"sqlite:///{directory / 'store.sqlite'}"
    url, drop = postgis_schema_url(request.getfixturevalue("postgis_server"))
    request.addfinalizer(drop)
    return url


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> str:
    return backend_url(request, tmp_path)


@pytest.fixture
def postgis_url(request) -> str:
    """An empty store URL on PostGIS only, for what only PostGIS can check."""
    url, drop = postgis_schema_url(request.getfixturevalue("postgis_server"))
    request.addfinalizer(drop)
    return url


@pytest.fixture(params=BACKENDS, scope="module")
def module_store_url(request, tmp_path_factory) -> str:
    """A store URL per backend shared by a module's tests (for a served site)."""
    return backend_url(request, tmp_path_factory.mktemp("module"))


_OPENED: dict[str, list[Store]] = {}  # PostGIS store URL → the stores opened on it


@pytest.fixture(autouse=True, scope="session")
def _index_cache(tmp_path_factory):
    """Saved grid indexes (PostGIS stores, ``geogrid assign``) go to the session's tmp folder.

    Set in the environment, so served subprocesses inherit it.
    """
    folder = tmp_path_factory.mktemp("indexes")
    old = os.environ.get("GEOGRID_INDEX_DIR")
    os.environ["GEOGRID_INDEX_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("GEOGRID_INDEX_DIR", None)
    else:
        os.environ["GEOGRID_INDEX_DIR"] = old


@pytest.fixture(autouse=True, scope="session")
def _track_stores():
    """Keep every PostGIS store, so a schema's stores are closed before it is dropped.

    A pooled PostgreSQL connection left to the garbage collector is a
    ResourceWarning, which this suite treats as an error.
    """
    init = Store.__init__

    def tracked(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if self.backend == "postgresql":  # held until its schema is dropped, then closed
            _OPENED.setdefault(self.url, []).append(self)

    Store.__init__ = tracked
    yield
    Store.__init__ = init


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
    from geogrid.engine.assign import GridIndex

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
