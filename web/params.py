"""Query-string parameters, checked up front; each error names its field."""

from __future__ import annotations

import math

from flask import request

from geogrid.errors import InvalidInputError

__all__ = ["bad", "get_int", "get_float", "get_choice", "get_bbox", "get_time"]


def bad(field: str, message: str) -> InvalidInputError:
    """An error about one parameter; the message names it once, first."""
    text = message if message.startswith(f"{field} ") else f"{field}: {message}"
    return InvalidInputError(text, details=[{"field": field, "message": message}])


def get_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(name, f"expected an integer from {low} to {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise bad(name, f"expected an integer from {low} to {high}, got {value}")
    return value


def get_float(name: str, required: bool = True, default: float | None = None) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise bad(name, "is required (a number)")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise bad(name, f"expected a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise bad(name, f"expected a finite number, got {raw!r}")
    return value


def get_choice(name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise bad(name, f"expected one of {', '.join(choices)}, got {raw!r}")
    return raw


def get_bbox(name: str = "bbox") -> tuple[float, float, float, float] | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    expected = "expected min_lon,min_lat,max_lon,max_lat in WGS-84 degrees"
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise bad(name, f"{expected}, got {raw!r}") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise bad(name, f"{expected}, got {raw!r}")
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise bad(name, f"{expected} with min <= max and in range, got {raw!r}")
    return x0, y0, x1, y1


def get_time(name: str):
    """An ISO 8601 time with a zone, as an aware datetime, or None."""
    from datetime import datetime

    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise bad(
            name, f"expected ISO 8601 with a zone, e.g. 2026-07-01T00:00:00+08:00, got {raw!r}"
        ) from None
    if value.tzinfo is None:
        raise bad(name, f"needs a time zone (e.g. +08:00), got {raw!r}")
    return value
