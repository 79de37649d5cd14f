"""Validation of incoming events: each problem names its field.

An event arrives as a JSON object (or a CSV row turned into one) with ``lon``,
``lat``, ``crs``, ``category``, ``description``, ``source``, optional reporter
fields, ``reported_at`` (ISO 8601 with a zone; default now) and an optional
``idempotency_key``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from geogrid.cases.categories import Category
from geogrid.coords import CRS_NAMES, lonlat_problem
from geogrid.errors import InvalidInputError
from geogrid.parse import check_text, parse_datetime, parse_number

__all__ = ["FIELDS", "MAX_DESCRIPTION", "SOURCES", "EventInput", "parse_event"]

SOURCES = ("app", "hotline", "inspection", "wechat", "open311", "web", "other")
MAX_DESCRIPTION = 4000
FIELDS = (
    "lon",
    "lat",
    "crs",
    "category",
    "description",
    "source",
    "reported_at",
    "reporter_name",
    "reporter_phone",
    "idempotency_key",
)
_CLOCK_SKEW = timedelta(minutes=10)
_PHONE = re.compile(r"\+?[0-9][0-9 \-]{4,30}")


@dataclass(frozen=True)
class EventInput:
    """A validated event, coordinates still in ``crs``."""

    lon: float
    lat: float
    crs: str
    category: str
    description: str
    source: str
    reported_at: datetime
    reporter_name: str | None = None
    reporter_phone: str | None = None
    idempotency_key: str | None = None


def _bad(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{field}: {message}", details=[{"field": field, "message": message}])


def _number(obj: dict, field: str) -> float:
    if field not in obj or obj[field] is None:
        raise _bad(field, "is required (a number of degrees)")
    return parse_number(field, obj[field])


def _text(obj: dict, field: str, limit: int, required: bool = False) -> str | None:
    value = obj.get(field)
    if value is None or value == "":
        if required:
            raise _bad(field, "is required (a string)")
        return None
    if not isinstance(value, str):
        raise _bad(field, f"expected a string, got {type(value).__name__}")
    if len(value) > limit:
        raise _bad(field, f"is {len(value)} characters; at most {limit} allowed")
    return check_text(field, value)


def _choice(obj: dict, field: str, choices, default: str | None) -> str:
    value = obj.get(field, default)
    if value is None:
        raise _bad(field, f"is required: one of {', '.join(choices)}")
    if value not in choices:
        raise _bad(field, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def _time(obj: dict, field: str, now: datetime) -> datetime:
    value = obj.get(field)
    if value is None:
        return now
    parsed = parse_datetime(field, value)
    if parsed > now + _CLOCK_SKEW:
        raise _bad(field, f"{value!r} is in the future")
    return parsed.astimezone(UTC)


def parse_event(obj: object, categories: dict[str, Category], now: datetime) -> EventInput:
    """Validate one event object; raise :class:`InvalidInputError` naming the field."""
    if not isinstance(obj, dict):
        raise _bad("event", f"expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        raise _bad(unknown[0], f"unknown field; expected some of {', '.join(FIELDS)}")
    lon, lat = _number(obj, "lon"), _number(obj, "lat")
    problem = lonlat_problem(lon, lat)
    if problem:
        raise _bad("lon,lat", problem)
    phone = _text(obj, "reporter_phone", 40)
    if phone is not None and not _PHONE.fullmatch(phone):
        raise _bad("reporter_phone", f"expected a phone number (digits), got {phone!r}")
    return EventInput(
        lon=lon,
        lat=lat,
        crs=_choice(obj, "crs", CRS_NAMES, "wgs84"),
        category=_choice(obj, "category", tuple(categories), None),
        description=_text(obj, "description", MAX_DESCRIPTION) or "",
        source=_choice(obj, "source", SOURCES, "app"),
        reported_at=_time(obj, "reported_at", now),
        reporter_name=_text(obj, "reporter_name", 100),
        reporter_phone=phone,
        idempotency_key=_text(obj, "idempotency_key", 100),
    )
