"""Storage: the store, its schema, its migrations and its integrity checks."""
