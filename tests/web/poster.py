"""A client process of the concurrency test (run as a script, not collected).

    python poster.py BASE TOKEN PREFIX SEED

Posts batches of 20 events over community 410102002001 with idempotency keys
``PREFIX-BATCH-K``, every third batch twice (a client retrying), until a
response comes back under a generation after the first; then three batches
more. One JSON line per request on stdout: the batch, whether it was a replay,
the HTTP status and, per event, its key, id, position and assignment.
"""

import json
import random
import sys
import urllib.request

BATCH = 20
MAX_BATCHES = 2000


def post(base: str, token: str, items: list) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base}/api/v1/events",
        data=json.dumps({"events": items}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.load(response)


def main(base: str, token: str, prefix: str, seed: int) -> None:
    rng = random.Random(seed)
    after = None
    for b in range(MAX_BATCHES):
        items = [
            {
                "lon": rng.uniform(113.565, 113.6),
                "lat": rng.uniform(34.705, 34.76),
                "category": "noise",
                "idempotency_key": f"{prefix}-{b}-{k}",
            }
            for k in range(BATCH)
        ]
        for replay in (False, True) if b % 3 == 0 else (False,):
            status, body = post(base, token, items)
            acks = [
                {
                    "key": item["idempotency_key"],
                    "outcome": r["outcome"],
                    "id": r["event"]["id"],
                    "lon": r["event"]["lon"],
                    "lat": r["event"]["lat"],
                    "assignment": r["event"]["assignment"],
                }
                for item, r in zip(items, body["results"], strict=True)
            ]
            line = {"batch": b, "replay": replay, "status": status, "events": acks}
            print(json.dumps(line), flush=True)
            if after is None and any(a["assignment"]["generation"] > 1 for a in acks):
                after = b
        if after is not None and b >= after + 3:
            return
    sys.exit(f"{prefix}: no response under a new generation after {MAX_BATCHES} batches")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
