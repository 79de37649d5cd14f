"""SIGKILL in the middle of a large batch intake, on each backend: the store stays
consistent, the active generation stands, every acknowledged event is there and the
killed batch is wholly absent (and can be sent again). The kill in the middle of a
boundary commit is in test_redraw.py; both end with geogrid.storage.integrity.check."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import sqlalchemy as sa

from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.storage.integrity import check
from geogrid.storage.schema import event_history, events

BATCHES = [1000, 1000, 5000]  # the third is killed after its rows are written


def _items(n: int, batch: int) -> list[dict]:
    return [
        {
            "lon": 113.505 + 0.09 * (k % 100) / 100,
            "lat": 34.705 + 0.05 * (k // 100) / (n // 100),
            "category": "noise",
            "idempotency_key": f"b{batch}-{k}",
        }
        for k in range(n)
    ]


SCRIPT = """
import json, os, signal, sys
from datetime import UTC, datetime
from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.storage.store import Store
from test_crash import BATCHES, _items

store = Store(sys.argv[1])
intake = Intake(store, load_categories())
index = store.index()
for b, n in enumerate(BATCHES):
    if b == len(BATCHES) - 1:
        original = Intake._flag_duplicates
        def flag_then_die(self, conn, ids, rows):
            original(self, conn, ids, rows)  # every row and history step written, no commit
            os.kill(os.getpid(), signal.SIGKILL)
        Intake._flag_duplicates = flag_then_die
    results = intake.submit(_items(n, b), "t", index, datetime.now(UTC), describe=False)
    print(json.dumps([r.event["id"] for r in results]), flush=True)  # acknowledged
"""


def test_killed_in_the_middle_of_a_batch_intake_every_acknowledged_event_is_there(store):
    env = {**os.environ, "PYTHONPATH": os.path.dirname(__file__)}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), store.url],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    acknowledged = [id_ for line in proc.stdout.splitlines() for id_ in json.loads(line)]
    assert len(acknowledged) == sum(BATCHES[:-1])

    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(events.c.id, events.c.idempotency_key)).all()
        steps = conn.scalar(sa.select(sa.func.count()).select_from(event_history))
    assert sorted(i for i, _ in stored) == sorted(acknowledged)
    assert not any(key.startswith(f"b{len(BATCHES) - 1}-") for _, key in stored)
    assert steps == len(acknowledged)
    assert store.active_generation() == 1
    assert check(store) == []

    # the client, having had no answer, sends the killed batch and a replay again
    intake, now = Intake(store, load_categories()), datetime.now(UTC)
    last = intake.submit(_items(BATCHES[-1], len(BATCHES) - 1), "t", store.index(), now)
    again = intake.submit(_items(BATCHES[0], 0), "t", store.index(), now)
    assert {r.outcome for r in last} == {"created"} and {r.outcome for r in again} == {"existing"}
    assert check(store) == []
