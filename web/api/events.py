"""The events API: intake, reading, workflow transitions, categories and statistics."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from geogrid.cases.queries import EventFilter, event_dict, get_event, list_events
from geogrid.cases.workflow import STATUSES, transition
from geogrid.errors import NotFoundError
from geogrid.parse import MAX_ID
from geogrid.policy import may_act_on, may_see_personal
from geogrid.reports.metrics import stats
from web.auth import current_user, forbidden, require
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

_PATCH_FIELDS = ("status", "note", "merge_into")


def _now():
    return current_app.config["CLOCK"]()


def _personal(user, row) -> bool:
    """Whether ``user`` sees ``row``'s reporter (the access policy)."""
    return may_see_personal(user, row.district, row.street)


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


@bp.post("/events")
@operation(
    auth="report events",
    body=(
        "application/json",
        {"oneOf": [_EVENT, {"type": "array", "items": _EVENT, "maxItems": 10_000}]},
    ),
    responses={
        201: ("the event, stored and assigned", "application/json"),
        200: ("a batch's results by index, or an event sent again", "application/json"),
    },
)
@require("report")
def post_events():
    """One event (an object) or a batch (an array, or {"events": [...]})."""
    body = json_body()
    single = isinstance(body, dict) and "events" not in body
    items = [body] if single else body.get("events") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise bad("events", "expected an array of event objects")
    user = current_user()
    app_state = state()
    results = app_state.intake.submit(
        items,
        user.username,
        app_state.index(),
        _now(),
        personal=user.role == "admin",
        reindex=app_state.index,
    )
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
    )


@bp.get("/events")
@operation(
    *FILTERS,
    integer("limit", 1, 1000, 100, "events per page"),
    integer("offset", 0, 10**9, 0, "events to skip"),
    choice("format", ("json", "geojson"), "json", "a page object, or a GeoJSON FeatureCollection"),
    auth="read events",
    responses={200: ("a page of events", "application/json")},
)
@require("read")
def get_events():
    """A page of events, newest first; ``format=geojson`` for a FeatureCollection."""
    query = args()
    flt = _filter(query)
    limit, offset, fmt = query["limit"], query["offset"], query["format"]
    user, now = current_user(), _now()
    with state().store.engine.connect() as conn:
        rows, total = list_events(conn, flt, now, limit, offset)
    items = [event_dict(r, now, _personal(user, r)) for r in rows]
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
@require("read")
def get_one_event(event_id: int):
    """One event with its history (reporter masked unless allowed)."""
    user, now = current_user(), _now()
    with state().store.engine.connect() as conn:
        row, history = get_event(conn, event_id, with_history=True)
    return jsonify(event_dict(row, now, _personal(user, row), history))


@bp.patch("/events/<id:event_id>")
@operation(
    auth="change case status",
    body=(
        "application/json",
        {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": list(STATUSES)},
                "note": {"type": "string", "maxLength": 4000},
                "merge_into": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            },
            "required": ["status"],
        },
    ),
    responses={200: ("the event after the step, with its history", "application/json")},
)
@require("handle")
def patch_event(event_id: int):
    """A workflow transition: {"status": ..., "note": ..., "merge_into": id}."""
    body = json_body()
    if not isinstance(body, dict):
        raise bad("body", "expected a JSON object with 'status'")
    unknown = sorted(set(body) - set(_PATCH_FIELDS))
    if unknown:
        raise bad(unknown[0], f"unknown field; expected some of {', '.join(_PATCH_FIELDS)}")
    target = body.get("status")
    if target not in STATUSES:
        raise bad("status", f"expected one of {', '.join(STATUSES)}, got {target!r}")
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 4000:
        raise bad("note", "expected a string of at most 4000 characters")
    user, now = current_user(), _now()
    store = state().store
    with store.write() as conn:
        row, _ = get_event(conn, event_id, for_update=True)
        if not may_act_on(user, row.district, row.street):
            return forbidden(
                f"event {event_id} is in street {row.street or '(none)'}, "
                f"outside your scope {user.scope}"
            )
        merge_into = body.get("merge_into")
        if target == "merged" and type(merge_into) is int and 0 < merge_into <= MAX_ID:
            other = _row_or_none(conn, merge_into)
            if other is not None and not may_act_on(user, other.district, other.street):
                return forbidden(
                    f"merge_into: event {merge_into} is in street {other.street or '(none)'}, "
                    f"outside your scope {user.scope}"
                )
        transition(
            conn,
            row,
            target,
            user.username,
            now,
            state().categories[row.category],
            note=note,
            merge_into=body.get("merge_into"),
        )
    with store.engine.connect() as conn:
        row, history = get_event(conn, event_id, with_history=True)
    return jsonify(event_dict(row, now, _personal(user, row), history))


def _row_or_none(conn, event_id: int):
    """The row of ``event_id``, or None (the workflow then names the missing case)."""
    try:
        return get_event(conn, event_id)[0]
    except NotFoundError:
        return None


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
        return jsonify(stats(conn, _now(), code, start, end))
