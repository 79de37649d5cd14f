"""Query-string parameters, checked up front; each error names its field."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, request
from werkzeug.routing import BaseConverter, ValidationError

from geogrid import codes
from geogrid.errors import InvalidInputError
from geogrid.parse import MAX_ID, parse_datetime, parse_id, parse_number, text_problem

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


def _int(name: str, raw: str, low: int, high: int) -> int:
    if not _INTEGER.fullmatch(raw):
        raise bad(name, f"expected an integer from {low} to {high}, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise bad(name, f"expected an integer from {low} to {high}, got {value}")
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise bad(name, f"expected one of {', '.join(choices)}, got {raw!r}")
    return raw


def _bbox(name: str, raw: str) -> tuple[float, float, float, float]:
    expected = "expected min_lon,min_lat,max_lon,max_lat in WGS-84 degrees"
    try:
        values = [float(p) for p in raw.split(",")]
    except ValueError:
        raise bad(name, f"{expected}, got {raw!r}") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise bad(name, f"{expected}, got {raw!r}")
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise bad(name, f"{expected} with min <= max and in range, got {raw!r}")
    return x0, y0, x1, y1


def _code(name: str, raw: str, level: str | None) -> str:
    try:
        found = codes.level_of(raw)
    except InvalidInputError as err:
        raise bad(name, str(err)) from None
    if level is not None and found != level:
        raise bad(name, f"expected a {level} code, got the {found} code {raw!r}")
    return raw


def _raw(name: str) -> str | None:
    raw = request.args.get(name)
    return None if raw is None or raw == "" else raw


def get_int(name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as an integer in ``[low, high]``, or ``default``."""
    raw = _raw(name)
    return default if raw is None else _int(name, raw, low, high)


def get_float(name: str, required: bool = True, default: float | None = None) -> float | None:
    """Query parameter ``name`` as a finite number, or ``default``."""
    raw = _raw(name)
    if raw is None or raw.strip() == "":
        if required:
            raise bad(name, "is required (a number)")
        return default
    return parse_number(name, raw)


def get_choice(name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
    """Query parameter ``name``, one of ``choices``, or ``default``."""
    raw = _raw(name)
    return default if raw is None else _choice(name, raw, choices)


def get_bbox(name: str = "bbox") -> tuple[float, float, float, float] | None:
    """Query parameter ``name`` as ``minx,miny,maxx,maxy`` in WGS-84, or None."""
    raw = _raw(name)
    return None if raw is None else _bbox(name, raw)


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
                problem = text_problem(text) if isinstance(text, str) else None
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


# -- parameter specs: one declaration parses a parameter and documents it ---------------


@dataclass(frozen=True)
class Param:
    """One query parameter: how it is parsed and how the OpenAPI document shows it."""

    name: str
    description: str
    schema: dict | Callable[[], dict]
    parse: Callable[[str], object]
    default: object = None
    required: bool = False

    def value(self):
        """The parameter's value in this request (its default when absent or empty)."""
        raw = request.args.get(self.name)
        if raw is None or raw == "":
            if self.required:
                kind = {"number": "a number", "integer": "an integer"}
                schema = self.schema() if callable(self.schema) else self.schema
                what = kind.get(schema.get("type"))
                raise bad(
                    self.name,
                    f"is required ({what})" if what else f"is required: {self.description}",
                )
            return self.default
        return self.parse(raw)

    def openapi(self) -> dict:
        """The parameter as an OpenAPI parameter object."""
        schema = self.schema() if callable(self.schema) else dict(self.schema)
        if self.default is not None:
            schema["default"] = self.default
        return {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "description": self.description,
            "schema": schema,
        }


def integer(name: str, low: int, high: int, default: int | None, description: str) -> Param:
    """An integer parameter from ``low`` to ``high``."""
    schema = {"type": "integer", "minimum": low, "maximum": high}
    return Param(name, description, schema, lambda raw: _int(name, raw, low, high), default)


def number(name: str, description: str, required: bool = True) -> Param:
    """A finite number."""
    return Param(
        name, description, {"type": "number"}, lambda raw: parse_number(name, raw), None, required
    )


def choice(
    name: str, choices: tuple[str, ...] | Callable[[], tuple[str, ...]], default, description: str
) -> Param:
    """One of ``choices`` (a tuple, or a function giving it, e.g. the categories)."""

    def options() -> tuple[str, ...]:
        return choices() if callable(choices) else choices

    return Param(
        name,
        description,
        lambda: {"type": "string", "enum": list(options())},
        lambda raw: _choice(name, raw, options()),
        default,
    )


def moment(name: str, description: str) -> Param:
    """An ISO 8601 time with a zone (years 1900 to 2200)."""
    schema = {"type": "string", "format": "date-time"}
    return Param(name, description, schema, lambda raw: parse_datetime(name, raw))


def bbox(name: str = "bbox") -> Param:
    """A WGS-84 box ``min_lon,min_lat,max_lon,max_lat``."""
    return Param(
        name,
        "min_lon,min_lat,max_lon,max_lat in WGS-84 degrees",
        {"type": "string", "pattern": r"^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$"},
        lambda raw: _bbox(name, raw),
    )


def grid_code(name: str, description: str, level: str | None = None) -> Param:
    """A grid code (of ``level`` if given)."""
    return Param(
        name,
        description,
        {"type": "string", "pattern": CODE_PATTERN},
        lambda raw: _code(name, raw, level),
    )


#: the shape of a grid code of any level
CODE_PATTERN = r"^[0-9]{6}([0-9]{3}){0,3}([0-9]{2})?$|^[0-9]{12}Z[0-9]{2}$"


def operation(
    *params: Param,
    auth: str | None = None,
    body: tuple[str, dict] | dict[str, dict] | None = None,
    responses: dict | None = None,
):
    """Declare a view's query parameters, body and answers (for :func:`args` and OpenAPI).

    ``auth`` is what the token must allow (``read``, ``report`` …), ``body`` a
    (media type, JSON schema) pair or ``{media type: schema}`` for several,
    ``responses`` ``{status: (what, media)}``.
    """

    def mark(view):
        view.openapi = {
            "params": params,
            "auth": auth,
            "body": body,
            "responses": responses or {200: ("the answer", "application/json")},
        }
        return view

    return mark


def args() -> dict:
    """The current request's declared query parameters, parsed (see :func:`operation`)."""
    view = current_app.view_functions[request.endpoint]
    return {p.name: p.value() for p in view.openapi["params"]}
