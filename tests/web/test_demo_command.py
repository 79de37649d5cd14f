"""geogrid demo builds the store, then serves it from a fresh process.

The build runs the cell engine's parallel kernels (GNU OpenMP threads) in the demo
process; gunicorn forks its workers, and a fork of a process that has used GNU OpenMP
is killed ("fork() called from a process already using GNU OpenMP"). The real build
takes a minute, so here a stand-in imports the small district and runs the engine.
"""

import os
import subprocess
import sys
import textwrap
import time
import urllib.request

from devtools.served import free_port

SCRIPT = """
import sys
import numpy as np
import geogrid.cli as cli
import web.cli
from geogrid.engine.assign import GridIndex
from geogrid.boundaries.grids import read_grids
from geogrid.io import load_json

def build(ctx, store):
    grids = read_grids(load_json(sys.argv[2]))
    store.import_grids(grids, actor="demo")
    rng = np.random.default_rng(0)
    GridIndex(grids, generation=1).assign(rng.uniform(113.5, 113.6, 200_000),
                                          rng.uniform(34.7, 34.76, 200_000))

web.cli.build_demo = build
cli.main(["--database", sys.argv[1], "demo", "--port", sys.argv[3]])
"""


def test_demo_serves_from_a_fresh_process_after_building(store_url, tmp_path):
    grids = os.path.join(os.path.dirname(__file__), "..", "data", "redraw_valid.geojson")
    port = free_port()
    log = open(tmp_path / "demo.log", "w+")  # noqa: SIM115 - read after the process ends
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), store_url, grids, str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        answers, deadline = [], time.monotonic() + 120
        while len(answers) < 20 and time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/api/v1/locate?lon=113.575&lat=34.745"
                with urllib.request.urlopen(url, timeout=10) as response:
                    answers.append(response.status)
            except OSError:
                assert proc.poll() is None, "the demo exited"
                time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.seek(0)
        output = log.read()
        log.close()
    assert answers == [200] * 20, output
    assert "GNU OpenMP" not in output and "Worker exiting" not in output.split("term")[0]
