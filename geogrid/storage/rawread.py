"""Reading many rows as columns, straight from the database driver's cursor.

SQLAlchemy's row objects cost more than the query when a district's 100,000
events are read at once (statistics, a redraw's reassignment). Here the
statement is compiled by SQLAlchemy and run on the driver's own cursor, and
the rows come back as one object array per column, read in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import sqlalchemy as sa

__all__ = ["column_chunks", "read_columns"]

CHUNK = 50_000


def column_chunks(
    conn: sa.Connection, query: sa.Select, chunk: int = CHUNK
) -> Iterator[list[tuple]]:
    """The rows of ``query`` in chunks, each chunk one tuple per column (driver values)."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            yield list(zip(*rows, strict=True))
    finally:
        cursor.close()


def read_columns(conn: sa.Connection, query: sa.Select) -> dict[str, np.ndarray]:
    """Every row of ``query`` as an object array per selected column, by column name."""
    names = [c.name for c in query.selected_columns]
    parts: list[list[np.ndarray]] = [[] for _ in names]
    for columns in column_chunks(conn, query):
        for part, values in zip(parts, columns, strict=True):
            array = np.empty(len(values), dtype=object)
            array[:] = values
            part.append(array)
    return {
        name: np.concatenate(part) if part else np.empty(0, dtype=object)
        for name, part in zip(names, parts, strict=True)
    }
