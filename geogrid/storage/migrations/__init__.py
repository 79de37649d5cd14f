"""Alembic migrations of the store's schema, run by :meth:`geogrid.storage.store.Store.migrate`."""
