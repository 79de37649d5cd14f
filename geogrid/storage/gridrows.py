"""The rows of the grids table, read and written in bulk.

A district has ~22,000 grids. Through SQLAlchemy's type processors, one
geometry and one JSON value at a time, loading a generation costs about a
second and writing one as much again. Here the JSON and binary columns are
read as the driver returns them and written as tuples through the driver's
cursor, GEOS parses or writes every geometry in one call, and the attributes
are (de)serialized as SQLAlchemy's JSON type does by default
(:func:`json.dumps`; PostgreSQL's driver parses JSON itself).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import shapely
import sqlalchemy as sa

from geogrid.coords import areas_m2
from geogrid.grid import Grid
from geogrid.storage.schema import grids

__all__ = [
    "StoredGrid",
    "attribute_dicts",
    "insert_grids",
    "row_values",
    "select_grids",
    "stored_grids",
]


def _as_stored(column: sa.Column):
    """``column`` as the driver returns it: no per-row type processing."""
    return sa.type_coerce(column, sa.types.NullType()).label(column.name)


_RECORD = (grids.c.code, grids.c.name, _as_stored(grids.c.attributes), _as_stored(grids.c.geometry))
_INSERTED = (
    "code",
    "level",
    "parent",
    "name",
    "attributes",
    "geometry",
    "min_x",
    "min_y",
    "max_x",
    "max_y",
    "area_m2",
    "generation_low",
    "generation_high",
)


def _parsed(value):
    """A stored JSON value: text on SQLite, already parsed by PostgreSQL's driver."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _attributes(value) -> dict:
    """A stored attributes value as a dict."""
    return dict(_parsed(value) or {})


def attribute_dicts(values: Sequence) -> list[dict]:
    """Stored attributes values as dicts, as :func:`_attributes` reads each.

    SQLite's texts are parsed in one call, as the items of one JSON array: a
    call per row costs a district's preview about a tenth of a second more.
    Texts that are not one JSON value each (the count would not match) are
    parsed one by one, failing as they would alone.
    """
    if values and all(type(v) is str for v in values):
        parsed = json.loads("[" + ",".join(values) + "]")
        if len(parsed) == len(values):
            return [dict(v or {}) for v in parsed]
    return [_attributes(v) for v in values]


def _wkb(values) -> np.ndarray:
    """The geometry column's values as bytes (a driver may hand out memoryviews)."""
    out = np.empty(len(values), dtype=object)
    out[:] = [v if isinstance(v, bytes) else bytes(v) for v in values]
    return out


def select_grids(conn: sa.Connection, query: sa.Select) -> list[Grid]:
    """The grids ``query`` (a select of the grids table, filtered and ordered) finds."""
    rows = conn.execute(query.with_only_columns(*_RECORD)).all()
    if not rows:
        return []
    codes, names, attributes, wkb = zip(*rows, strict=True)
    geometries = shapely.from_wkb(_wkb(wkb)).tolist()
    return [
        Grid(code=code, name=name, geometry=geometry, attributes=values)
        for code, name, values, geometry in zip(
            codes, names, attribute_dicts(attributes), geometries, strict=True
        )
    ]


class StoredGrid:
    """A grid row of a generation: its id, name, attributes (parsed only to compare) and WKB."""

    __slots__ = ("_attributes", "geometry", "id", "name")

    def __init__(self, id_: int, name: str, attributes, geometry) -> None:
        self.id, self.name, self._attributes = id_, name, attributes
        self.geometry = geometry if isinstance(geometry, bytes) else bytes(geometry)

    def same(self, grid: Grid, wkb: bytes) -> bool:
        """Whether ``grid`` (whose geometry is ``wkb``) is this row unchanged."""
        return (
            self.geometry == wkb
            and self.name == grid.name
            and _parsed(self._attributes) == grid.attributes
        )


def stored_grids(conn: sa.Connection, generation: int) -> dict[str, StoredGrid]:
    """The rows of ``generation`` by code, as a new generation compares itself with them."""
    query = sa.select(grids.c.id, *_RECORD).where(
        grids.c.generation_low <= generation, grids.c.generation_high >= generation
    )
    return {row[1]: StoredGrid(row[0], *row[2:]) for row in conn.execute(query)}


def row_values(new_grids: Sequence[Grid]) -> tuple[np.ndarray, list, list]:
    """What :func:`insert_grids` writes of each grid's geometry: WKB, bounds, area in m².

    A dry run works them out on its spare core, so the commit of its plan need not.
    """
    geoms = np.array([g.geometry for g in new_grids], dtype=object)
    return shapely.to_wkb(geoms), shapely.bounds(geoms).tolist(), areas_m2(geoms).tolist()


def insert_grids(
    conn: sa.Connection,
    new_grids: Sequence[Grid],
    gen: int,
    previous: dict[str, StoredGrid],
    values: tuple | None = None,
) -> None:
    """Write ``new_grids`` as generation ``gen``: rows unchanged since ``previous`` are extended.

    ``values`` are their :func:`row_values`, if worked out already.
    """
    wkb, bounds, areas = values if values is not None else row_values(new_grids)
    extend, rows = [], []
    for i, grid in enumerate(new_grids):
        old = previous.get(grid.code)
        if old is not None and old.same(grid, wkb[i]):
            extend.append(old.id)
            continue
        record = (grid.code, grid.level, grid.parent, grid.name, json.dumps(grid.attributes))
        rows.append((*record, wkb[i], *bounds[i], areas[i], gen, gen))
    for start in range(0, len(extend), 500):
        conn.execute(
            sa.update(grids)
            .where(grids.c.id.in_(extend[start : start + 500]))
            .values(generation_high=gen)
        )
    if rows:
        mark = "%s" if conn.dialect.name == "postgresql" else "?"
        conn.exec_driver_sql(
            f"INSERT INTO grids ({', '.join(_INSERTED)}) "
            f"VALUES ({', '.join([mark] * len(_INSERTED))})",
            rows,
        )
