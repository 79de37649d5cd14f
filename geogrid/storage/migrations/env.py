"""Alembic environment: geogrid runs migrations on a connection it passes in."""

from alembic import context

from geogrid.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through geogrid.storage.store.Store.migrate()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
