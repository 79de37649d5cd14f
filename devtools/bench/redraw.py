"""Redraw benchmark on the demo district: dry-run validation, then commit + reassignment.

A throwaway store gets the demo grids and its 100,000 events. The dry run plans
the whole bundled district as an upload (per-feature checks, topology of ~22,000
grids, diff, event impact). The commit writes a generation in which every
community's grids are numbered the other way round, so almost every event
really changes grid, and reassigns all 100,000 (closed ones too). Not a test.
"""

from __future__ import annotations

import copy
import tempfile
import time
from datetime import UTC, datetime

__all__ = ["run_redraw"]


def _renumbered(features: list) -> list:
    """Reverse the three-level grid numbers within each community (micro codes follow)."""
    numbers: dict[str, list[str]] = {}
    for f in features:
        code = f["properties"]["code"]
        if len(code) == 15 and "Z" not in code:
            numbers.setdefault(code[:12], []).append(code[12:15])
    mapping = {}
    for community, nums in numbers.items():
        for old, new in zip(sorted(nums), sorted(nums, reverse=True), strict=True):
            mapping[community + old] = community + new
    out = copy.deepcopy(features)
    for f in out:
        code = f["properties"]["code"]
        if len(code) >= 15 and "Z" not in code:
            f["properties"]["code"] = mapping[code[:15]] + code[15:]
    return out


def run_redraw() -> dict:
    """Dry run and commit of the whole demo district with its events, timed."""
    import geodata
    from geogrid.boundaries.grids import read_grids
    from geogrid.boundaries.redraw import commit, plan
    from geogrid.cases.categories import load_categories
    from geogrid.cases.files import read_event_rows
    from geogrid.cases.intake import Intake
    from geogrid.io import load_json
    from geogrid.storage.store import Store

    features = load_json(geodata.GRIDS)["features"]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.sqlite")
        store.migrate()
        store.import_grids(read_grids({"type": "FeatureCollection", "features": features}))
        intake, index = Intake(store, load_categories()), store.index()
        rows = [item for _, item in read_event_rows(geodata.EVENTS)]
        for start in range(0, len(rows), 10_000):
            intake.submit(
                rows[start : start + 10_000], "bench", index, datetime.now(UTC), describe=False
            )
        start = time.perf_counter()
        dry = plan(store, features, sha256="bench")
        dry_s = time.perf_counter() - start
        redrawn = plan(store, _renumbered(features), sha256="bench-renumbered")
        start = time.perf_counter()
        done = commit(store, redrawn, "bench", datetime.now(UTC), reassign_closed=True)
        commit_s = time.perf_counter() - start
    return {
        "grids": len(features),
        "events": len(rows),
        "dry_run_s": round(dry_s, 2),
        "dry_run_ok": dry.ok,
        "dry_run_problems": len(dry.problems),
        "commit_s": round(commit_s, 2),
        "events_reassigned": done["events_reassigned"],
        "events_predicted_to_move": redrawn.events["open_moved"] + redrawn.events["closed_moved"],
    }
