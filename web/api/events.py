"""The events API: intake, reading, workflow transitions, categories and statistics."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, current_app, jsonify, request

from geogrid.cases.queries import (
    EventFilter,
    event_dict,
    get_event,
    list_events,
    media_dict,
    media_of,
)
from geogrid.cases.workflow import STATUSES
from geogrid.errors import ForbiddenError
from geogrid.parse import MAX_ID
from geogrid.policy import may_read_case, may_read_events, may_see_reporter
from geogrid.reports.metrics import stats
from web.auth import current_user, forbidden, require, unauthorized
from web.casework import act, attach_photos, form_fields, photos_from_request, saved
from web.params import (
    args,
    bad,
    bbox,
    choice,
    grid_code,
    integer,
    json_body,
    moment,
    operation,
)
from web.state import state

bp = Blueprint("events", __name__, url_prefix="/api/v1")

_PATCH_FIELDS = ("status", "note", "merge_into", "assignee", "public")


def _now():
    return current_app.config["CLOCK"]()


def _personal(user, row) -> bool:
    """Whether ``user`` sees ``row``'s reporter (the access policy)."""
    return may_see_reporter(user, row)


_EVENT = {
    "type": "object",
    "properties": {
        "lon": {"type": "number"},
        "lat": {"type": "number"},
        "crs": {"type": "string", "enum": ["wgs84", "cgcs2000", "gcj02", "bd09"]},
        "category": {"type": "string"},
        "description": {"type": "string", "maxLength": 4000},
        "source": {"type": "string"},
        "reported_at": {"type": "string", "format": "date-time"},
        "reporter_name": {"type": "string", "maxLength": 100},
        "reporter_phone": {"type": "string", "maxLength": 40},
        "idempotency_key": {"type": "string", "maxLength": 100},
    },
    "required": ["lon", "lat", "category"],
}


_PHOTOS = {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 9}
_EVENT_FORM = {
    "type": "object",
    "properties": {
        **{k: {"type": "string"} for k in _EVENT["properties"]},
        "photo": _PHOTOS,
    },
    "required": _EVENT["required"],
}


@bp.post("/events")
@operation(
    auth="report events",
    body={
        "application/json": {
            "oneOf": [_EVENT, {"type": "array", "items": _EVENT, "maxItems": 10_000}]
        },
        "multipart/form-data": _EVENT_FORM,
    },
    responses={
        201: ("the event, stored and assigned", "application/json"),
        200: ("a batch's results by index, or an event sent again", "application/json"),
    },
)
@require("report")
def post_events():
    """One event (an object) or a batch (an array, or {"events": [...]}).

    Also ``multipart/form-data``: one event, each JSON field a form field of the
    same name, with up to 9 photos in files named ``photo``.
    """
    photos = []
    if request.mimetype == "multipart/form-data":
        items, single = [form_fields()], True
        photos = photos_from_request()
    else:
        body = json_body()
        single = isinstance(body, dict) and "events" not in body
        items = [body] if single else body.get("events") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise bad("events", "expected an array of event objects")
    user = current_user()
    app_state = state()

    def attach(conn, event_id: int) -> None:
        attach_photos(conn, event_id, photos, "before", user.username, _now())

    with saved(photos) as discard:
        results = app_state.intake.submit(
            items,
            user.username,
            app_state.index(),
            _now(),
            personal=user.role == "admin",
            reindex=app_state.index,
            attach=attach if photos else None,
        )
        if photos and results[0].outcome != "created":
            discard()  # refused, or sent before: these photos belong to no new event
    if photos and results[0].outcome == "created":  # committed: the files are the rows' now
        event = results[0].event
        with app_state.store.engine.connect() as conn:
            rows = media_of(conn, [event["id"]])[event["id"]]
        event["media"] = [media_dict(m, user.role == "admin") for m in rows]
    if single:
        result = results[0]
        if result.outcome == "invalid":
            return jsonify({"error": result.error}), 400
        return jsonify(result.event), 201 if result.outcome == "created" else 200
    out = [
        {"index": r.index, "outcome": r.outcome, "event": r.event, "error": r.error}
        for r in results
    ]
    counts = {k: sum(r.outcome == k for r in results) for k in ("created", "existing", "invalid")}
    return jsonify({"results": out, **counts}), 200


_LEVELS = ("street", "community", "grid", "micro")
FILTERS = (
    grid_code("code", "events in this grid and every grid below it"),
    *(grid_code(level, f"events in this {level} (a {level} code)", level) for level in _LEVELS),
    choice("category", lambda: tuple(state().categories), None, "one event category"),
    choice("status", STATUSES, None, "one workflow status"),
    choice("overdue", ("true", "false"), None, "only overdue cases, or only those on time"),
    moment("from", "reported at or after (ISO 8601 with a zone)"),
    moment("to", "reported before (ISO 8601 with a zone)"),
    bbox(),
    integer("assignee", 1, MAX_ID, None, "the queue of one staff member (a staff id)"),
    integer("department", 1, MAX_ID, None, "the queue of one department (a department id)"),
)


def _filter(query: dict) -> EventFilter:
    code = next((query[n] for n in ("code", *_LEVELS) if query[n]), None)
    overdue = query["overdue"]
    return EventFilter(
        code=code,
        category=query["category"],
        status=query["status"],
        overdue=None if overdue is None else overdue == "true",
        start=query["from"],
        end=query["to"],
        bbox_wgs84=query["bbox"],
        assignee=query["assignee"],
        department=query["department"],
    )


def _reader():
    """The caller if they may list cases (readers, workers: their own), else an error answer."""
    user = current_user()
    if user is None:
        return None, unauthorized()
    if not may_read_events(user) and user.role != "worker":
        return None, forbidden(f"role {user.role!r} may not read events")
    return user, None


@bp.get("/events")
@operation(
    *FILTERS,
    integer("limit", 1, 1000, 100, "events per page"),
    integer("offset", 0, 10**9, 0, "events to skip"),
    choice("format", ("json", "geojson"), "json", "a page object, or a GeoJSON FeatureCollection"),
    auth="read events",
    responses={200: ("a page of events", "application/json")},
)
def get_events():
    """A page of events, newest first; ``format=geojson`` for a FeatureCollection.

    A grid worker's page holds only the cases assigned to them.
    """
    user, refused = _reader()
    if refused:
        return refused
    query = args()
    flt = _filter(query)
    if not may_read_events(user):  # a worker: their own queue, whatever else is asked
        own = user.staff_id or 0
        flt = dataclasses.replace(flt, assignee=own if flt.assignee in (None, own) else 0)
    limit, offset, fmt = query["limit"], query["offset"], query["format"]
    now = _now()
    with state().store.engine.connect() as conn:
        rows, total = list_events(conn, flt, now, limit, offset)
        media = media_of(conn, [r.id for r in rows])
    items = [event_dict(r, now, _personal(user, r), media=media[r.id]) for r in rows]
    if fmt == "geojson":
        return jsonify(
            {
                "type": "FeatureCollection",
                "numberMatched": total,
                "numberReturned": len(items),
                "features": [
                    {
                        "type": "Feature",
                        "id": e["id"],
                        "properties": e,
                        "geometry": {"type": "Point", "coordinates": [e["lon"], e["lat"]]},
                    }
                    for e in items
                ],
            }
        )
    return jsonify({"total": total, "limit": limit, "offset": offset, "events": items})


@bp.get("/events/<id:event_id>")
@operation(auth="read events", responses={200: ("the event and its history", "application/json")})
def get_one_event(event_id: int):
    """One event with its history and photos (reporter masked unless allowed)."""
    user, refused = _reader()
    if refused:
        return refused
    return jsonify(_one(user, event_id))


def _one(user, event_id: int) -> dict:
    now = _now()
    with state().store.engine.connect() as conn:
        row, history = get_event(conn, event_id, with_history=True)
        if not may_read_case(user, row):
            raise ForbiddenError(f"event {event_id} is not assigned to you")
        media = media_of(conn, [event_id])[event_id]
    return event_dict(row, now, _personal(user, row), history, media)


_ASSIGNEE = {
    "type": "object",
    "properties": {
        "staff_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "department_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
    "minProperties": 1,
    "maxProperties": 1,
}


@bp.patch("/events/<id:event_id>")
@operation(
    auth="change case status (operators; a worker: its own cases, handling and resolved)",
    body={
        "application/json": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": list(STATUSES)},
                "note": {"type": "string", "maxLength": 4000},
                "public": {"type": "boolean"},
                "merge_into": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "assignee": _ASSIGNEE,
            },
        },
        "multipart/form-data": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": list(STATUSES)},
                "note": {"type": "string", "maxLength": 4000},
                "public": {"type": "string", "enum": ["true", "false"]},
                "merge_into": {"type": "string"},
                "photo": _PHOTOS,
            },
            "required": ["status"],
        },
    },
    responses={200: ("the event after the step, with its history", "application/json")},
)
def patch_event(event_id: int):
    """A workflow step: {"status", "note", "public", "merge_into", "assignee"}.

    ``accepted`` dispatches at once by the rules; ``dispatched`` takes an
    ``assignee`` ({"staff_id": n} or {"department_id": n}) or applies the rules;
    an ``assignee`` alone reassigns the case. Multipart with ``status=resolved``
    attaches "after" photos (files named ``photo``).
    """
    user = current_user()
    if user is None:
        return unauthorized()
    if user.role not in ("worker", "operator", "admin"):
        return forbidden(f"role {user.role!r} may not change case status")
    photos = []
    if request.mimetype == "multipart/form-data":
        body = dict(request.form.items())
        if "merge_into" in body:
            body["merge_into"] = _form_int("merge_into", body["merge_into"])
        body["public"] = body.get("public") in ("1", "true", "on")
        photos = photos_from_request()
    else:
        body = json_body()
    step = _patch_fields(body)
    act(user, event_id, photos=photos, **step)
    return jsonify(_one(user, event_id))


def _form_int(field: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise bad(field, f"expected an integer, got {value!r}") from None


def _patch_fields(body) -> dict:
    """The checked fields of a PATCH body as keyword arguments of :func:`web.casework.act`."""
    if not isinstance(body, dict):
        raise bad("body", "expected a JSON object with 'status' or 'assignee'")
    unknown = sorted(set(body) - set(_PATCH_FIELDS))
    if unknown:
        raise bad(unknown[0], f"unknown field; expected some of {', '.join(_PATCH_FIELDS)}")
    target = body.get("status")
    if target is not None and target not in STATUSES:
        raise bad("status", f"expected one of {', '.join(STATUSES)}, got {target!r}")
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 4000:
        raise bad("note", "expected a string of at most 4000 characters")
    public = body.get("public", False)
    if not isinstance(public, bool):
        raise bad("public", "expected true or false")
    assignee = body.get("assignee")
    if assignee is not None and (
        not isinstance(assignee, dict)
        or len(assignee) != 1
        or next(iter(assignee)) not in ("staff_id", "department_id")
    ):
        raise bad("assignee", 'expected {"staff_id": id} or {"department_id": id}')
    if target is None and assignee is None:
        raise bad("status", f"expected one of {', '.join(STATUSES)}, or an assignee")
    return {
        "target": target,
        "note": note,
        "merge_into": body.get("merge_into"),
        "assignee": assignee,
        "public": public,
    }


@bp.get("/categories")
@operation(responses={200: ("the categories", "application/json")})
def get_categories():
    """The event categories and their deadlines per stage (hours)."""
    return jsonify({"categories": [c.as_dict() for c in state().categories.values()]})


@bp.get("/stats")
@operation(
    grid_code("code", "statistics of this grid and every grid below it"),
    moment("from", "reported at or after (ISO 8601 with a zone)"),
    moment("to", "reported before (ISO 8601 with a zone)"),
    choice("breakdown", ("true", "false"), "true", "also per street, community and grid"),
    auth="read events",
    responses={200: ("the statistics", "application/json")},
)
@require("read")
def get_stats():
    """Counts, closure and on-time rates, median time to close; per street, community, grid."""
    query = args()
    code, start, end = query["code"], query["from"], query["to"]
    if start and end and start >= end:
        raise bad("to", "must be later than 'from'")
    with state().store.engine.connect() as conn:
        return jsonify(stats(conn, _now(), code, start, end, query["breakdown"] == "true"))
