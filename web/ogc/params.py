"""The OGC API's query parameters, checked, and the error that answers a bad one."""

from __future__ import annotations

import math
import re
from datetime import datetime

from flask import request

from geogrid.parse import parse_datetime
from web.ogc.document import COMMON, FILTERS, GEOJSON


class OGCError(Exception):
    """A refused request: its HTTP status, OGC exception code and description."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def wants_html() -> bool:
    """Whether to answer in HTML: ``f=html``, or else HTML preferred by the Accept header."""
    f = request.args.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise OGCError(400, "InvalidParameterValue", f"f must be json or html, got '{f}'")
        return f == "html"
    best = request.accept_mimetypes.best_match(["application/json", GEOJSON, "text/html"])
    return best == "text/html"


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The integer parameter ``name`` from ``low`` to ``high``; ``default`` if absent."""
    raw = request.args.get(name)
    if raw is None:
        return default
    value = int(raw) if re.fullmatch(r"[0-9]{1,19}", raw) else None
    if value is None or not low <= value <= high:
        raise OGCError(
            400,
            "InvalidParameterValue",
            f"{name} must be an integer from {low} to {high}, got '{raw}'",
        )
    return value


def bbox_arg() -> tuple[float, ...] | None:
    """The ``bbox`` parameter as (minLon, minLat, maxLon, maxLat) in CRS84, or None."""
    raw = request.args.get("bbox")
    if raw is None:
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        values = []
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if (
        len(values) != 4
        or not all(math.isfinite(v) for v in values)
        or not (-180 <= values[0] <= values[2] <= 180 and -90 <= values[1] <= values[3] <= 90)
    ):
        raise OGCError(
            400,
            "InvalidParameterValue",
            f"bbox must be minLon,minLat,maxLon,maxLat in CRS84, got '{raw}'",
        )
    return tuple(values)


def datetime_arg() -> tuple[datetime | None, datetime | None]:
    """The ``datetime`` parameter as a UTC (start, end); an open end or no parameter is None."""
    raw = request.args.get("datetime")
    if raw is None:
        return None, None

    def parse(text: str):
        if text in ("", ".."):
            return None
        return parse_datetime("datetime", text)

    if "/" in raw:
        start, _, end = raw.partition("/")
        return parse(start), parse(end)
    instant = parse(raw)
    return instant, instant


def filters(kind: str) -> dict:
    """The property filters given for ``kind`` ('grid', 'events', 'cooling_stations')."""
    allowed = FILTERS[kind]
    unknown = sorted(set(request.args) - COMMON - set(allowed))
    if unknown:
        raise OGCError(
            400,
            "InvalidParameterValue",
            f"unknown parameter '{unknown[0]}'; filters here: {', '.join(allowed)}",
        )
    return {k: request.args[k] for k in allowed if k in request.args}
