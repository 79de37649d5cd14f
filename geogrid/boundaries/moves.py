"""The events a redraw moves: found by a dry run, summarized, then written in one pass.

A district's 100,000 events are read as columns, assigned under the new index
and compared with what they carry. A commit writes the new codes of the events
that move in one statement per 50,000 (the rows travel as one JSON array, which
SQLite's ``json_each`` and PostgreSQL's ``jsonb_array_elements`` unpack), and
stamps the generation on the others: each event row is written once.

When most of a SQLite store's events move, the indexes on the columns written
are dropped first and built again from their own ``CREATE INDEX`` text once
the rows are written, in the same transaction: one sort each instead of a
delete and an insert per moved row.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from geogrid.cases.workflow import OPEN
from geogrid.engine.assign import GridIndex
from geogrid.storage.rawread import read_columns
from geogrid.storage.schema import events, store_changes

__all__ = ["CODE_COLUMNS", "Moves", "find_moves", "impact", "reassign"]

CODE_COLUMNS = ("district", "street", "community", "grid", "micro", "dedicated", "method")
_SAMPLE = 20
_SEP = "|"  # joins an event's codes and method: none of them holds it
_BATCH = 50_000  # moved events per statement
#: on SQLite, the share of the events that must move for their written indexes to be rebuilt
REBUILD_SHARE = 0.5
#: the moved events' rows, unpacked from one JSON array of [id, *CODE_COLUMNS] (the
#: parameter), and the k-th element of one (json_extract: SQLite before 3.38 has no ->>)
_ROWS = {
    "sqlite": ("FROM json_each(?)", "json_extract(value, '$[{k}]')"),
    "postgresql": (
        "FROM jsonb_array_elements(CAST(%s AS jsonb)) AS elements(value)",
        "value ->> {k}",
    ),
}


@dataclass
class Moves:
    """The events whose assignment an index would change, as parallel arrays."""

    ids: np.ndarray
    status: np.ndarray
    old: dict[str, np.ndarray]  # code column → the stored value ('' for none)
    new: dict[str, np.ndarray]  # code column → the new value ('' for none)

    def only(self, keep: np.ndarray) -> Moves:
        """The moves selected by the boolean mask ``keep``."""
        return Moves(
            ids=self.ids[keep],
            status=self.status[keep],
            old={c: v[keep] for c, v in self.old.items()},
            new={c: v[keep] for c, v in self.new.items()},
        )

    def open_only(self) -> Moves:
        """The moves of open events."""
        return self.only(np.isin(self.status, OPEN))


def find_moves(conn: sa.Connection, index: GridIndex, closed_too: bool = True) -> Moves:
    """Events whose assignment ``index`` would change (all events, or the open ones).

    Each event's stored codes come back joined into one string, as
    :meth:`~geogrid.engine.assign.Assignment.joined` joins the new ones: a
    column of 100,000 strings to read and compare instead of seven. Only the
    events that move have theirs split into columns again.
    """
    stored = sa.func.coalesce(events.c[CODE_COLUMNS[0]], "")
    for column in CODE_COLUMNS[1:]:
        stored = stored + _SEP + sa.func.coalesce(events.c[column], "")
    query = sa.select(
        events.c.id, events.c.lon, events.c.lat, events.c.status, stored.label("codes")
    )
    if not closed_too:
        query = query.where(events.c.status.in_(OPEN))
    table = read_columns(conn, query)
    found = index.assign(table["lon"].astype(float), table["lat"].astype(float))
    changed = table["codes"] != found.joined(_SEP)
    old = _split(table["codes"][changed])
    return Moves(
        ids=table["id"][changed].astype(np.int64),
        status=table["status"][changed],
        old=old,
        new={c: np.asarray(getattr(found, c), dtype=object)[changed] for c in CODE_COLUMNS},
    )


def _split(joined: np.ndarray) -> dict[str, np.ndarray]:
    """Code columns of strings joined by ``_SEP``, one array of str per column."""
    parts = np.empty((len(joined), len(CODE_COLUMNS)), dtype=object)
    if len(joined):
        parts[:] = [text.split(_SEP) for text in joined.tolist()]
    return {column: parts[:, k].copy() for k, column in enumerate(CODE_COLUMNS)}


def impact(moves: Moves) -> dict:
    """What a plan reports of its moves: counts, per (old, new) grid, and a sample."""
    state = np.where(np.isin(moves.status, OPEN), "open", "closed")
    counts = Counter(state.tolist())
    before = [c or None for c in moves.old["grid"].tolist()]
    after = [c or None for c in moves.new["grid"].tolist()]
    per_grid = Counter(zip(before, after, state.tolist(), strict=True))
    sample = [
        {"id": int(i), "status": s, "from": b, "to": a}
        for i, s, b, a in zip(
            moves.ids[:_SAMPLE].tolist(),
            moves.status[:_SAMPLE].tolist(),
            before,
            after,
            strict=False,
        )
    ]
    by_grid: dict[tuple, dict] = {}
    for (b, a, s), n in per_grid.items():
        by_grid.setdefault((b, a), {"from": b, "to": a, "open": 0, "closed": 0})[s] += n
    return {
        "open_moved": counts["open"],
        "closed_moved": counts["closed"],
        "by_grid": sorted(by_grid.values(), key=lambda r: -(r["open"] + r["closed"])),
        "sample": sample,
    }


def reassign(
    conn: sa.Connection, index: GridIndex, closed_too: bool, moves: Moves | None = None
) -> int:
    """Put open (or all) events under ``index``'s generation; returns how many moved.

    ``moves``, if given, are those of every event under this index, found by a
    dry run with nothing written since. The events that move get their codes,
    generation and change stamp in one statement per batch; then the others
    their generation and stamp (a row already holding both was written so just
    now). A statement per event would cost seconds on a district.
    """
    if moves is None:
        moves = find_moves(conn, index, closed_too)
    elif not closed_too:
        moves = moves.open_only()
    # stamped here, in the same statements: on SQLite the trigger would write each row twice
    seq = sa.select(store_changes.c.seq).where(store_changes.c.id == 1).scalar_subquery()
    written = [c for c in CODE_COLUMNS if (moves.old[c] != moves.new[c]).any()]
    with _indexes_rebuilt(conn, [*written, "generation_id", "change_seq"], len(moves.ids)):
        for start in range(0, len(moves.ids), _BATCH):
            _write_moved(conn, moves, slice(start, start + _BATCH), index.generation)
        rest = (
            sa.update(events)
            .values(generation_id=index.generation, change_seq=seq)
            .where(
                sa.or_(
                    events.c.generation_id.is_distinct_from(index.generation),
                    events.c.change_seq.is_distinct_from(seq),
                )
            )
        )
        conn.execute(rest if closed_too else rest.where(events.c.status.in_(OPEN)))
    return len(moves.ids)


@contextmanager
def _indexes_rebuilt(conn: sa.Connection, columns: list[str], moved: int) -> Iterator[None]:
    """On SQLite, when most events move: the events' indexes on ``columns`` dropped while inside.

    Each is created again afterwards from the text SQLite keeps of it, so the
    schema ends as it began. Inside the caller's transaction: if anything
    fails, the rollback restores them with the rows. Elsewhere, or with fewer
    moves, nothing happens (PostgreSQL would lock the table against readers).
    """
    if conn.dialect.name != "sqlite" or not moved:
        yield
        return
    total = conn.scalar(sa.select(sa.func.count()).select_from(events))
    if moved < REBUILD_SHARE * total:
        yield
        return
    kept = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master "
        "WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name"
    ).all()
    rebuilt = [(name, sql) for name, sql in kept if _indexed(conn, name) & set(columns)]
    stats = _statistics(conn, [name for name, _ in rebuilt])
    for name, _ in rebuilt:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, sql in rebuilt:
        conn.exec_driver_sql(sql)
    if stats:  # ANALYZE's figures for them, which DROP INDEX deleted
        conn.exec_driver_sql("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", stats)


def _statistics(conn: sa.Connection, names: list[str]) -> list[tuple]:
    """The rows ANALYZE left in ``sqlite_stat1`` for the indexes ``names`` (none if never run)."""
    if (
        not names
        or not conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).first()
    ):
        return []
    marks = ", ".join("?" * len(names))
    found = conn.exec_driver_sql(
        f"SELECT tbl, idx, stat FROM sqlite_stat1 WHERE idx IN ({marks})", tuple(names)
    )
    return [tuple(row) for row in found]


def _indexed(conn: sa.Connection, name: str) -> set[str | None]:
    """The columns SQLite's index ``name`` keys on (None stands for an expression)."""
    return {row[2] for row in conn.exec_driver_sql(f'PRAGMA index_info("{name}")')}


def _write_moved(conn: sa.Connection, moves: Moves, part: slice, generation: int | None) -> None:
    """New codes, ``generation`` and the change stamp for the moved events in ``part``.

    Only the code columns that change for some event of the batch are set: an
    indexed column set to its own value still costs its index an update.
    """
    changed = [c for c in CODE_COLUMNS if (moves.old[c][part] != moves.new[c][part]).any()]
    values = [[v or None for v in moves.new[c][part].tolist()] for c in changed]
    payload = json.dumps(list(zip(moves.ids[part].tolist(), *values, strict=True)))
    source, element = _ROWS[conn.dialect.name]
    picked = [f"CAST({element.format(k=0)} AS BIGINT) AS id"]
    picked += [f"{element.format(k=k)} AS {c}" for k, c in enumerate(changed, 1)]
    sets = "".join(f"{c} = moved.{c}, " for c in changed)
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    conn.exec_driver_sql(
        f"UPDATE events SET {sets}generation_id = {mark}, "
        "change_seq = (SELECT seq FROM store_changes WHERE id = 1) "
        f"FROM (SELECT {', '.join(picked)} {source}) AS moved WHERE events.id = moved.id",
        (generation, payload),
    )
