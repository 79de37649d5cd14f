"""A throwaway PostgreSQL + PostGIS cluster for the test suite and the load script.

``with TempCluster() as url:`` runs ``initdb`` in a new directory under the
system's temporary directory, starts the server on 127.0.0.1 on a free port
(the socket stays in that directory too), creates a ``geogrid`` database with
PostGIS, and on exit stops the server and deletes the directory. Run as root it
runs the server as the unprivileged ``postgres`` user (or ``nobody``), as
PostgreSQL requires. Nothing outside the temporary directory is touched.

The cluster trades durability for speed (``fsync=off``): it is for tests that
kill geogrid's processes, not the database server.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from devtools.served import free_port

__all__ = ["PostgresNotFound", "TempCluster", "bindir"]

DATABASE = "geogrid"
USER = "geogrid"


class PostgresNotFound(RuntimeError):
    """PostgreSQL's server programs or PostGIS are not installed."""


def bindir() -> Path:
    """The directory of ``initdb`` and ``pg_ctl``: ``$PG_BINDIR`` or Debian's newest."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresNotFound(
        "PostgreSQL's initdb was not found: install Debian's postgresql and "
        "postgresql-15-postgis-3 (make test does), or set PG_BINDIR"
    )


def _server_user() -> str | None:
    """None when not root; else an unprivileged account to run the server as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresNotFound("running as root and no unprivileged 'postgres' or 'nobody' user")


class TempCluster:
    """A PostgreSQL server of its own in a temporary directory; see the module doc."""

    def __init__(self, max_connections: int = 300) -> None:
        self.max_connections = max_connections
        self.dir: Path | None = None
        self.port: int | None = None
        self.url: str | None = None

    def _run(self, *args: str, user: str | None) -> subprocess.CompletedProcess:
        command = list(args)
        if user is not None:
            command = ["runuser", "-u", user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> str:
        """Start the server; return the SQLAlchemy URL of its ``geogrid`` database."""
        bin_ = bindir()
        user = _server_user()
        self.dir = Path(tempfile.mkdtemp(prefix="geogrid-pg-"))
        atexit.register(self.stop)
        self._exit_on_sigterm()
        data = self.dir / "data"
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run(
            str(bin_ / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            user=user,
        )
        self.port = free_port()
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections={self.max_connections}"
        )
        try:
            self._run(
                str(bin_ / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.dir / "server.log"),
                "-o",
                options,
                "-w",
                "start",
                user=user,
            )
        except subprocess.CalledProcessError as err:
            log = (self.dir / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {err.stderr}\n{log}") from err
        self._create_database()
        self.url = f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{DATABASE}"
        return self.url

    def _create_database(self) -> None:
        import psycopg

        admin = f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        target = f"host=127.0.0.1 port={self.port} user={USER} dbname={DATABASE}"
        with psycopg.connect(target, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION postgis SCHEMA public")
            except psycopg.errors.UndefinedFile as err:
                raise PostgresNotFound(
                    "PostGIS is not installed: apt-get install postgresql-15-postgis-3"
                ) from err

    def _exit_on_sigterm(self) -> None:
        """Let SIGTERM unwind (``with`` blocks, atexit) instead of leaving the server running."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            # as Ctrl-C: pytest stops the session and runs its teardown, ``with`` unwinds
            signal.signal(signal.SIGTERM, signal.default_int_handler)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory; idempotent."""
        if self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            try:
                stop = [str(bindir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
                self._run(*stop, user=_server_user())
            except subprocess.CalledProcessError:
                pass  # already gone
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        atexit.unregister(self.stop)

    def __enter__(self) -> str:
        """The cluster's URL, started."""
        return self.start()

    def __exit__(self, *exc) -> None:
        """Stop the cluster."""
        self.stop()
