"""The gunicorn arbiter imports what a worker's app will use, then freezes it.

A worker forked from the arbiter shares every page the arbiter's imports made
as long as neither side writes to them: a module the worker imports itself (numba's
typing tables, which its first kernel call would import, among them) is a copy per
worker, and a collection that walks the arbiter's objects writes to their headers.
No numba thread pool may start in the arbiter. Runs on SQLite and PostGIS (each
backend's driver is imported).
"""

import json
import subprocess
import sys

_POOLS = ("numba.np.ufunc.omppool", "numba.np.ufunc.tbbpool", "numba.np.ufunc.workqueue")
_SCRIPT = """
import gc, json, sys
from web.wsgi import _import_modules
_import_modules()
frozen = gc.get_freeze_count()
from numba.np.ufunc import parallel
pool = parallel._is_initialized  # a thread pool made here would be forked: never
before = set(sys.modules)
from web import create_app
from web.pages.mapview import warm
app = create_app({"TESTING": True, "DATABASE_URL": sys.argv[1]})
warm(app)
app.test_client().get("/")
new = set(sys.modules) - before
print(json.dumps({"frozen": frozen, "pool": pool, "new": sorted(new)}))
"""


def test_a_worker_imports_nothing_the_arbiter_did_not_and_finds_it_frozen(store):
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, store.url], capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # numpy, pandas, shapely, Flask, …: all out of the collector's way
    assert found["frozen"] > 100_000
    assert found["pool"] is False
    # the app's own modules may come later (none is large), and numba's threading layer,
    # loaded when the worker starts its pool; no other library may
    libraries = {
        name
        for name in found["new"]
        if name.split(".")[0] not in ("geogrid", "web", "maps") and name not in _POOLS
    }
    assert not libraries
