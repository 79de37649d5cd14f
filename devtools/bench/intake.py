"""Intake benchmarks against a served app. Not tests.

``geogrid bench-intake``: single-event latency and batch throughput, posted
from this process over one keep-alive connection to ``geogrid serve`` on a
fresh SQLite store with the demo district (or to ``--url`` with ``--token``).

``geogrid bench-load`` (the load script): for each backend — SQLite, and
PostgreSQL + PostGIS in a throwaway cluster (devtools.pgtemp) or at
``--postgres-url`` — a fresh store with the demo district served by gunicorn
with N workers, driven from a second process on 127.0.0.1 by C client threads
on keep-alive connections for S seconds; requests/s and p50/p99 latency are
printed side by side.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import contextmanager, nullcontext

import numpy as np

__all__ = ["run_intake", "run_load"]


@contextmanager
def _server(url: str | None = None, workers: int = 1):
    """A fresh store with the demo grids and a reporter token, served; yields (URL, token).

    SQLite unless ``url``; ``workers`` gunicorn workers on loopback.
    """
    import geodata
    from devtools.served import served
    from geogrid.auth import create_token, create_user
    from geogrid.boundaries.grids import read_grids
    from geogrid.storage.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{tmp}/bench.sqlite"
        store = Store(url)
        store.migrate()
        store.import_grids(read_grids(geodata.GRIDS))
        create_user(store, "bench", "reporter")
        token = create_token(store, "bench")
        store.close()
        with served(url, workers) as base:
            yield base, token


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


# -- the load script: several workers, a second process with many clients -------------


def run_load(
    backends: tuple[str, ...] = ("sqlite", "postgis"),
    workers: int = 2,
    clients: int = 8,
    seconds: float = 15.0,
    batch: int = 1,
    postgres_url: str | None = None,
) -> list[dict]:
    """One row of figures per backend (see the module doc)."""
    from devtools.pgtemp import TempCluster

    rows = []
    for backend in backends:
        if backend == "postgis":
            cluster = nullcontext(postgres_url) if postgres_url else TempCluster()
        else:
            cluster = nullcontext(None)
        with cluster as url, _server(url, workers) as (base, token):
            driven = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "devtools.bench.intake",
                    base,
                    token,
                    str(clients),
                    str(seconds),
                    str(batch),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(driven.stdout)
        rows.append({"backend": backend, "workers": workers, "clients": clients} | figures)
    return rows


def drive(base: str, token: str, clients: int, seconds: float, batch: int) -> dict:
    """Post from ``clients`` threads for ``seconds`` after a warm-up; the figures."""
    parsed = urllib.parse.urlparse(base)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start_line = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def client(k: int) -> None:
        rng = np.random.default_rng(k)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)

        def body():
            items = _events(batch, rng)
            return items[0] if batch == 1 else {"events": items}

        try:
            for _ in range(20):  # warm-up: every worker builds its index on its first requests
                _post(conn, token, body())
        finally:
            start_line.wait(timeout=600)  # a failed warm-up still releases the others
        while time.perf_counter() < window["end"]:
            try:
                latencies[k].append(_post(conn, token, body()))
            except (RuntimeError, OSError):
                errors[k] += 1
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    window["end"] = float("inf")
    start_line.wait(timeout=600)
    began = time.perf_counter()
    window["end"] = began + seconds
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    every = np.array([x for per in latencies for x in per]) * 1000
    return {
        "requests": int(every.size),
        "errors": sum(errors),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(every.size / elapsed, 1),
        "events_per_s": round(every.size * batch / elapsed, 1),
        "p50_ms": round(float(np.percentile(every, 50)), 2),
        "p99_ms": round(float(np.percentile(every, 99)), 2),
        "batch": batch,
    }


if __name__ == "__main__":  # the driving process of run_load
    base, token, clients, seconds, batch = sys.argv[1:6]
    print(json.dumps(drive(base, token, int(clients), float(seconds), int(batch))))
