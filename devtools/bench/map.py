"""Map benchmark: the command center page against a naive folium map, in headless Chromium.

Both are measured in one run on the same store: time until the layers are
painted (two animation frames after our layers are added, or after the naive
map's ``load`` event, its scripts being synchronous) and bytes transferred,
with a fresh browser profile each time. The naive map is folium.GeoJson of
every micro grid with a tooltip, pointed at the same local Leaflet so neither
waits on the internet. Not a test.
"""

from __future__ import annotations

import functools
import http.server
import os
import statistics
import tempfile
import threading
from pathlib import Path

__all__ = ["run_map"]

_BYTES = """return performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource'))
    .reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0)"""


def _naive_html(store, vendor: Path) -> str:
    import folium

    from geogrid.boundaries.grids import grid_to_feature
    from maps.assets import use_local_assets

    micro = store.load_grids(level="micro")
    m = folium.Map(location=[34.78, 113.57], zoom_start=12, tiles=None)
    use_local_assets(m, "/vendor", "leaflet")
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [grid_to_feature(g) for g in micro]},
        tooltip=folium.GeoJsonTooltip(fields=["code", "name"]),
    ).add_to(m)
    painted = (
        "<script>addEventListener('load', () => requestAnimationFrame(() => "
        "requestAnimationFrame(() => { window.naiveReadyAt = performance.now(); })));"
        "</script>"
    )
    return m.get_root().render().replace("</body>", painted + "</body>")


def _serve_dir(directory: Path):
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _measure(url: str, ready_js: str, when_js: str, repeat: int) -> dict:
    from devtools.chromium import chromium, wait_for

    times, sizes = [], []
    for _ in range(repeat):
        with chromium() as driver:
            driver.set_page_load_timeout(300)
            driver.get(url)
            wait_for(driver, ready_js, seconds=300)
            times.append(driver.execute_script(f"return {when_js}") / 1000.0)
            sizes.append(driver.execute_script(_BYTES))
    return {
        "ready_s": round(statistics.median(times), 3),
        "bytes": int(statistics.median(sizes)),
        "runs": [round(t, 3) for t in times],
    }


def run_map(store, app_url: str, repeat: int = 3) -> dict:
    """Measure ``app_url`` (a running geogrid over ``store``) and the naive map."""
    import web

    vendor = Path(web.__file__).parent / "static" / "vendor"
    ours_cached = _measure(
        app_url + "/",
        "document.body.getAttribute('data-ready') === '1'",
        "window.geogridReadyAt",
        repeat,
    )
    ours_fresh = _measure(
        app_url + "/?lang=zh&nocache=" + os.urandom(4).hex(),
        "document.body.getAttribute('data-ready') === '1'",
        "window.geogridReadyAt",
        1,
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vendor").symlink_to(vendor)
        (Path(tmp) / "naive.html").write_text(_naive_html(store, vendor), encoding="utf-8")
        server = _serve_dir(Path(tmp))
        try:
            naive = _measure(
                f"http://127.0.0.1:{server.server_port}/naive.html",
                "document.readyState === 'complete'",
                "performance.getEntriesByType('navigation')[0].loadEventEnd",
                repeat,
            )
        finally:
            server.shutdown()
    return {
        "ours": ours_cached,
        "ours_uncached_server": ours_fresh,
        "naive_folium": naive,
        "speedup": round(naive["ready_s"] / ours_cached["ready_s"], 1),
        "bytes_ratio": round(naive["bytes"] / ours_cached["bytes"], 1),
    }


def cold_first_request(store_url: str, repeat: int = 3) -> dict:
    """Seconds from a fresh ``geogrid serve`` being up to its answer to ``/``, median of ``repeat``.

    ``with_pages``: the host's page cache holds the page at the store's change
    sequence (a restart, nothing written since). ``after_write``: a write came
    between, so the first request renders the page.
    """
    import time
    import urllib.request

    from devtools.served import served
    from geogrid.storage.store import Store

    def first(cwd: str) -> float:
        with served(store_url, cwd=cwd) as base:
            start = time.perf_counter()
            with urllib.request.urlopen(base + "/", timeout=300) as response:
                response.read()
            return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as cwd:
        first(cwd)  # renders the page once and keeps it in cwd/instance/cache/map
        cached = [first(cwd) for _ in range(repeat)]
        rendered = []
        for _ in range(repeat):
            with Store(store_url).write():
                pass  # any write: the page on disk is stale
            rendered.append(first(cwd))
    return {
        "with_pages_s": round(statistics.median(cached), 3),
        "after_write_s": round(statistics.median(rendered), 3),
    }
