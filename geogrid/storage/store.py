"""The boundary store: grids by generation, behind one interface for every backend.

The embedded backend is one SQLite file (no server, no SpatiaLite); the
production backend is PostgreSQL with PostGIS (``postgresql+psycopg://…``,
psycopg 3), where migration 0002 adds generated PostGIS geometry columns with
GiST indexes. The URL comes from ``GEOGRID_DATABASE_URL`` or defaults to
``instance/geogrid.sqlite``; the backends' plumbing is in
:mod:`geogrid.storage.backends`.
Boundaries are versioned as generations (as mySociety's MapIt does): a grid
row is valid from ``generation_low`` to ``generation_high``; one generation is
active; an import never rewrites an earlier generation.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import shapely
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from geogrid import codes
from geogrid.engine.assign import DEFAULT_TOLERANCE_M, GridIndex
from geogrid.engine.indexfile import load_index, save_index
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.grid import Grid
from geogrid.storage.backends import (
    URL_ENV,
    SQLiteWriteLock,
    WalCheckpoints,
    create_engine,
    database_url,
    default_url,
    in_memory,
    local_write_lock,
    roomy_page_cache,
)
from geogrid.storage.gridrows import insert_grids, select_grids, stored_grids
from geogrid.storage.location import INDEX_DIR_ENV, index_cache
from geogrid.storage.schema import audit, generations, grids, store_changes

__all__ = ["URL_ENV", "Store", "default_url"]

# PostgreSQL advisory lock key ("geog") that orders boundary changes against every other write.
BOUNDARY_LOCK = 0x67656F67
_MIGRATIONS = Path(__file__).parent / "migrations"


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """Grids, generations and the records beside them, in one database.

    Parameters
    ----------
    url : str, optional
        A SQLAlchemy database URL; by default :func:`default_url`.
    """

    def __init__(self, url: str | None = None) -> None:
        parsed = database_url(url)
        self.url = parsed.render_as_string(hide_password=False)
        self.backend = parsed.get_backend_name()
        self.engine = create_engine(parsed)
        self._writer = self.engine.execution_options(geogrid_write=True)
        self._local_writer = local_write_lock(parsed)
        #: a SQLite file's checkpoints after boundary changes (an in-memory one has no log)
        self._checkpoints = (
            WalCheckpoints(self.engine)
            if self.backend == "sqlite" and not in_memory(parsed.database)
            else None
        )

    @property
    def display_url(self) -> str:
        """The URL with its password masked, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def write(self, *, boundaries: bool = False, changes: bool = True) -> Iterator[sa.Connection]:
        """A write transaction (``with store.write() as conn``): all or nothing.

        Writes that change the active generation pass ``boundaries=True``.
        On SQLite every write takes the one write lock up front (BEGIN
        IMMEDIATE), so writers queue instead of failing when a read turns into
        a write, and no write overlaps a boundary change; not re-entrant. On PostgreSQL a
        boundary change holds an exclusive advisory lock and every other write
        a shared one: a boundary change waits for the writes in flight, and
        the writes after it see the new generation.

        Every write raises the store's change sequence (:meth:`change_seq`)
        before anything else, and the events it writes carry the new value;
        ``changes=False`` is for writes that no cache shows (users, tokens,
        failed logins): they neither invalidate pages nor queue behind the counter.
        A boundary change on SQLite gets a roomy page cache for its transaction
        (see :func:`~geogrid.storage.backends.roomy_page_cache`): it rewrites a
        district's events and their indexes; and its commit leaves the
        write-ahead log to be checkpointed on another thread
        (:class:`~geogrid.storage.backends.WalCheckpoints`).
        """
        with (
            self._local_writer,
            self._writer.connect() as conn,
            self._checkpoints.deferred(conn) if boundaries and self._checkpoints else nullcontext(),
            conn.begin(),
        ):
            if self.backend == "postgresql":
                lock = (
                    sa.func.pg_advisory_xact_lock
                    if boundaries
                    else sa.func.pg_advisory_xact_lock_shared
                )
                conn.execute(sa.select(lock(BOUNDARY_LOCK)))
            # First: on PostgreSQL the counter's row lock then orders writers by their sequence.
            if changes:
                conn.execute(
                    sa.update(store_changes)
                    .where(store_changes.c.id == 1)
                    .values(seq=store_changes.c.seq + 1)
                )
            with roomy_page_cache(conn) if boundaries else nullcontext():
                yield conn

    def change_seq(self, conn: sa.Connection | None = None) -> int:
        """The store's change sequence: it grows with every committed write transaction."""
        if conn is None:
            with self.engine.connect() as own:
                return self.change_seq(own)
        return int(conn.scalar(sa.select(store_changes.c.seq).where(store_changes.c.id == 1)))

    def close(self) -> None:
        """Close the pooled connections (a store used after this reconnects)."""
        if self._checkpoints is not None:
            self._checkpoints.close()
        self.engine.dispose()
        if isinstance(self._local_writer, SQLiteWriteLock):
            self._local_writer.close()

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def is_initialized(self) -> bool:
        """Whether the schema has been created (by :meth:`migrate`)."""
        return sa.inspect(self.engine).has_table("generations")

    # -- generations ---------------------------------------------------------

    def active_generation(self, conn: sa.Connection | None = None) -> int | None:
        """The id of the active generation, or None before the first import."""
        if conn is None:
            with self.engine.connect() as own:
                return self.active_generation(own)
        return conn.scalar(sa.select(generations.c.id).where(generations.c.active))

    def generations(self) -> list[dict]:
        """Every generation, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(generations).order_by(generations.c.id)).mappings()
            return [dict(row) for row in rows]

    def activate(
        self, generation: int, actor: str = "system", conn: sa.Connection | None = None
    ) -> None:
        """Make ``generation`` the active one (a rollback re-activates an earlier one).

        Inside ``conn``'s transaction when given (a commit that also writes the
        generation), else in a boundary write of its own.
        """
        if conn is None:
            with self.write(boundaries=True) as own:
                self.activate(generation, actor, own)
            return
        exists = conn.scalar(sa.select(generations.c.id).where(generations.c.id == generation))
        if exists is None:
            raise NotFoundError(f"generation {generation} does not exist")
        conn.execute(sa.update(generations).where(generations.c.active).values(active=False))
        conn.execute(
            sa.update(generations).where(generations.c.id == generation).values(active=True)
        )
        conn.execute(
            sa.insert(audit).values(
                at=_now(),
                actor=actor,
                action="activate_generation",
                target=str(generation),
                details={},
            )
        )

    # -- grids ---------------------------------------------------------------

    def import_grids(
        self,
        new_grids: Sequence[Grid],
        *,
        actor: str = "system",
        description: str = "",
        source_sha256: str | None = None,
    ) -> int:
        """Store ``new_grids`` as the whole of a new generation and activate it.

        Grids unchanged since the active generation only extend their range.
        One transaction: on any error nothing is stored.
        """
        with self.write(boundaries=True) as conn:
            return self.write_generation(
                conn, new_grids, actor=actor, description=description, source_sha256=source_sha256
            )

    def write_generation(
        self,
        conn: sa.Connection,
        new_grids: Sequence[Grid],
        *,
        actor: str,
        description: str = "",
        source_sha256: str | None = None,
        scope: str | None = None,
        details: dict | None = None,
        values: tuple | None = None,
    ) -> int:
        """Within the caller's transaction: a new generation of ``new_grids``, activated.

        ``values``: their :func:`~geogrid.storage.gridrows.row_values`, if at hand.
        """
        if not new_grids:
            raise InvalidInputError("no grids to import")
        counts = {level: 0 for level in codes.LEVELS}
        for grid in new_grids:
            counts[grid.level] += 1
        active = conn.scalar(sa.select(generations.c.id).where(generations.c.active))
        latest = conn.scalar(sa.select(sa.func.max(generations.c.id)))
        gen = conn.execute(
            sa.insert(generations).values(
                created_at=_now(),
                created_by=actor,
                description=description,
                source_sha256=source_sha256,
                scope=scope,
                counts=counts,
                active=False,
            )
        ).inserted_primary_key[0]
        previous = stored_grids(conn, active) if active and active == latest else {}
        self._write_grids(conn, new_grids, gen, previous, values)
        conn.execute(
            sa.insert(audit).values(
                at=_now(),
                actor=actor,
                action="import_grids",
                target=str(gen),
                details={
                    "counts": counts,
                    "source_sha256": source_sha256,
                    "scope": scope,
                    **(details or {}),
                },
            )
        )
        self.activate(gen, actor, conn)
        return gen

    def _write_grids(self, conn, new_grids, gen: int, previous: dict, values=None) -> None:
        insert_grids(conn, new_grids, gen, previous, values)

    def load_grids(
        self,
        generation: int | None = None,
        *,
        level: str | None = None,
        code: str | None = None,
        bbox_wgs84: tuple[float, float, float, float] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Grid]:
        """The grids of a generation (the active one by default), filtered.

        ``code`` selects the grid and its whole subtree; ``bbox_wgs84`` is
        (min lon, min lat, max lon, max lat) and keeps grids that intersect it.
        """
        query = self._grid_query(generation, level, code, bbox_wgs84)
        query = query.order_by(grids.c.code).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            out = select_grids(conn, query)
        if bbox_wgs84 is not None and self.backend != "postgresql":
            box = shapely.box(*bbox_wgs84)
            out = [g for g in out if g.geometry.intersects(box)]
        return out

    def load_grids_in(self, conn: sa.Connection, generation: int) -> list[Grid]:
        """Every grid of ``generation``, read in the caller's transaction."""
        query = sa.select(grids).where(_in_generation(generation)).order_by(grids.c.code)
        return select_grids(conn, query)

    def count_grids(self, generation: int | None = None, **filters) -> int:
        """How many grids :meth:`load_grids` would return without limit.

        With a bbox, SQLite counts by envelope and PostGIS exactly.
        """
        query = self._grid_query(
            generation, filters.get("level"), filters.get("code"), filters.get("bbox_wgs84")
        )
        with self.engine.connect() as conn:
            return conn.scalar(sa.select(sa.func.count()).select_from(query.subquery()))

    def _grid_query(self, generation, level, code, bbox):
        if generation is None:
            generation = self.active_generation()
            if generation is None:
                raise NotFoundError("no grids imported yet: run 'geogrid import-grids FILE'")
        query = sa.select(grids).where(_in_generation(generation))
        if level is not None:
            query = query.where(grids.c.level == level)
        if code is not None:
            query = query.where(grids.c.code.startswith(code, autoescape=True))
        if bbox is not None and self.backend == "postgresql":
            geom = sa.literal_column("grids.geom")  # generated by migration 0002, GiST-indexed
            query = query.where(sa.func.ST_Intersects(geom, sa.func.ST_MakeEnvelope(*bbox, 4326)))
        elif bbox is not None:
            x0, y0, x1, y1 = bbox
            query = query.where(
                grids.c.max_x >= x0, grids.c.min_x <= x1, grids.c.max_y >= y0, grids.c.min_y <= y1
            )
        return query

    def get_grid(self, code: str, generation: int | None = None) -> Grid:
        """One grid by code, or :class:`NotFoundError`."""
        codes.validate_code(code)
        found = [g for g in self.load_grids(generation, code=code) if g.code == code]
        if not found:
            raise NotFoundError(f"no grid with code {code!r} in the active generation")
        return found[0]

    def summary(self, generation: int | None = None) -> list[dict]:
        """Each street with its name and the number of grids per level under it."""
        generation = generation or self.active_generation()
        if generation is None:
            return []
        with self.engine.connect() as conn:
            streets = conn.execute(
                sa.select(grids.c.code, grids.c.name)
                .where(_in_generation(generation), grids.c.level == "street")
                .order_by(grids.c.code)
            ).all()
            counted = conn.execute(
                sa.select(
                    sa.func.substr(grids.c.code, 1, 9).label("street"),
                    grids.c.level,
                    sa.func.count().label("n"),
                )
                .where(_in_generation(generation))
                .group_by(sa.text("street"), grids.c.level)
            ).all()
        table = {code: {"code": code, "name": name} for code, name in streets}
        for street, level, n in counted:
            if street in table and level != "street":
                table[street][level] = n
        return list(table.values())

    def index(self, tolerance_m: float = DEFAULT_TOLERANCE_M) -> GridIndex:
        """A :class:`GridIndex` of the active generation, from its saved file when there is one."""
        generation = self.active_generation()
        if generation is None:
            raise NotFoundError("no grids imported yet: run 'geogrid import-grids FILE'")
        return self.generation_index(generation, tolerance_m)

    def generation_index(
        self,
        generation: int,
        tolerance_m: float = DEFAULT_TOLERANCE_M,
        grids=None,
        conn: sa.Connection | None = None,
        built: GridIndex | None = None,
    ) -> GridIndex:
        """The index of ``generation``: memory-mapped from its folder, or built and saved there.

        Every process of a host maps the same files (see :mod:`geogrid.engine.indexfile`).
        ``grids``, if given, are the generation's grids (a commit has them at hand);
        ``conn`` is the transaction that wrote the generation, if not yet committed:
        its index is saved before the generation becomes active for anyone else;
        ``built`` is that index if the caller has built it already.
        """
        folder = self.index_folder(generation, tolerance_m, conn)
        if folder is not None and built is None:
            loaded = load_index(folder)
            if loaded is not None:
                return loaded
        if built is not None:
            index = built
        else:
            if grids is None:
                grids = (
                    self.load_grids(generation)
                    if conn is None
                    else self.load_grids_in(conn, generation)
                )
            index = GridIndex(grids, generation=generation, tolerance_m=tolerance_m)
        if folder is not None:
            self.keep_index(index, folder)
        return index

    @staticmethod
    def keep_index(index: GridIndex, folder: Path) -> None:
        """Save ``index`` in ``folder`` (from :meth:`index_folder`) for every process to map."""
        try:
            save_index(index, folder)
            _prune(folder.parent, keep=3)
        except OSError:
            pass  # a read-only disk costs each process its own build, never the answer

    def index_folder(
        self, generation: int, tolerance_m: float, conn: sa.Connection | None = None
    ) -> Path | None:
        """Where ``generation``'s index is saved: beside a SQLite file, else in the cache folder.

        ``GEOGRID_INDEX_DIR`` moves it. Named by the store's random id and the
        generation's creation time, so a store made again never reads another's.
        """
        if conn is None:
            with self.engine.connect() as own:
                return self.index_folder(generation, tolerance_m, own)
        store_id = conn.scalar(sa.select(store_changes.c.store_id))
        created = conn.scalar(
            sa.select(generations.c.created_at).where(generations.c.id == generation)
        )
        if store_id is None or created is None:
            return None
        base = index_cache()
        if INDEX_DIR_ENV not in os.environ and self.backend == "sqlite":
            database = self.engine.url.database
            if database in (None, "", ":memory:"):
                return None
            base = Path(f"{database}.indexes")
        stamp = created.strftime("%Y%m%dT%H%M%S%f")
        return base / store_id / f"g{generation}-{stamp}-t{tolerance_m:g}"


def _prune(folder: Path, keep: int) -> None:
    """Remove all but the ``keep`` newest saved indexes in ``folder``."""
    saved = sorted(folder.glob("g*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in saved[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _in_generation(generation: int):
    return sa.and_(grids.c.generation_low <= generation, grids.c.generation_high >= generation)
