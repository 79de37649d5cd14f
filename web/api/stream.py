"""The live stream: every new event and every change of one, as server-sent events.

``GET /api/v1/stream`` polls the store's change sequence (one counter, raised by
every write transaction on both backends; events carry the value of the
transaction that last wrote them) and sends each event written since, in
sequence order, with the sequence as its ``id:``. A client that reconnects sends
``Last-Event-ID`` and resumes exactly where it was: sequences, unlike event ids,
follow commit order on PostgreSQL too (writers queue on the counter's row).

A stream holds one of its worker's threads, never a database connection: each
poll borrows a pooled connection and gives it back. A worker serves at most
``STREAM_SLOTS`` streams at once (the rest of its threads stay for requests;
more answer 503 with Retry-After), and each stream ends after
``STREAM_SECONDS``, when the browser reconnects by itself, so no thread is held
forever and several gunicorn workers share the clients.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time

from flask import Blueprint, Response, current_app, request, stream_with_context

from geogrid.cases.queries import EventFilter, event_dict, select_events
from geogrid.coords import from_wgs84
from geogrid.policy import may_read_events, may_see_reporter
from geogrid.storage.schema import events
from web.api.events import _reader
from web.params import args, bad, choice, grid_code, integer, operation
from web.state import state

bp = Blueprint("stream", __name__, url_prefix="/api/v1")

#: more events than this in one poll are not sent one by one: the client reloads
BURST = 200
#: set when the worker process stops (web.wsgi): every stream ends at its next poll
STOPPING = threading.Event()
_slots_lock = threading.Lock()
_SEQUENCE = re.compile(r"[0-9]{1,18}")


def _slot() -> threading.BoundedSemaphore:
    """The stream slots of this app in this worker process (its config says how many)."""
    with _slots_lock:
        return current_app.extensions.setdefault(
            "geogrid.stream_slots",
            threading.BoundedSemaphore(int(current_app.config["STREAM_SLOTS"])),
        )


@bp.get("/stream")
@operation(
    grid_code("code", "events in this grid and every grid below it"),
    choice("category", lambda: tuple(state().categories), None, "one event category"),
    choice("crs", ("wgs84", "gcj02"), "wgs84", "the coordinates' system (gcj02: Amap's tiles)"),
    integer(
        "since",
        0,
        2**62,
        None,
        "resume after this change sequence (the Last-Event-ID header wins); default: now",
    ),
    auth="read events",
    responses={
        200: ("server-sent events: event, resync and heartbeat comments", "text/event-stream"),
        503: ("this worker already serves its streams; retry later", "application/json"),
    },
)
def get_stream():
    """New and changed events, as they are committed (text/event-stream)."""
    user, refused = _reader()
    if refused:
        return refused
    query = args()
    flt = EventFilter(code=query["code"], category=query["category"])
    crs = query["crs"]
    if not may_read_events(user):  # a worker: their own cases only
        flt = dataclasses.replace(flt, assignee=user.staff_id or 0)
    store = state().store
    last, now_seq = _resume_from(query["since"]), store.change_seq()
    if last is None:
        last = now_seq
    if request.method == "HEAD":  # no body will be read: no slot taken
        return Response(mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})
    slot = _slot()
    if not slot.acquire(blocking=False):
        answer = current_app.json.response(
            {"error": "busy", "message": "too many live streams on this worker; retry shortly"}
        )
        answer.status_code = 503
        answer.headers["Retry-After"] = "5"
        return answer
    config = current_app.config
    poll, seconds = float(config["STREAM_POLL_SECONDS"]), float(config["STREAM_SECONDS"])
    clock = config["CLOCK"]

    released = threading.Event()

    def release():  # once, whether the stream ends, the client goes or nothing is read
        if not released.is_set():
            released.set()
            slot.release()

    def generate():
        try:
            yield f"retry: 2000\nid: {min(last, now_seq)}\n: geogrid live stream\n\n"
            if last > now_seq:  # a resume point the store has not reached (a restored store)
                yield f'id: {now_seq}\nevent: resync\ndata: {{"ahead": true}}\n\n'
            begin = min(last, now_seq)
            yield from _follow(store, flt, user, begin, (poll, seconds, clock, crs))
        finally:
            release()

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.call_on_close(release)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each message on at once
    return response


def _resume_from(since: int | None) -> int | None:
    header = request.headers.get("Last-Event-ID")
    if header is None:
        return since
    if not _SEQUENCE.fullmatch(header):
        raise bad("Last-Event-ID", "must be a change sequence this stream sent (a whole number)")
    return int(header)


def _follow(store, flt: EventFilter, user, last: int, how: tuple):
    """Messages until ``seconds`` have passed: events past ``last``, a heartbeat now and then."""
    poll, seconds, clock, crs = how
    deadline = time.monotonic() + seconds
    beat = time.monotonic()
    while time.monotonic() < deadline and not STOPPING.is_set():
        seq = store.change_seq()  # a pooled connection, returned at once
        if seq > last:
            yield from _changed(store, flt, user, (last, seq), clock(), crs)
            last = seq
            beat = time.monotonic()
        elif time.monotonic() - beat > 15:
            yield ": heartbeat\n\n"  # keeps proxies from closing an idle stream
            beat = time.monotonic()
        time.sleep(poll)


def _changed(store, flt: EventFilter, user, span: tuple[int, int], now, crs: str):
    last, seq = span
    where = [*flt.where(now), events.c.change_seq > last, events.c.change_seq <= seq]
    query = select_events().where(*where).order_by(events.c.change_seq, events.c.id)
    with store.engine.connect() as conn:  # one read: at most one row past the burst
        rows = conn.execute(query.limit(BURST + 1)).all()
    if len(rows) > BURST:  # a bulk import or a redraw: the client reloads what it shows
        yield f"id: {seq}\nevent: resync\ndata: {json.dumps({'more_than': BURST})}\n\n"
        return
    for i, row in enumerate(rows):
        data = event_dict(row, now, may_see_reporter(user, row))
        if crs != "wgs84":
            x, y = from_wgs84(data["lon"], data["lat"], crs)
            data["lon"], data["lat"] = round(float(x), 7), round(float(y), 7)
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
        # the id only on the last event of its transaction: a client that drops in the middle
        # of a batch resumes before it and gets the batch again, never a part of it
        whole = i + 1 == len(rows) or rows[i + 1].change_seq != row.change_seq
        head = f"id: {row.change_seq}\n" if whole else ""
        yield f"{head}event: event\ndata: {text}\n\n"
    if not rows or rows[-1].change_seq != seq:
        yield f"id: {seq}\n: up to date\n\n"
