"""The case workbench: the queue (``/cases``), one case (``/cases/<id>``), its actions and photos.

Server-rendered, Chinese first with English, usable at 390 px. Browser
sessions write through these forms (CSRF-protected; see :mod:`web.auth`), and
every action goes through :mod:`web.casework`, the same code and policy as
``PATCH /api/v1/events/<id>``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import datetime, time, timedelta

import shapely
import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from geogrid.cases import dispatch
from geogrid.cases.queries import (
    EventFilter,
    event_dict,
    get_event,
    list_events,
    media_of,
)
from geogrid.cases.reports import CHINA
from geogrid.cases.workflow import OPEN, STATUSES
from geogrid.errors import ForbiddenError, GeoGridError, NotFoundError
from geogrid.parse import MAX_ID
from geogrid.policy import may_read_case, may_read_events, may_see_reporter, may_work_case
from geogrid.storage.schema import event_media, events, generations, grids
from web.auth import current_user
from web.casework import act, media_store, merge, photos_from_request
from web.state import state

bp = Blueprint("cases", __name__)

PAGE = 30
_MAX_PAGE = 100_000
STATUS_NAMES = {
    "reported": "待受理 Reported",
    "accepted": "已立案 Accepted",
    "dispatched": "已派遣 Dispatched",
    "handling": "处置中 Handling",
    "resolved": "待核查 Resolved",
    "closed": "已结案 Closed",
    "rejected": "不予立案 Rejected",
    "merged": "已合并 Merged",
}
#: form action → workflow target (None: a reassignment)
ACTIONS = {
    "accept": "accepted",
    "reject": "rejected",
    "dispatch": "dispatched",
    "start": "handling",
    "resolve": "resolved",
    "pass": "closed",
    "fail": "handling",
    "reassign": None,
}


def _user_or_login():
    user = current_user()
    if user is None:
        abort(redirect(url_for("pages.login", next=request.full_path.rstrip("?"))))
    if not may_read_events(user) and user.role != "worker":
        abort(403)
    return user


def _now() -> datetime:
    return current_app.config["CLOCK"]()


def _queue_filter(user) -> tuple[EventFilter, dict]:
    """The queue's filter from the query string, inside what ``user`` may see."""
    cats = state().categories
    form = {
        k: request.args.get(k, "").strip() for k in ("status", "category", "grid", "from", "to")
    }
    status = form["status"] if form["status"] in (*STATUSES, "all") else "open"
    form["status"] = status
    code = form["grid"] if re.fullmatch(r"[0-9]{6,17}|[0-9]{12}Z[0-9]{2}", form["grid"]) else None
    scope = None if user.role in ("admin", "worker") else user.scope
    if scope and code and not code.startswith(scope):
        code = None
    flt = EventFilter(
        code=code or scope,
        category=form["category"] if form["category"] in cats else None,
        status=OPEN if status == "open" else None if status == "all" else status,
        start=_day(form["from"]),
        end=_day(form["to"], 1),
        assignee=(user.staff_id or 0) if user.role == "worker" else None,
    )
    return flt, form


def _day(text: str, plus: int = 0) -> datetime | None:
    """The start of day ``text`` (``YYYY-MM-DD``) in China Standard Time, plus ``plus`` days.

    None for anything else, or for a year outside 1900–2200 (as the API's times).
    """
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
        if not 1900 <= day.year <= 2200:
            return None
        day += timedelta(days=plus)
    except (ValueError, OverflowError):
        return None
    return datetime.combine(day, time(), tzinfo=CHINA)


def _int(text: str) -> int | None:
    """``text`` as an id (ASCII digits, 1 to :data:`MAX_ID`), or None."""
    if not re.fullmatch(r"[0-9]{1,10}", text or ""):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


@bp.get("/cases")
def queue():
    """The logged-in user's queue: their cases, or their street's; overdue first."""
    user = _user_or_login()
    flt, form = _queue_filter(user)
    page = min(_int(request.args.get("page", "")) or 1, _MAX_PAGE)
    now = _now()
    with state().store.engine.connect() as conn:
        # open work: overdue first; every case or a final status: newest first
        order = "queue" if form["status"] in ("open", *OPEN) else "newest"
        rows, total = list_events(conn, flt, now, PAGE, (page - 1) * PAGE, order=order)
        counts = _counts(conn, dataclasses.replace(flt, status=None), now)
    cases = [event_dict(r, now, may_see_reporter(user, r)) for r in rows]
    map_args = {  # the map with the same filters (its "to" is exclusive, as here)
        k: v
        for k, v in (
            ("code", flt.code),
            ("category", flt.category),
            ("from", flt.start.isoformat() if flt.start else None),
            ("to", flt.end.isoformat() if flt.end else None),
        )
        if v
    }
    if form["status"] in STATUSES:
        map_args["status"] = form["status"]
    return render_template(
        "cases.html",
        user=user,
        cases=cases,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PAGE)),
        counts=counts,
        form=form,
        query={k: v for k, v in form.items() if v},
        statuses=STATUS_NAMES,
        categories=state().categories,
        names=state().names(),
        map_url=url_for("map.index", **map_args),
    )


def _counts(conn, flt: EventFilter, now) -> dict[str, int]:
    found = dict(
        conn.execute(
            sa.select(events.c.status, sa.func.count())
            .where(*flt.where(now))
            .group_by(events.c.status)
        ).all()
    )
    return {s: found.get(s, 0) for s in STATUSES}


def _names(conn, codes: list[str]) -> dict[str, str]:
    active = sa.select(generations.c.id).where(generations.c.active).scalar_subquery()
    rows = conn.execute(
        sa.select(grids.c.code, grids.c.name).where(
            grids.c.code.in_(codes),
            grids.c.generation_low <= active,
            grids.c.generation_high >= active,
        )
    )
    return dict(rows.all())


def _shape(code: str | None) -> dict | None:
    if not code:
        return None
    try:
        grid = state().store.get_grid(code)
    except (NotFoundError, GeoGridError):
        return None
    return shapely.geometry.mapping(grid.geometry)


def _duplicates(conn, row, now) -> list[dict]:
    """Open, undispatched cases likely to report the same thing (nearby, same category)."""
    finder = state().intake.finder
    with finder.locked():
        finder.sync()
        near = finder.find(row.category, row.lon, row.lat, row.reported_at, exclude=row.id)
    ids = {i for _, i in near}
    flagged = conn.scalars(sa.select(events.c.id).where(events.c.likely_duplicate_of == row.id))
    ids |= set(flagged)
    if not ids:
        return []
    flt = EventFilter(ids=tuple(sorted(ids))[:500], status=("reported", "accepted"))
    found, _ = list_events(conn, flt, now, 200, 0, order="id")
    return [event_dict(r, now) for r in found]


@bp.get("/cases/<id:event_id>")
def case(event_id: int):
    """One case: its map, grid chain, reporter (per the policy), photos, history and actions."""
    user = _user_or_login()
    now = _now()
    with state().store.engine.connect() as conn:
        row, history = get_event(conn, event_id, with_history=True)
        if not may_read_case(user, row):
            abort(403)
        media = media_of(conn, [event_id])[event_id]
        data = event_dict(row, now, may_see_reporter(user, row), history, media)
        chain = [c for c in (row.street, row.community, row.grid, row.micro, row.dedicated) if c]
        names = _names(conn, chain)
        duplicates = _duplicates(conn, row, now) if may_work_case(user, row, "merged") else []
        choices = dispatch.candidates(conn, row) if may_work_case(user, row, None) else []
    return render_template(
        "case.html",
        user=user,
        case=data,
        chain=[(c, names.get(c, "")) for c in chain],
        shape=_shape(row.micro or row.dedicated or row.grid),
        actions=_allowed(user, row),
        choices=choices,
        duplicates=duplicates,
        statuses=STATUS_NAMES,
        category=state().categories[row.category],
        vendor=url_for("static", filename="vendor"),
    )


def _allowed(user, row) -> list[str]:
    """The form actions ``user`` may take on ``row`` now."""
    by_status = {
        "reported": ("accept", "reject"),
        "accepted": ("dispatch", "reject"),
        "dispatched": ("start", "reassign"),
        "handling": ("resolve", "reassign"),
        "resolved": ("pass", "fail"),
    }
    return [a for a in by_status.get(row.status, ()) if may_work_case(user, row, ACTIONS[a])]


def _assignee_field(value: str) -> dict | None:
    kind, _, number = value.partition(":")
    found = _int(number)
    if kind in ("s", "d") and found is not None:
        return {"staff_id" if kind == "s" else "department_id": found}
    return None


@bp.post("/cases/<id:event_id>/step")
def step(event_id: int):
    """One action from the case page's forms (CSRF-checked), through :func:`web.casework.act`."""
    user = _user_or_login()
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400)
    try:
        act(
            user,
            event_id,
            ACTIONS[action],
            note=request.form.get("note", "").strip(),
            assignee=_assignee_field(request.form.get("assignee", "")),
            public=request.form.get("public") == "1",
            photos=photos_from_request() if action == "resolve" else [],
        )
    except ForbiddenError:
        abort(403)
    except GeoGridError as err:
        flash(f"未能完成 / Not done: {err.message}", "error")
    else:
        flash(f"已完成 / Done: {action}", "ok")
    return redirect(url_for("cases.case", event_id=event_id), 303)


@bp.post("/cases/<id:event_id>/merge")
def merge_cases(event_id: int):
    """Merge the chosen likely duplicates into this case, in one step."""
    user = _user_or_login()
    ids = [i for i in map(_int, request.form.getlist("ids")) if i is not None]
    try:
        done = merge(user, event_id, ids, request.form.get("note", "").strip())
    except ForbiddenError:
        abort(403)
    except GeoGridError as err:
        flash(f"未能合并 / Not merged: {err.message}", "error")
    else:
        flash(f"已合并 {done} 件 / {done} merged into #{event_id}", "ok")
    return redirect(url_for("cases.case", event_id=event_id), 303)


_MEDIA_NAME = re.compile(r"([0-9a-f]{64})\.(jpg|png|webp|thumb\.jpg)")


@bp.get("/media/<name>")
def media(name: str):
    """A case photo or its thumbnail, to whoever may see it (an "after" photo: anyone)."""
    found = _MEDIA_NAME.fullmatch(name)
    if not found:
        abort(404)
    sha, ext = found.groups()
    user = current_user()
    with state().store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(event_media.c.kind, event_media.c.format, events)
            .join(events, events.c.id == event_media.c.event_id)
            .where(event_media.c.sha256 == sha)
        ).all()
    if not rows:
        abort(404)
    if not any(r.kind == "after" or may_read_case(user, r) for r in rows):
        abort(403 if user else 404)
    fmt = rows[0].format
    try:
        data, content_type = media_store().read(sha, fmt, thumbnail=ext == "thumb.jpg")
    except NotFoundError:
        abort(404)
    response = Response(data, content_type=content_type)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
