"""Query-string parameters, checked up front; each error names its field."""

from __future__ import annotations

import json
import math
import re

from flask import request
from werkzeug.routing import BaseConverter, ValidationError

from geogrid.errors import InvalidInputError
from geogrid.parse import MAX_ID, parse_datetime, parse_id, text_problem

__all__ = [
    "IdConverter",
    "bad",
    "check_request_text",
    "get_bbox",
    "get_choice",
    "get_float",
    "get_id",
    "get_int",
    "get_time",
    "json_body",
]

_INTEGER = re.compile(r"-?[0-9]{1,19}")


def bad(field: str, message: str) -> InvalidInputError:
    """An error about one parameter; the message names it once, first."""
    text = message if message.startswith(f"{field} ") else f"{field}: {message}"
    return InvalidInputError(text, details=[{"field": field, "message": message}])


def get_int(name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as an integer in ``[low, high]``, or ``default``."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not _INTEGER.fullmatch(raw):
        raise bad(name, f"expected an integer from {low} to {high}, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise bad(name, f"expected an integer from {low} to {high}, got {value}")
    return value


def get_float(name: str, required: bool = True, default: float | None = None) -> float | None:
    """Query parameter ``name`` as a finite number, or ``default``."""
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
    """Query parameter ``name``, one of ``choices``, or ``default``."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise bad(name, f"expected one of {', '.join(choices)}, got {raw!r}")
    return raw


def get_bbox(name: str = "bbox") -> tuple[float, float, float, float] | None:
    """Query parameter ``name`` as ``minx,miny,maxx,maxy`` in WGS-84, or None."""
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
    """An ISO 8601 time with a zone, as an aware UTC datetime, or None."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    return parse_datetime(name, raw)


def get_id(name: str):
    """Query parameter ``name`` as an id (1 to 2³¹−1), or None."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    return parse_id(name, raw)


class IdConverter(BaseConverter):
    """``<id:name>`` in a route: ASCII digits from 1 to 2³¹−1; anything else is a 404."""

    regex = r"[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        """The id as an integer, or a routing miss."""
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValidationError
        return number

    def to_url(self, value: int) -> str:
        """The id as it appears in a URL."""
        return str(int(value))


def check_request_text() -> None:
    """Refuse NUL, other control characters and lone surrogates in any parameter or form field.

    Run before every request: no surface stores or compares such text, and
    PostgreSQL would refuse NUL outright. Tab, CR and LF (which forms send) pass.
    """
    for source in (request.args, request.form):
        for key, values in source.lists():
            for text in (key, *values):
                problem = text_problem(text)
                if problem:
                    raise bad(key if text is not key else "parameter name", problem)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def json_body():
    """The request's JSON body, parsed strictly: no NaN, no nesting deeper than Python allows."""
    text = request.get_data(as_text=True)
    if not text.strip():
        raise bad("body", "is empty; expected JSON")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise InvalidInputError(
            f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}",
            details=[
                {"field": "body", "message": err.msg, "line": err.lineno, "column": err.colno}
            ],
        ) from None
    except RecursionError:
        raise bad("body", "is nested too deeply; expected objects, or an array of them") from None
    except ValueError as err:
        raise bad("body", str(err)) from None
