"""Uploads made from an older export: what changed in the store since the file was taken.

An export for editing records its generation (:mod:`geogrid.boundaries.export`).
If the active generation is another by the time the file comes back, the
upload would silently undo what was committed in between: the preview flags it
and lists the grids, within the upload's scope, that differ between the two.
"""

from __future__ import annotations

from geogrid.boundaries.diff import diff
from geogrid.storage.store import Store

__all__ = ["staleness"]

_LISTED = 50


def staleness(
    store: Store, taken: int | None, active: int | None, scope: str | None
) -> dict | None:
    """None if the file is of the active generation (or does not say); else what changed since."""
    if taken is None or active is None or taken == active:
        return None
    known = {g["id"] for g in store.generations()}
    if taken not in known:
        return {"file_generation": taken, "active_generation": active, "unknown": True}

    def inside(generation: int) -> dict:
        return {
            g.code: g
            for g in store.load_grids(generation)
            if scope is None or g.code.startswith(scope)
        }

    found = diff(list(inside(taken).values()), list(inside(active).values()))
    since = {
        "added": found["added"],
        "removed": found["removed"],
        "changed": sorted([r["code"] for r in found["reshaped"]] + found["updated"]),
    }
    return {
        "file_generation": taken,
        "active_generation": active,
        "unknown": False,
        "counts": {k: len(v) for k, v in since.items()},
        **{k: v[:_LISTED] for k, v in since.items()},
    }
