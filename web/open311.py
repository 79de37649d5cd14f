"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over geogrid's events.

Services are our categories; a posted request is an event like any other,
assigned on intake; statuses map to open/closed with status notes;
``agency_responsible`` names the grid chain. JSON or XML by the path's
extension; errors are the spec's array of {code, description}.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, jsonify, request

from geogrid.auth import user_for_token
from geogrid.cases.queries import (
    PUBLIC_DECIMALS,
    EventFilter,
    last_notes,
    list_events,
    media_dict,
    media_of,
)
from geogrid.cases.workflow import OPEN, STATUSES
from geogrid.errors import InvalidInputError
from geogrid.parse import parse_datetime, parse_id
from geogrid.policy import may_read_events
from geogrid.times import to_iso
from web.links import external_url
from web.state import state

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

_SPEC = "http://wiki.open311.org/GeoReport_v2"
_STATUS_NOTES = {
    "reported": "已上报 reported",
    "accepted": "已立案 accepted",
    "dispatched": "已派遣 dispatched",
    "handling": "处置中 handling",
    "resolved": "处置完毕，待核查 resolved, awaiting check",
    "closed": "已结案 closed",
    "rejected": "不予立案 rejected",
    "merged": "已合并 merged into another request",
}
_MAX_DAYS = 90
_DEFAULT_LIMIT = 1000


# characters XML 1.0 does not allow (stored before intake refused them, or from elsewhere)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Open311Error(Exception):
    """An error answered in the spec's format."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _now() -> datetime:
    return current_app.config["CLOCK"]()


def _render(fmt: str, root: str, item: str, rows: list[dict], status: int = 200):
    if fmt == "json":
        return jsonify(rows), status
    top = ET.Element(root)
    for row in rows:
        _xml_item(ET.SubElement(top, item), row)
    body = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return Response(body, status=status, mimetype="text/xml")


def _xml_item(node, row: dict) -> None:
    """Flat rows only: every value of ours is a scalar; text XML 1.0 cannot hold is dropped."""
    for key, value in row.items():
        child = ET.SubElement(node, key)
        if value is not None:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            child.text = _NOT_XML.sub("\ufffd", text)


@bp.errorhandler(InvalidInputError)
def _invalid(err: InvalidInputError):
    """Bad input found by the shared request layer, in the spec's error list."""
    return _error(Open311Error(400, err.message))


@bp.errorhandler(Open311Error)
def _error(err: Open311Error):
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return _render(
        fmt, "errors", "error", [{"code": err.status, "description": err.description}], err.status
    )


def _fmt(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, f"unknown format '.{fmt}': use .json or .xml")
    return fmt


@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    """The GeoReport v2 discovery document."""
    base = external_url("open311.services", fmt="json").rsplit("/", 1)[0]
    doc = {
        "changeset": "2026-11-26T00:00:00Z",
        "contact": "网格化指挥中心 geogrid",
        "key_service": "API keys are issued by the district (geogrid user token)",
        "endpoints": [
            {
                "specification": _SPEC,
                "url": base,
                "changeset": "2026-11-26T00:00:00Z",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    if _fmt(fmt) == "json":
        return jsonify(doc)
    top = ET.Element("discovery")
    for key in ("changeset", "contact", "key_service"):
        ET.SubElement(top, key).text = doc[key]
    endpoints = ET.SubElement(top, "endpoints")
    for ep in doc["endpoints"]:
        node = ET.SubElement(endpoints, "endpoint")
        for key in ("specification", "url", "changeset", "type"):
            ET.SubElement(node, key).text = ep[key]
        formats = ET.SubElement(node, "formats")
        for f in ep["formats"]:
            ET.SubElement(formats, "format").text = f
    return Response(ET.tostring(top, encoding="utf-8", xml_declaration=True), mimetype="text/xml")


@bp.get("/services.<fmt>")
def services(fmt: str):
    """The service list: one service per event category."""
    rows = [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": f"{c.name_en}; closure within {c.close_hours:g} h",
            "metadata": False,
            "type": "realtime",
            "keywords": c.name_en.lower(),
            "group": "网格化治理",
        }
        for c in state().categories.values()
    ]
    return _render(_fmt(fmt), "services", "service", rows)


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    """A service definition (no extra attributes are asked)."""
    _fmt(fmt)
    if code not in state().categories:
        raise Open311Error(404, f"service_code '{code}' does not exist")
    raise Open311Error(404, f"service_code '{code}' has no metadata (metadata is false)")


def _names() -> dict[str, str]:
    return state().names()


def _reader():
    """The caller if its ``api_key`` (a geogrid token) carries read rights, else None."""
    key = request.args.get("api_key")
    user = user_for_token(state().store, key) if key else None
    return user if may_read_events(user) else None


def _request_row(row, last_note: str | None, reader, main=None, photos=()) -> dict:
    """One request as GeoReport v2; the public view (PUBLIC_EVENTS) unless ``reader``.

    A request merged into another (``main``, its row) follows that case: its
    reporter sees the status the main case has, not "merged". ``media_url`` is
    the first photo the caller may see: an "after" photo for anyone, a
    reported one for readers.
    """
    names, publish = _names(), current_app.config["PUBLIC_EVENTS"]
    chain = [names.get(c) for c in (row.district, row.street, row.community, row.grid) if c]
    category = state().categories.get(row.category)
    state_row = main if main is not None else row
    note = _STATUS_NOTES.get(state_row.status, state_row.status)
    if main is not None:
        note = f"已合并至 #{main.id} merged into request {main.id}: {note}"
    shown = [m for m in photos if m.kind == "after" or reader]
    shown.sort(key=lambda m: m.kind != "after")
    return {
        "service_request_id": str(row.id),
        "status": "open" if state_row.status in OPEN else "closed",
        "status_notes": f"{note}{'；' + last_note if last_note and reader else ''}",
        "service_name": category.name if category else row.category,
        "service_code": row.category,
        "description": row.description if reader or publish == "full" else "",
        "agency_responsible": " / ".join(n for n in chain if n) or "中原区",
        "service_notice": "",
        "requested_datetime": to_iso(row.reported_at),
        "updated_datetime": to_iso(max(row.status_at, state_row.status_at)),
        "expected_datetime": to_iso(state_row.close_due_at),
        "address": "",
        "address_id": "",
        "zipcode": "",
        "lat": row.lat if reader else round(row.lat, PUBLIC_DECIMALS),
        "long": row.lon if reader else round(row.lon, PUBLIC_DECIMALS),
        "media_url": _media_url(shown[0]) if shown else "",
    }


def _media_url(photo) -> str:
    return external_url("cases.media", name=media_dict(photo)["url"].rsplit("/", 1)[1])


def _rows(flt: EventFilter, limit: int) -> list[dict]:
    """The requests ``flt`` selects, newest first, as the caller may see them."""
    reader = _reader()
    if reader is None and current_app.config["PUBLIC_EVENTS"] == "none":
        raise Open311Error(401, "requests are shown only with an api_key that may read them")
    with state().store.engine.connect() as conn:
        found, _ = list_events(conn, flt, _now(), limit, 0)
        mains = {r.id: _main_case(conn, r) for r in found if r.status == "merged"}
        notes = last_notes(conn, [r.id for r in found] + [m.id for m in mains.values() if m])
        photos = media_of(conn, [r.id for r in found])
    return [
        _request_row(
            r,
            notes.get(mains[r.id].id if mains.get(r.id) else r.id),
            reader,
            mains.get(r.id),
            photos[r.id],
        )
        for r in found
    ]


def _main_case(conn, row, hops: int = 50):
    """The case a merged request ends up in, following merges of merged cases; None if none."""
    main = None
    while row.status == "merged" and row.duplicate_of is not None and hops:
        found, _ = list_events(conn, EventFilter(ids=(row.duplicate_of,)), _now(), 1, 0)
        if not found:
            break
        main = row = found[0]
        hops -= 1
    return main


def _w3c(name: str) -> datetime | None:
    """A w3 datetime parameter (ISO 8601 with a zone) as aware UTC, or None."""
    raw = request.args.get(name)
    return parse_datetime(name, raw) if raw else None


@bp.get("/requests.<fmt>")
def get_requests(fmt: str):
    """Requests; the spec's defaults: the last 90 days, at most 1,000."""
    fmt = _fmt(fmt)
    ids = request.args.get("service_request_id")
    if ids:
        wanted = [parse_id("service_request_id", i.strip()) for i in ids.split(",") if i.strip()]
        flt = EventFilter(ids=tuple(wanted))
        return _render(fmt, "service_requests", "request", _rows(flt, _DEFAULT_LIMIT))
    services = tuple(c for c in (request.args.get("service_code") or "").split(",") if c)
    unknown = [c for c in services if c not in state().categories]
    if unknown:
        raise Open311Error(400, f"service_code '{unknown[0]}' does not exist")
    statuses = [s for s in (request.args.get("status") or "").split(",") if s]
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(400, f"status must be open or closed, got '{request.args['status']}'")
    closed = tuple(s for s in STATUSES if s not in OPEN)
    status = {("open",): OPEN, ("closed",): closed}.get(tuple(sorted(set(statuses))))
    start, end = _w3c("start_date"), _w3c("end_date")
    end = end or (start + timedelta(days=_MAX_DAYS) if start else _now())
    start = start or end - timedelta(days=_MAX_DAYS)
    if start > end:
        raise Open311Error(400, "start_date must be before end_date")
    if end - start > timedelta(days=_MAX_DAYS):
        raise Open311Error(400, f"start_date to end_date may not span more than {_MAX_DAYS} days")
    flt = EventFilter(category=services or None, status=status, start=start, through=end)
    return _render(fmt, "service_requests", "request", _rows(flt, _DEFAULT_LIMIT))


@bp.get("/requests/<id:request_id>.<fmt>")
def get_request(request_id: int, fmt: str):
    """One service request by id."""
    fmt = _fmt(fmt)
    rows = _rows(EventFilter(ids=(request_id,)), 1)
    if not rows:
        raise Open311Error(404, f"service_request_id '{request_id}' does not exist")
    return _render(fmt, "service_requests", "request", rows)


@bp.get("/tokens/<token>.<fmt>")
def get_token(token: str, fmt: str):
    """Requests are stored at once, so a token is the request id itself."""
    fmt = _fmt(fmt)
    try:
        request_id = parse_id("token", token)
    except InvalidInputError:
        request_id = None
    if request_id is None or not _rows(EventFilter(ids=(request_id,)), 1):
        raise Open311Error(404, f"token '{token}' does not exist")
    return _render(
        fmt, "service_requests", "request", [{"service_request_id": token, "token": token}]
    )


@bp.post("/requests.<fmt>")
def post_request(fmt: str):
    """A service request, form-encoded; ``api_key`` is a geogrid reporter token."""
    fmt = _fmt(fmt)
    form = request.form
    key = form.get("api_key")
    if not key:
        raise Open311Error(403, "api_key is required")
    user = user_for_token(state().store, key)
    if user is None or not user.can("report"):
        raise Open311Error(403, "api_key is not valid for posting requests")
    code = form.get("service_code")
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in state().categories:
        raise Open311Error(400, f"service_code '{code}' does not exist")
    if not form.get("lat") or not form.get("long"):
        raise Open311Error(400, "lat and long are required (addresses are not geocoded here)")
    name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p) or None
    item = {
        "lon": form.get("long"),
        "lat": form.get("lat"),
        "category": code,
        "description": form.get("description") or "",
        "source": "open311",
        "crs": form.get("crs") or "wgs84",
        "reporter_name": name,
        "reporter_phone": form.get("phone") or None,
    }
    if form.get("device_id") and form.get("requested_datetime"):
        item["reported_at"] = form["requested_datetime"]
    result = state().intake.submit(
        [{k: v for k, v in item.items() if v is not None}],
        user.username,
        state().index(),
        _now(),
        describe=False,
        reindex=state().index,
    )[0]
    if result.outcome == "invalid":
        raise Open311Error(400, result.error["message"])
    request_id = str(result.event["id"])
    return _render(
        fmt,
        "service_requests",
        "request",
        [
            {
                "service_request_id": request_id,
                "token": request_id,
                "service_notice": "",
                "account_id": "",
            }
        ],
        201,
    )
