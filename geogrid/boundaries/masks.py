"""Masked values in an uploaded file: never stored.

Exports that mask phones (``138****9871``) for their reader can come back as
uploads. A masked value is never written over the real one: if it is exactly
the mask of the value stored for that grid and field, the stored value is kept;
anything else holding a mask is refused, naming the feature and the field.

Examples
--------
>>> is_masked("138****9871"), is_masked("王**"), is_masked("13812349871")
(True, True, False)
"""

from __future__ import annotations

import dataclasses

from geogrid.errors import InvalidInputError
from geogrid.grid import Grid
from geogrid.privacy import mask_name, mask_phone

__all__ = ["is_masked", "unmasked"]


def is_masked(value: object) -> bool:
    """True for text that carries a mask (two or more asterisks in a row)."""
    return isinstance(value, str) and "**" in value


def _masks_of(stored: object) -> set[str]:
    if stored in (None, ""):
        return set()
    return {mask_phone(stored), mask_name(str(stored))}


def _indexes(features: list) -> dict[str, int]:
    """Each code's first feature index in the file (for messages)."""
    out: dict[str, int] = {}
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        code = props.get("code") if isinstance(props, dict) else None
        if code is not None:
            out.setdefault(str(code).strip(), i)
    return out


def unmasked(uploaded: list[Grid], active: list[Grid], features: list) -> list[Grid]:
    """``uploaded`` with every masked value put back from ``active``; refused where it cannot be.

    ``active`` are the active generation's grids; ``features`` the file's
    features (their indexes name the refused values).
    """
    stored = {g.code: g for g in active}
    problems, out = [], []
    for grid in uploaded:
        masked = [key for key, value in grid.attributes.items() if is_masked(value)]
        if not masked:
            out.append(grid)
            continue
        old = stored.get(grid.code)
        attributes = dict(grid.attributes)
        for key in masked:
            value = attributes[key]
            kept = old.attributes.get(key) if old is not None else None
            if value in _masks_of(kept):
                attributes[key] = kept  # the export's mask of the stored value: keep the value
                continue
            problems.append(
                {
                    "code": grid.code,
                    "field": f"properties.{key}",
                    "message": f"{value!r} is a masked value and is not the mask of the stored "
                    "one: write the real value, or leave the field out",
                }
            )
        out.append(dataclasses.replace(grid, attributes=attributes))
    if problems:
        index_of = _indexes(features)
        problems = [{"index": index_of.get(p["code"]), **p} for p in problems]
        first = problems[0]
        raise InvalidInputError(
            f"{len(problems)} masked value(s) would overwrite real ones; first: feature "
            f"{first['index']} ({first['code']}), {first['field']}: {first['message']}",
            details=problems,
        )
    return out
