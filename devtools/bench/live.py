"""The live stream's lag: from an event's POST answering to each open stream receiving it.

``geogrid serve`` with two workers on the store; a few clients follow
``/api/v1/stream`` (each on whichever worker takes it) while events are posted
one at a time through the API. The lag of each event at each client is timed
(a client's clock, so both ends are the same clock).
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
import urllib.parse
import urllib.request

__all__ = ["run_live"]


def _follow(base: str, token: str, seen: dict, stop: threading.Event, ready: threading.Barrier):
    """Read one stream; note when each event id first arrives."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=180)
    conn.request("GET", "/api/v1/stream", headers={"Authorization": f"Bearer {token}"})
    answer = conn.getresponse()
    ready.wait()
    event = None
    while not stop.is_set():
        line = answer.readline().decode()
        if not line:
            break
        if line.startswith("event: "):
            event = line[7:].strip()
        elif line.startswith("data: ") and event == "event":
            seen.setdefault(json.loads(line[6:])["id"], time.monotonic())
    conn.close()


def _post(base: str, token: str, i: int) -> int:
    body = {"lon": 113.66, "lat": 34.80, "category": "noise", "description": f"live bench {i}"}
    request = urllib.request.Request(
        base + "/api/v1/events",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=180) as answer:  # a cold worker warms
        return json.load(answer)["id"]


def run_live(store, clients: int = 3, events: int = 20, gap: float = 0.4) -> dict:
    """Lags in seconds (median, p95, max) over ``events`` × ``clients`` deliveries."""
    import secrets

    from devtools.served import served
    from geogrid.auth import create_token, create_user

    name = f"bench-live-{secrets.token_hex(4)}"  # a user of its own each run
    create_user(store, name, "admin")
    token = create_token(store, name, days=1)
    with served(store.url, workers=2) as base:
        stop, ready = threading.Event(), threading.Barrier(clients + 1)
        seen = [{} for _ in range(clients)]
        readers = [
            threading.Thread(target=_follow, args=(base, token, s, stop, ready), daemon=True)
            for s in seen
        ]
        for r in readers:
            r.start()
        ready.wait()
        time.sleep(1.0)  # every stream is past its first poll
        posted = {}
        for i in range(events):
            event_id = _post(base, token, i)
            posted[event_id] = time.monotonic()
            time.sleep(gap)
        time.sleep(3.0)
        stop.set()
        lags = [s[e] - t for s in seen for e, t in posted.items() if e in s]
        missed = len(posted) * clients - len(lags)
    lags.sort()
    return {
        "clients": clients,
        "events": events,
        "missed": missed,
        "median_s": round(statistics.median(lags), 3) if lags else None,
        "p95_s": round(lags[int(0.95 * (len(lags) - 1))], 3) if lags else None,
        "max_s": round(lags[-1], 3) if lags else None,
        "target_s": 2.0,
    }
