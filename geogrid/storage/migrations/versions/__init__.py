"""The migration scripts, one revision a file, applied in order."""
