"""Batch intake at one spot against a spread batch, and a single POST's wait meanwhile.

A batch of N events at one pin (thirty residents reporting the stadium, times a
few hundred) used to cost O(N²) in the near-duplicate search inside the write
transaction. Here each batch runs twice on a fresh store with the demo grids:
with today's finder (``nearest``: one look per spot) and with a baseline that
takes every hit in range, then the minimum, as the old search did (on today's
2-D index: the old 3-D index was slower still, see the closing note). While each
batch writes, another thread posts one event and times its wait. Not a test.
"""

from __future__ import annotations

import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np

__all__ = ["run_batch"]


@contextmanager
def _pairwise():
    """The finder as it was: all hits in range, then the nearest."""
    from geogrid.cases.duplicates import DuplicateFinder

    def nearest(self, *args, **kwargs):
        hits = self.find(*args, **kwargs)
        return hits[0] if hits else None

    saved = DuplicateFinder.nearest
    DuplicateFinder.nearest = nearest
    try:
        yield
    finally:
        DuplicateFinder.nearest = saved


def _items(kind: str, n: int, rng) -> list[dict]:
    if kind == "identical":
        lon, lat = np.full(n, 113.6251), np.full(n, 34.7518)
    else:
        lon, lat = rng.uniform(113.55, 113.70, n), rng.uniform(34.70, 34.80, n)
    return [
        {"lon": float(x), "lat": float(y), "category": "noise", "description": "bench"}
        for x, y in zip(lon, lat, strict=True)
    ]


def _one_run(grids, kind: str, n: int) -> dict:
    from geogrid.cases.categories import load_categories
    from geogrid.cases.intake import Intake
    from geogrid.storage.store import Store

    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.sqlite")
        store.migrate()
        store.import_grids(grids)
        intake, index, now = Intake(store, load_categories()), store.index(), datetime.now(UTC)
        waits: list[float] = []
        writing = threading.Event()
        write = store.write

        @contextmanager
        def signalled_write(*args, **kwargs):
            with write(*args, **kwargs) as conn:
                writing.set()
                yield conn

        store.write = signalled_write

        def single() -> None:
            writing.wait()  # the batch holds the write lock now
            t0 = time.perf_counter()
            intake.submit([_items("spread", 1, rng)[0]], "single", index, now)
            waits.append(time.perf_counter() - t0)

        other = threading.Thread(target=single)
        items = _items(kind, n, rng)
        t0 = time.perf_counter()
        other.start()
        intake.submit(items, "bench", index, now - timedelta(minutes=1), describe=False)
        batch_s = time.perf_counter() - t0
        other.join()
        store.close()
    return {"batch_s": round(batch_s, 3), "single_wait_s": round(waits[0], 3)}


def run_batch(n: int = 10_000) -> dict:
    """Figures for identical and spread batches of ``n``, today's finder and the baseline."""
    import geodata
    from geogrid.boundaries.grids import read_grids

    grids = read_grids(geodata.GRIDS)
    out: dict = {"events": n}
    for kind in ("identical", "spread"):
        out[kind] = _one_run(grids, kind, n)
        with _pairwise():
            out[f"{kind}_baseline"] = _one_run(grids, kind, n)
    out["identical_vs_spread"] = round(out["identical"]["batch_s"] / out["spread"]["batch_s"], 2)
    out["baseline_identical_vs_spread"] = round(
        out["identical_baseline"]["batch_s"] / out["spread_baseline"]["batch_s"], 2
    )
    return out
