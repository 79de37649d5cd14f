"""Production serving: gunicorn with N worker processes (``geogrid serve --workers N``).

The arbiter imports the app's modules before it forks, so the workers share
their pages; each worker builds its own app after the fork (no database
connection, no app and no numba threads cross a fork) and warms up in the
background. So a graceful reload (HUP) keeps the code the arbiter imported:
a new release needs a restart. Workers share nothing but the database: a boundary commit made
through one is seen by the others from their next request (web.state asks the
store for the active generation on every request).

Workers are gunicorn's ``gthread`` kind: a slow request (a district-wide
redraw, an export) occupies one thread, not the worker's heartbeat.
"""

from __future__ import annotations

import threading

from gunicorn.app.base import BaseApplication

__all__ = ["GeogridServer"]


class GeogridServer(BaseApplication):
    """gunicorn running geogrid's Flask app on ``database_url``."""

    def __init__(
        self,
        database_url: str,
        host: str = "127.0.0.1",
        port: int = 5000,
        workers: int = 1,
        threads: int = 8,
        access_log: bool = False,
    ) -> None:
        self.database_url = database_url
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 60,
            "graceful_timeout": 10,
            "keepalive": 5,  # seconds an idle client connection stays open
            "preload_app": False,
            "accesslog": "-" if access_log else None,
            "proc_name": "geogrid",
            # gunicorn 23+ would open a control socket in ~/.gunicorn; nothing here uses it
            "control_socket_disable": True,
            # live streams (/api/v1/stream) end at their next poll when the worker stops
            "post_worker_init": _streams_end_on_exit,
        }
        super().__init__()

    def load_config(self) -> None:
        """Pass the options on to gunicorn's settings; import the code before the fork."""
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorns lack the newest settings
                self.cfg.set(key, value)
        _import_modules()

    def load(self):
        """The WSGI app, built in the worker (never in the arbiter)."""
        from web import create_app
        from web.pages.mapview import warm

        app = create_app(overrides={"DATABASE_URL": self.database_url})
        threading.Thread(target=_warm, args=(app, warm), daemon=True, name="warm").start()
        return app


def _warm(app, warm) -> None:
    """Warm the worker up and say so in the log (benchmarks wait for the line)."""
    import logging
    import os
    import time

    start = time.perf_counter()
    warm(app)
    logging.getLogger("gunicorn.error").info(
        "worker %s warmed up in %.1f s", os.getpid(), time.perf_counter() - start
    )


def _streams_end_on_exit(worker) -> None:
    """Make a stopping worker (TERM, INT, QUIT) end its live streams at their next poll.

    gunicorn waits for a stopping worker's requests; a stream would otherwise
    hold it for the whole graceful timeout.
    """
    import signal

    from web.api.stream import STOPPING

    def first_the_streams(handler):
        def handle(sig, frame):
            STOPPING.set()
            handler(sig, frame)

        return handle

    signal.signal(signal.SIGTERM, first_the_streams(worker.handle_exit))
    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, first_the_streams(worker.handle_quit))


def _import_modules() -> None:
    """Import the app's modules in the arbiter, so its forked workers share their pages.

    Imports and numba's contexts: no app, no database connection, no compiled kernel, so
    no connection, lock or OpenMP thread pool crosses the fork; each worker
    still builds its own app. Saves each worker the memory of its own copy of
    numpy, pandas, shapely, SQLAlchemy, Flask and the rest.
    """
    import gc
    import importlib

    from geogrid.engine.kernels import before_fork

    # numba and the kernels' dispatchers; esda, libpysal and scipy; Flask, folium and the map;
    # every blueprint's module with what it imports (matplotlib, Pillow, …); both stores'
    # SQL dialects and drivers; flask.testing, whose request context the warm-up uses
    for name in (
        "geogrid.engine.indexfile",
        "geogrid.reports.hotspots",
        "web.surfaces",
        "sqlalchemy.dialects.sqlite",
        "sqlalchemy.dialects.postgresql.psycopg",
        "psycopg",
        "flask.testing",
    ):
        importlib.import_module(name)
    before_fork()  # numba's typing and target contexts, shared too
    # What the imports made is kept out of the collector's sight, as Python's documentation
    # of gc.freeze advises before a fork: a collection in a worker would otherwise write to
    # every object's header and copy the pages the workers share.
    gc.freeze()
