"""Residents' reports: ``POST /api/v1/reports`` (no token) and ``GET /api/v1/reports/<number>``.

The report page (``/report``) posts here; so may any app. A report becomes an
event like any other (source ``web``), assigned at once, with a tracking
number. Abuse controls: a per-address and a per-phone rate limit
(``REPORT_RATE_LIMIT``, counted in the store), a honeypot field (``website``:
filled, the answer looks like a success and nothing is stored), the API's size
and text rules. Nothing is stored for a refused report.
"""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request, url_for

from geogrid.cases.queries import EventFilter
from geogrid.cases.reports import (
    RateLimit,
    assign_tracking,
    grid_of,
    new_tracking,
    parse_rate,
    public_report,
)
from geogrid.cases.workflow import OPEN
from geogrid.coords import check_lonlat
from geogrid.errors import NotFoundError
from geogrid.storage.schema import events
from geogrid.times import to_iso
from web.api.events import _EVENT
from web.auth import client_address
from web.casework import attach_photos, form_fields, photos_from_request, saved
from web.errors import error_response
from web.params import bad, json_body, operation
from web.state import state

bp = Blueprint("reports", __name__, url_prefix="/api/v1")

#: photos a resident may send with one report
MAX_REPORT_PHOTOS = 3
#: what a report may carry; the honeypot ``website`` is never shown to a person
FIELDS = (
    "lon",
    "lat",
    "crs",
    "category",
    "description",
    "reporter_name",
    "reporter_phone",
    "website",
)
_REPORT = {
    "type": "object",
    "properties": {k: _EVENT["properties"][k] for k in FIELDS if k in _EVENT["properties"]}
    | {"website": {"type": "string", "maxLength": 0}},
    "required": ["lon", "lat", "category"],
}
_REPORT_FORM = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in FIELDS}
    | {"photo": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 3}},
    "required": ["lon", "lat", "category"],
}


def _now():
    return current_app.config["CLOCK"]()


def _item() -> dict:
    """The report's fields, from a form or a JSON object."""
    if request.mimetype == "multipart/form-data":
        return form_fields()
    body = json_body()
    if not isinstance(body, dict):
        raise bad("body", "expected a JSON object: one report")
    return body


def _report_keys(item: dict) -> list[str]:
    """What a report is counted against: the client's address, and the phone if it gives one."""
    keys = [f"report:addr:{client_address()}"[:200]]
    phone = item.get("reporter_phone")
    digits = re.sub(r"[^0-9]", "", phone) if isinstance(phone, str) else ""
    if digits:
        keys.append(f"report:phone:{digits}"[:200])
    return keys


def _too_many(setting: str, what: str, wait: int):
    """The 429 answer for ``setting``'s limit, with ``Retry-After``."""
    limit, window = parse_rate(current_app.config[setting], setting)
    response, status = error_response(
        429,
        "TooManyRequests",
        f"too many {what}: at most {limit} per {int(window.total_seconds() // 60)} min; "
        f"try again in {wait} s",
    )
    response.headers["Retry-After"] = str(wait)
    return response, status


def _limit(setting: str) -> RateLimit:
    return RateLimit(*parse_rate(current_app.config[setting], setting))


@bp.post("/reports")
@operation(
    body={"application/json": _REPORT, "multipart/form-data": _REPORT_FORM},
    responses={
        201: ("the report's tracking number and the grid that handles it", "application/json"),
        429: ("too many reports from this address or phone", "application/json"),
    },
)
def post_report():
    """A resident's report (no token): JSON or multipart with up to 3 ``photo`` files."""
    item = _item()
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise bad(unknown[0], f"unknown field; expected some of {', '.join(FIELDS[:-1])}")
    now = _now()
    if item.pop("website", ""):  # a robot filled the hidden field: it learns nothing
        return jsonify(_decoy(item, now)), 201
    keys, limit = _report_keys(item), _limit("REPORT_RATE_LIMIT")
    with state().store.engine.connect() as conn:
        wait = limit.wait(conn, keys, now)
    if wait:
        return _too_many("REPORT_RATE_LIMIT", "reports from this address or phone", wait)
    photos = []
    if request.mimetype == "multipart/form-data":
        photos = photos_from_request(limit=MAX_REPORT_PHOTOS)
    app_state, number = state(), {}

    def attach(conn, event_id: int) -> None:  # in the transaction that stores the report
        attach_photos(conn, event_id, photos, "before", "resident", now)
        number["tracking"] = assign_tracking(conn, event_id, now)
        limit.count(conn, keys, now)  # only a stored report counts

    with saved(photos) as discard:
        result = app_state.intake.submit(
            [item | {"source": "web"}],
            "resident",
            app_state.index(),
            now,
            describe=False,
            reindex=app_state.index,
            attach=attach,
        )[0]
        if result.outcome != "created":
            discard()
    if result.outcome == "invalid":
        return jsonify({"error": result.error}), 400
    with app_state.store.engine.connect() as conn:
        answer = public_report(conn, number["tracking"], app_state.names())
    answer["track_url"] = url_for("residents.track", number=number["tracking"])
    return jsonify(answer), 201


def _decoy(item: dict, now) -> dict:
    """What a filled honeypot gets: the shape of a stored report, with nothing stored."""
    number = new_tracking(now)
    code = item.get("category")
    category = state().categories.get(code) if isinstance(code, str) else None
    grid = None
    try:
        lon, lat = check_lonlat(item.get("lon"), item.get("lat"))
        found = state().index().locate(lon, lat, "wgs84")
        row = type("Row", (), {k: found.get(k) for k in ("street", "community", "grid")})
        grid = grid_of(row, state().names())
    except (TypeError, ValueError, OverflowError):  # InvalidInputError is a ValueError
        pass
    hours = category.close_hours if category else 72.0
    return {
        "tracking": number,
        "status": "reported",
        "category": code if isinstance(code, str) else None,
        "description": str(item.get("description", ""))[:4000],
        "grid": grid,
        "reported_at": to_iso(now),
        "expected_by": to_iso(now + timedelta(hours=hours)),
        "closed_at": None,
        "merged": False,
        "timeline": [{"at": to_iso(now), "status": "reported"}],
        "media": [],
        "track_url": url_for("residents.track", number=number),
    }


@bp.get("/reports/<number>")
@operation(
    responses={
        200: ("what a resident may see of a report", "application/json"),
        429: ("too many unknown numbers asked from this address", "application/json"),
    }
)
def get_report(number: str):
    """A report by its tracking number: status, public timeline, after photos; no personal data."""
    found = lookup(number)
    return found if isinstance(found, tuple) else jsonify(found)


def lookup(number: str):
    """The public view of report ``number``, or a 429 answer; :class:`NotFoundError` if none.

    Unknown numbers asked from one address count against ``TRACK_LOOKUP_LIMIT``:
    guessing numbers soon meets a 429, while a resident with theirs never does.
    """
    keys, limit, now = (
        [f"track:addr:{client_address()}"[:200]],
        _limit("TRACK_LOOKUP_LIMIT"),
        _now(),
    )
    with state().store.engine.connect() as conn:
        wait = limit.wait(conn, keys, now)
        if wait:
            return _too_many("TRACK_LOOKUP_LIMIT", "unknown tracking numbers", wait)
        try:
            return public_report(conn, number, state().names())
        except NotFoundError:
            pass
    limit.take(state().store, keys, now)
    raise NotFoundError("no report with this tracking number")


@bp.get("/reports/summary")
@operation(
    responses={200: ("open and resolved reports per grid, last 30 days", "application/json")}
)
def report_summary():
    """Open and resolved reports per three-level grid in the last 30 days (``PUBLIC_MAP``)."""
    if not current_app.config["PUBLIC_MAP"]:
        raise NotFoundError("the public map is not enabled here (PUBLIC_MAP)")
    now = _now()
    since = EventFilter(start=now - timedelta(days=30)).where(now)
    live = sa.case((events.c.status.in_(OPEN), 1), else_=0)
    done = sa.case((events.c.status.in_(("resolved", "closed")), 1), else_=0)
    with state().store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.grid, sa.func.sum(live), sa.func.sum(done))
            .where(*since, events.c.grid.isnot(None), events.c.status != "merged")
            .group_by(events.c.grid)
        ).all()
    names, base = state().names(), _centres()
    grids = [
        {
            "code": code,
            "name": names.get(code, ""),
            "open": int(open_),
            "resolved": int(resolved),
            "lon": base.get(code, (None, None))[0],
            "lat": base.get(code, (None, None))[1],
        }
        for code, open_, resolved in rows
    ]
    return jsonify({"since": to_iso(now - timedelta(days=30)), "grids": grids})


def _centres() -> dict:
    from web.pages.mapview import map_base

    return map_base().centres
