"""Memory of the web workers of one host, and how long a worker takes to load the index.

``geogrid serve`` runs on a copy of the store with 1 and then 4 workers; each
worker warms up (index, map base, event columns, default page) and is asked
for the map and a locate, then the proportional set size (PSS: shared pages
divided among the processes that map them) of the arbiter and its workers is
summed from ``/proc/<pid>/smaps_rollup`` once it has settled. Beside it, the
time a fresh process takes to map the saved index of the active generation
and answer one point, and to build that index instead. Not a test.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from devtools.bench.timing import memory_mb

__all__ = ["run_workers"]

_LOAD = """
import sys, time
from geogrid.engine.assign import GridIndex
from geogrid.engine.indexfile import load_index
from geogrid.storage.store import Store
store = Store(sys.argv[1])
generation = store.active_generation()
folder = store.index_folder(generation, 30.0)
start = time.perf_counter()
if sys.argv[2] == "load":
    index = load_index(folder)
else:
    index = GridIndex(store.load_grids(generation), generation=generation)
ready = time.perf_counter()
index.locate(113.62, 34.75)
print(ready - start, time.perf_counter() - ready)
"""


def _server_pids(port: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"--port={port}".encode() in command:
                found.append(int(entry.name))
    return found


def _settled_pss(base: str, port: int, workers: int, log: Path, seconds: float = 240.0) -> float:
    """Once every worker has warmed up, ask for the map and a point until memory settles."""
    deadline = time.monotonic() + seconds
    while log.read_text(errors="replace").count("warmed up in") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not warm up: " + log.read_text()[-2000:])
        time.sleep(0.5)
    last, steady = 0.0, 0
    while time.monotonic() < deadline:
        for _ in range(4 * workers):
            for path in ("/", "/api/v1/locate?lon=113.62&lat=34.75"):
                request = urllib.request.Request(base + path, headers={"Connection": "close"})
                with urllib.request.urlopen(request, timeout=120) as response:
                    response.read()
        time.sleep(2.0)
        now = sum(memory_mb(pid) for pid in _server_pids(port))
        steady = steady + 1 if abs(now - last) < 0.01 * max(now, 1) else 0
        last = now
        if steady >= 2:
            break
    return last


def run_workers(store_url: str, counts=(1, 4), repeat: int = 3) -> dict:
    """PSS per worker count, and index load against build times (medians)."""
    from devtools.served import free_port, wait_until_up

    out = {"pss_mb": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in counts:
            port = free_port()
            env = {**os.environ, "GEOGRID_DATABASE_URL": store_url, "GEOGRID_SECRET_KEY": "bench"}
            cwd = Path(tmp) / f"run{workers}"  # its own instance folder: it renders its pages
            cwd.mkdir()
            with open(Path(tmp) / f"log{workers}", "wb") as log:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "geogrid",
                        "serve",
                        f"--port={port}",
                        f"--workers={workers}",
                    ],
                    env=env,
                    cwd=cwd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                try:
                    base = f"http://127.0.0.1:{port}"
                    wait_until_up(base, proc, seconds=120)
                    pss = _settled_pss(base, port, workers, Path(tmp) / f"log{workers}")
                    out["pss_mb"][workers] = round(pss)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
    from geogrid.storage.store import Store

    Store(store_url).index()  # saved, as the first worker after a commit finds it
    load = [_timed(store_url, "load") for _ in range(repeat)]
    build = [_timed(store_url, "build") for _ in range(repeat)]
    one, many = out["pss_mb"][counts[0]], out["pss_mb"][counts[-1]]
    return out | {
        "ratio": round(many / one, 2),
        "index_load_s": round(statistics.median(t for t, _ in load), 3),
        "index_build_s": round(statistics.median(t for t, _ in build), 2),
        "first_query_s": round(statistics.median(q for _, q in load), 3),
    }


def _timed(store_url: str, how: str) -> tuple[float, float]:
    """(seconds to have the index, seconds of its first answer) in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _LOAD, store_url, how], capture_output=True, text=True, check=True
    )
    ready, first = done.stdout.strip().splitlines()[-1].split()
    return float(ready), float(first)
