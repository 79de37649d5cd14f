"""``geogrid serve`` started for a test or a benchmark: a free loopback port, waited for.

The tests and the load benchmarks start servers through here alone.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager

__all__ = ["free_port", "served", "wait_until_up"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(database_url: str, workers: int = 1, cwd=None):
    """``geogrid serve`` with ``workers`` processes on a free loopback port; yields its URL.

    ``cwd`` is where it runs (its ``instance/`` folder is read from there).
    """
    port = free_port()
    env = {
        **os.environ,
        "GEOGRID_DATABASE_URL": database_url,
        "GEOGRID_SECRET_KEY": "browser-test-secret",
    }
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "geogrid", "serve", f"--port={port}", f"--workers={workers}"],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(base, proc, log)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def wait_until_up(base: str, proc, log=None, seconds: float = 60.0) -> None:
    """Return once ``base`` answers; raise with the server's log if ``proc`` ends first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base + "/api/v1/categories", timeout=2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                said = ""
                if log is not None:
                    log.seek(0)
                    said = log.read().decode()
                raise RuntimeError("server did not start: " + said) from None
            time.sleep(0.2)
