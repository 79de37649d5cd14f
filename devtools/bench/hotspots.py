"""Hot-grid benchmark: ``GET /api/v1/hotspots`` on the demo district, cold and cached.

In one process, through the app's test client: the map's base (grids,
contiguity weights) is built once (a worker does that while warming up); then
each query is asked with an empty result cache (cold: count, Gi*, FDR) and
again (cached, as every request after no write). Figures are medians of
``repeat``; the permutation figure is one run after esda's kernels compiled.
Not a test.
"""

from __future__ import annotations

import statistics
import time

__all__ = ["run_hotspots"]

_QUERIES = ("", "?measure=count", "?category=noise", "?category=sanitation&measure=count")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _reader(app) -> dict:
    """A viewer's bearer header (the user made once per store)."""
    import contextlib

    from geogrid.auth import create_token, create_user
    from geogrid.errors import ConflictError

    store = app.extensions["geogrid"].store
    with contextlib.suppress(ConflictError):
        create_user(store, "bench-hotspots", "viewer")
    return {"Authorization": f"Bearer {create_token(store, 'bench-hotspots', days=1)}"}


def run_hotspots(app, repeat: int = 5) -> dict:
    """Time the hot-grid API on ``app``'s store; figures in ms."""
    from web.pages.mapview import map_base

    client = app.test_client()
    with app.test_request_context("/"):
        start = time.perf_counter()
        map_base()
        base_s = time.perf_counter() - start
    cold, cached = [], []
    for _ in range(repeat):
        for query in _QUERIES:
            app.extensions.pop("geogrid_hot", None)
            start = time.perf_counter()
            assert client.get(f"/api/v1/hotspots{query}").status_code == 200
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            client.get(f"/api/v1/hotspots{query}")
            cached.append(time.perf_counter() - start)
    reader = _reader(app)  # permutations are for readers
    permuted = "/api/v1/hotspots?inference=permutation&measure=count"
    assert client.get(permuted, headers=reader).status_code == 200  # compiles esda's kernels
    app.extensions.pop("geogrid_hot", None)
    start = time.perf_counter()
    client.get(permuted, headers=reader)
    permutation_s = time.perf_counter() - start
    app.extensions.pop("geogrid_hot", None)
    start = time.perf_counter()
    client.get("/api/v1/hotspots/emerging?to=2026-09-02T00:00:00%2B08:00")  # the demo's last day
    emerging_s = time.perf_counter() - start
    return {
        "base_build_ms": _ms(base_s),
        "cold_ms": _ms(statistics.median(cold)),
        "cold_max_ms": _ms(max(cold)),
        "cached_ms": _ms(statistics.median(cached)),
        "permutation_9999_ms": _ms(permutation_s),
        "emerging_8_weeks_ms": _ms(emerging_s),
        "requests": len(cold),
    }
