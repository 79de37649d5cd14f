"""The events API: intake, reading, workflow transitions, categories and statistics."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from geogrid import codes
from geogrid.cases.queries import EventFilter, event_dict, get_event, list_events
from geogrid.cases.workflow import STATUSES, transition
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.parse import MAX_ID
from geogrid.policy import may_act_on, may_see_personal
from geogrid.reports.metrics import stats
from web.auth import current_user, forbidden, require
from web.params import bad, get_bbox, get_choice, get_int, get_time, json_body
from web.state import state

bp = Blueprint("events", __name__, url_prefix="/api/v1")

_PATCH_FIELDS = ("status", "note", "merge_into")


def _now():
    return current_app.config["CLOCK"]()


def _personal(user, row) -> bool:
    """Whether ``user`` sees ``row``'s reporter (the access policy)."""
    return may_see_personal(user, row.district, row.street)


@bp.post("/events")
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


def _filter() -> EventFilter:
    code = None
    for name in ("code", "street", "community", "grid", "micro"):
        value = request.args.get(name)
        if not value:
            continue
        try:
            level = codes.level_of(value)
        except InvalidInputError as err:
            raise bad(name, str(err)) from None
        if name != "code" and level != name:
            raise bad(name, f"expected a {name} code, got the {level} code {value!r}")
        code = value
    overdue = get_choice("overdue", ("true", "false"))
    return EventFilter(
        code=code,
        category=get_choice("category", tuple(state().categories)),
        status=get_choice("status", STATUSES),
        overdue=None if overdue is None else overdue == "true",
        start=get_time("from"),
        end=get_time("to"),
        bbox_wgs84=get_bbox(),
    )


@bp.get("/events")
@require("read")
def get_events():
    """A page of events, newest first; ``format=geojson`` for a FeatureCollection."""
    flt = _filter()
    limit = get_int("limit", 100, 1, 1000)
    offset = get_int("offset", 0, 0, 10**9)
    fmt = get_choice("format", ("json", "geojson"), "json")
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
@require("read")
def get_one_event(event_id: int):
    """One event with its history (reporter masked unless allowed)."""
    user, now = current_user(), _now()
    with state().store.engine.connect() as conn:
        row, history = get_event(conn, event_id, with_history=True)
    return jsonify(event_dict(row, now, _personal(user, row), history))


@bp.patch("/events/<id:event_id>")
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
def get_categories():
    """The event categories and their deadlines per stage (hours)."""
    return jsonify({"categories": [c.as_dict() for c in state().categories.values()]})


@bp.get("/stats")
@require("read")
def get_stats():
    """Counts, closure and on-time rates, median time to close; per street, community, grid."""
    code = request.args.get("code") or None
    if code is not None:
        try:
            codes.validate_code(code)
        except InvalidInputError as err:
            raise bad("code", str(err)) from None
    start, end = get_time("from"), get_time("to")
    if start and end and start >= end:
        raise bad("to", "must be later than 'from'")
    with state().store.engine.connect() as conn:
        return jsonify(stats(conn, _now(), code, start, end))
