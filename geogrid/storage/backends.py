"""The database backends under the store: URLs, engines and their session settings.

SQLite is one file (no server, no SpatiaLite); its connections enforce foreign
keys and use WAL, and writers take their turn through :class:`SQLiteWriteLock`.
PostgreSQL (with PostGIS) is reached through psycopg 3, and its sessions run in
UTC. The URL comes from ``GEOGRID_DATABASE_URL`` or defaults to
``instance/geogrid.sqlite``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import sqlalchemy as sa

from geogrid.storage.location import URL_ENV, default_url

__all__ = [
    "URL_ENV",
    "SQLiteWriteLock",
    "WalCheckpoints",
    "create_engine",
    "database_url",
    "default_url",
    "in_memory",
    "local_write_lock",
    "roomy_page_cache",
]

#: SQLite's page cache (KiB) for a big write; its default, 2 MiB, is outgrown by the
#: indexes of a district's events, which a redraw then spills and reads again all along
ROOMY_CACHE_KIB = 64 * 1024
_log = logging.getLogger(__name__)


def database_url(url: str | None = None) -> sa.URL:
    """The URL to connect to: ``url``, else :func:`default_url`, with its driver settled.

    Plain ``postgresql://`` (as libpq and most tools write it) means psycopg 3
    here, not SQLAlchemy's default driver, psycopg2.
    """
    parsed = sa.engine.make_url(url or default_url())
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def in_memory(database: str | None) -> bool:
    """Whether a SQLite URL's ``database`` is an in-memory one (no file, no write-ahead log)."""
    return database in (None, "", ":memory:")


def create_engine(url: sa.URL) -> sa.Engine:
    """An engine for ``url`` with geogrid's session settings for its backend.

    For a SQLite file, its folder is created first.
    """
    rendered = url.render_as_string(hide_password=False)
    backend = url.get_backend_name()
    if backend == "sqlite" and not in_memory(url.database):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    if backend == "postgresql":
        # A worker outlives database restarts and idle-connection reapers.
        engine = sa.create_engine(rendered, pool_pre_ping=True)
        sa.event.listen(engine, "connect", _postgres_utc)
    else:
        engine = sa.create_engine(rendered)
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def local_write_lock(url: sa.URL) -> AbstractContextManager[None]:
    """What a write holds in this process before it begins: SQLite's writer turn, else nothing."""
    if url.get_backend_name() == "sqlite":
        return SQLiteWriteLock(url.database)
    return nullcontext()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" hook below emit BEGIN, so writes can say IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@contextmanager
def roomy_page_cache(conn: sa.Connection, kib: int = ROOMY_CACHE_KIB) -> Iterator[None]:
    """On SQLite, a page cache of ``kib`` KiB for ``conn`` while inside; elsewhere nothing.

    Set back afterwards, even when the write fails (SQLite then gives the pages
    back), so the pooled connections of a web worker do not each keep 64 MiB.
    The pragmas go to the driver's connection: they are no part of the
    transaction, whatever state it is left in.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    before = int(raw.execute("PRAGMA cache_size").fetchone()[0])
    raw.execute(f"PRAGMA cache_size=-{int(kib)}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={before}")


def _sqlite_begin(conn: sa.Connection) -> None:
    write = conn.get_execution_options().get("geogrid_write")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _postgres_utc(dbapi_connection, _record) -> None:
    # Naive datetimes are UTC everywhere in geogrid (geogrid.times.to_db_time); the session agrees.
    # Committed, because a SET inside a transaction that is rolled back is undone.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()


class SQLiteWriteLock:
    """The turn to write a SQLite database, taken with ``with``.

    This process's threads queue on a lock, and processes on an exclusive
    ``flock`` of a file beside the database. SQLite has one writer at a time,
    and its own busy handler polls for the turn, sleeping up to 100 ms between
    tries: under several writers the slowest waits far longer than the work.
    Waiters here are woken as soon as the turn is free.

    Parameters
    ----------
    database : str or None
        The database file; None, empty or ``:memory:`` locks threads only.
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = None if in_memory(database) else f"{database}.writelock"
        self._fd: int | None = None
        self._pid: int | None = None
        self._closer: weakref.finalize | None = None

    def __enter__(self) -> None:
        """Wait for the turn to write: first this process's, then the file lock's."""
        self._threads.acquire()
        if self._path is None:
            return
        try:
            if self._pid != os.getpid():  # a forked child opens its own: locks are per open file
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
                self._closer = weakref.finalize(self, os.close, self._fd)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc) -> None:
        """Give up the turn to write."""
        try:
            if self._path is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        """Close the lock file now, rather than when the lock is collected."""
        if self._closer is not None and self._pid == os.getpid():
            self._closer()  # closes the file once
        self._fd = self._pid = self._closer = None


class WalCheckpoints:
    """Checkpoints of a SQLite file's write-ahead log after big writes, on a thread of their own.

    SQLite copies the log back into the database (a checkpoint) in the
    committing connection once a commit leaves the log longer than
    its threshold (1,000 pages unless set), before the commit returns: after a redraw,
    which rewrites a district's events, a third of a second that the user
    waits for. A write inside :meth:`deferred` commits without it, and the
    checkpoint runs next on this object's thread, as SQLite's documentation
    suggests. It is PASSIVE: it waits for no reader or writer, and what it
    cannot copy now the next checkpoint does; the last connection to close
    the database checkpoints too.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid: int | None = None
        self._queued: Future | None = None
        _CHECKPOINTERS.add(self)

    @contextmanager
    def deferred(self, conn: sa.Connection) -> Iterator[None]:
        """No checkpoint at ``conn``'s commit inside (wrap the transaction); one queued after.

        What follows the commit cannot fail the write, which is stored by then:
        a connection whose setting cannot be put back is dropped from the pool.
        """
        raw = conn.connection.driver_connection
        before = int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        raw.execute("PRAGMA wal_autocheckpoint=0")
        try:
            yield
        finally:
            try:
                raw.execute(f"PRAGMA wal_autocheckpoint={before}")
            except Exception:
                _log.warning("a connection kept wal_autocheckpoint=0; dropped", exc_info=True)
                conn.invalidate()
            try:
                self.soon()
            except Exception:  # e.g. at interpreter shutdown: the next checkpoint takes the log
                _log.warning("no checkpoint queued for %s", self._engine.url, exc_info=True)

    def soon(self) -> None:
        """Queue a checkpoint, unless one is queued and not yet started."""
        with self._lock:
            if self._pool is None or self._pid != os.getpid():  # none yet, or a forked child's
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="geogrid-checkpoint")
                self._pid, self._queued = os.getpid(), None
            queued = self._queued
            if queued is not None and not queued.running() and not queued.done():
                return
            self._queued = self._pool.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            with self._engine.connect() as conn:
                conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the log stays as it is, for the next checkpoint
            _log.warning("checkpoint of %s failed", self._engine.url, exc_info=True)

    def wait(self) -> None:
        """Return once the checkpoints queued so far have run."""
        with self._lock:
            queued = self._queued if self._pid == os.getpid() else None
        if queued is not None:
            queued.result()

    def close(self) -> None:
        """Run what is queued, then stop the thread."""
        with self._lock:
            pool, self._pool, self._queued = self._pool, None, None
        if pool is not None and self._pid == os.getpid():
            pool.shutdown(wait=True)


_CHECKPOINTERS: weakref.WeakSet[WalCheckpoints] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for checkpoints in list(_CHECKPOINTERS):  # a parent's thread may have held a lock
        checkpoints._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
