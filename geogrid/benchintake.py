"""Intake benchmark against a running server: single-event latency and batch throughput.

Starts ``geogrid serve`` on 127.0.0.1 over a fresh store with the demo district
in a temporary directory (or uses ``--url`` and ``--token`` of a running one),
then posts from this process over one keep-alive connection. Not a test.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager

import numpy as np

__all__ = ["run_intake"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _server():
    """A throwaway store with the demo grids and a reporter token, served on loopback."""
    import geodata
    from geogrid.auth import create_token, create_user
    from geogrid.registry import read_grids
    from geogrid.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        store = Store(url)
        store.migrate()
        store.import_grids(read_grids(geodata.GRIDS))
        create_user(store, "bench", "reporter")
        token = create_token(store, "bench")
        port = _free_port()
        env = {**os.environ, "GEOGRID_DATABASE_URL": url}
        proc = subprocess.Popen(
            [sys.executable, "-m", "geogrid", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port)
            yield f"http://127.0.0.1:{port}", token
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _wait(port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/categories")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not answer within {seconds} s")


def _events(n: int, rng: np.random.Generator) -> list[dict]:
    lon = rng.uniform(113.45, 113.69, n)
    lat = rng.uniform(34.74, 34.82, n)
    cats = rng.choice(["noise", "sanitation", "safety_hazard", "fire_hazard"], n)
    return [
        {
            "lon": float(lon[i]),
            "lat": float(lat[i]),
            "category": str(cats[i]),
            "description": "基准测试事件",
            "idempotency_key": f"bench-{i}-{rng.integers(1e9)}",
        }
        for i in range(n)
    ]


def _post(conn, token: str, body) -> float:
    data = json.dumps(body).encode()
    start = time.perf_counter()
    conn.request(
        "POST",
        "/api/v1/events",
        body=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    if response.status not in (200, 201):
        raise RuntimeError(f"intake answered {response.status}")
    return elapsed


def run_intake(
    singles: int = 500,
    batches: int = 5,
    batch_size: int = 1000,
    url: str | None = None,
    token: str | None = None,
) -> dict:
    """Post ``singles`` one by one, then ``batches`` of ``batch_size``; figures as a dict."""
    rng = np.random.default_rng(3)

    def measure(base: str, key: str) -> dict:
        parsed = urllib.parse.urlparse(base)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
        latencies = [_post(conn, key, e) * 1000 for e in _events(singles, rng)]
        batch_times = [_post(conn, key, _events(batch_size, rng)) for _ in range(batches)]
        return {
            "singles": singles,
            "single_p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "single_p99_ms": round(float(np.percentile(latencies, 99)), 2),
            "batches": batches,
            "batch_size": batch_size,
            "batch_median_s": round(float(np.median(batch_times)), 3),
            "batch_events_per_s": round(batch_size / float(np.median(batch_times))),
        }

    if url:
        return measure(url, token or "")
    with _server() as (base, key):
        return measure(base, key)
