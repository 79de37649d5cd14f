"""The migrations build exactly the schema the code declares."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from geogrid.schema import metadata
from geogrid.store import Store


def test_migrated_database_matches_the_declared_schema(store_url):
    store = Store(store_url)
    store.migrate()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert set(sa.inspect(store.engine).get_table_names()) >= {
        "generations",
        "grids",
        "events",
        "event_history",
        "stations",
        "audit",
        "users",
        "api_tokens",
        "alembic_version",
    }
