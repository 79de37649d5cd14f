"""Typed parsers of input values, shared by every surface: ids, datetimes and text.

Each raises :class:`~geogrid.errors.InvalidInputError` naming the field (and the
item, where a batch has several), so every surface answers bad input with a 4xx
that says what was expected; none lets a value through that the database would
refuse (PostgreSQL's integer range, its ban on NUL, UTF-8's on lone surrogates).

Examples
--------
>>> parse_id("id", "42")
42
>>> parse_id("id", "²")
Traceback (most recent call last):
...
geogrid.errors.InvalidInputError: id: expected an integer id from 1 to 2147483647, got '²'
>>> parse_datetime("from", "2026-07-01T08:00:00 08:00").isoformat()
'2026-07-01T00:00:00+00:00'
>>> text_problem("a" + chr(0) + "b")
'contains the control character U+0000; only tab, CR and LF are allowed'
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from geogrid.errors import InvalidInputError

__all__ = [
    "MAX_ID",
    "MAX_YEAR",
    "MIN_YEAR",
    "bad_field",
    "check_text",
    "parse_datetime",
    "parse_id",
    "parse_number",
    "text_problem",
]

#: ids are PostgreSQL integers on both backends, so both answer alike
MAX_ID = 2**31 - 1
#: a sane range of years for event and query times (after conversion to UTC)
MIN_YEAR, MAX_YEAR = 1900, 2200
_DIGITS = re.compile(r"[0-9]{1,10}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def bad_field(field: str, message: str, index: int | None = None) -> InvalidInputError:
    """An error about one field (of item ``index`` of a batch), named first in the message."""
    detail = {"field": field, "message": message}
    if index is not None:
        detail["index"] = index
    where = field if index is None else f"item {index}: {field}"
    return InvalidInputError(f"{where}: {message}", details=[detail])


def parse_id(field: str, raw: object) -> int:
    """An id: ASCII digits (or a JSON integer) from 1 to :data:`MAX_ID`."""
    expected = f"expected an integer id from 1 to {MAX_ID}, got {raw!r}"
    if isinstance(raw, bool):
        raise bad_field(field, expected)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _DIGITS.fullmatch(raw):
        value = int(raw)
    else:
        raise bad_field(field, expected)
    if not 1 <= value <= MAX_ID:
        raise bad_field(field, expected)
    return value


def parse_number(field: str, raw: object) -> float:
    """A finite number, from a JSON number or its text."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise bad_field(field, f"expected a number, got {type(raw).__name__}")
    try:
        value = float(raw)
    except ValueError:
        raise bad_field(field, f"expected a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise bad_field(field, f"expected a finite number, got {raw!r}")
    return value


def parse_datetime(field: str, raw: object) -> datetime:
    """An ISO 8601 / RFC 3339 time with a zone, as aware UTC, years within a sane range.

    A ``+`` that a query string turned into a space is restored (``…T08:00:00 08:00``).
    """
    example = "e.g. 2026-07-01T21:30:00+08:00"
    if not isinstance(raw, str):
        raise bad_field(field, f"expected an ISO 8601 string, got {type(raw).__name__}")
    text = raw.strip()
    if len(text) > 19 and text[-6] == " ":
        text = text[:-6] + "+" + text[-5:]
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_field(field, f"expected ISO 8601 with a zone, {example}, got {raw!r}") from None
    if value.tzinfo is None:
        raise bad_field(field, f"needs a time zone (e.g. +08:00), got {raw!r}")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        value = None
    if value is None or not MIN_YEAR <= value.year <= MAX_YEAR:
        raise bad_field(field, f"expected a time from {MIN_YEAR} to {MAX_YEAR}, got {raw!r}")
    return value


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, control characters, lone surrogates)."""
    found = _CONTROL.search(value)
    if found:
        return (
            f"contains the control character U+{ord(found.group()):04X}; "
            "only tab, CR and LF are allowed"
        )
    found = _SURROGATE.search(value)
    if found:
        return f"contains a lone surrogate U+{ord(found.group()):04X}; expected valid Unicode text"
    return None


def check_text(field: str, value: str, index: int | None = None) -> str:
    """``value`` if it is storable text (see :func:`text_problem`), else the error."""
    problem = text_problem(value)
    if problem:
        raise bad_field(field, problem, index)
    return value
