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

__all__ = ["free_port", "served"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(database_url: str, workers: int = 1):
    """``geogrid serve`` with ``workers`` processes on a free loopback port; yields its URL."""
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
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait(base, proc, log)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _wait(base: str, proc, log, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base + "/api/v1/categories", timeout=2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError("server did not start: " + log.read().decode()) from None
            time.sleep(0.2)
