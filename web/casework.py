"""Acting on cases, shared by the events API and the case pages: one policy, one code path.

Every step is checked by :func:`geogrid.policy.may_work_case` inside the write
transaction that takes it; photos are checked whole before anything is
written, saved content-addressed under ``MEDIA_DIR`` and removed again if the
transaction fails, so a refused request leaves nothing behind.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, request

from geogrid.cases import dispatch
from geogrid.cases.media import MAX_PHOTOS, MediaStore, Photo, check_photos, distance_m
from geogrid.cases.queries import get_event
from geogrid.cases.workflow import check_merge, transition
from geogrid.errors import ForbiddenError, InvalidInputError
from geogrid.parse import MAX_ID
from geogrid.policy import may_work_case
from geogrid.storage.schema import event_media, events
from geogrid.times import to_db_time
from web.state import state

__all__ = [
    "PHOTO_FAR_M",
    "act",
    "attach_photos",
    "form_fields",
    "media_store",
    "merge",
    "photos_from_request",
]

#: form fields that are numbers in an event's JSON form
_NUMBERS = ("lon", "lat")

#: a photo whose own GPS lies farther than this from the reported point flags the case
PHOTO_FAR_M = 200.0


def media_store() -> MediaStore:
    """The photo folder: ``MEDIA_DIR``, by default ``instance/media``."""
    root = current_app.config["MEDIA_DIR"] or Path(current_app.instance_path) / "media"
    return MediaStore(root)


def form_fields() -> dict:
    """A multipart event as its JSON object: numbers parsed, an empty field left out.

    A number that does not parse stays text, for the event's own checks to name.
    """
    item = {}
    for key, value in request.form.items():
        if value == "":
            continue  # a form sends every field; an empty one was not given
        try:
            item[key] = float(value) if key in _NUMBERS else value
        except ValueError:
            item[key] = value
    return item


def photos_from_request(field: str = "photo", limit: int = MAX_PHOTOS) -> list[Photo]:
    """The request's photo files, each checked (all or nothing); at most ``limit``.

    A part with neither a name nor a byte is a file chooser left empty, and is
    skipped; a nameless part with data is checked like any other.
    """
    files = [(f.filename, f.read()) for f in request.files.getlist(field)]
    files = [(name, data) for name, data in files if name or data]
    if len(files) > limit:
        raise InvalidInputError(
            f"{field}: {len(files)} files; at most {limit} photos per request",
            details=[{"field": field, "message": f"at most {limit} photos"}],
        )
    return check_photos(
        [(name or f"{field} {i + 1}", data) for i, (name, data) in enumerate(files)]
    )


@contextmanager
def saved(photos: list[Photo]):
    """Save ``photos`` for the duration of a write; remove what this saved if it fails.

    Yields a function that removes them too (a write that stored nothing
    without raising, such as an event refused by its own checks).
    """
    store = media_store()
    new = store.save(photos) if photos else []

    def discard() -> None:
        # another request may have stored the same photo meanwhile: its file stays
        with state().store.engine.connect() as conn:
            kept = set(
                conn.scalars(
                    sa.select(event_media.c.sha256).where(
                        event_media.c.sha256.in_([p.sha256 for p in photos])
                    )
                )
            )
        store.remove([path for path in new if path.name.split(".")[0] not in kept])

    try:
        yield discard
    except BaseException:
        if new:
            discard()
        raise


def attach_photos(conn, event_id: int, photos: list[Photo], kind: str, actor: str, now) -> None:
    """Record ``photos`` of ``event_id``; flag the case if one was taken far from its point.

    "After" photos count too: a resolve photographed elsewhere is what a check looks for.
    """
    if not photos:
        return
    conn.execute(
        sa.insert(event_media),
        [
            {
                "event_id": event_id,
                "kind": kind,
                "sha256": p.sha256,
                "format": p.format,
                "width": p.width,
                "height": p.height,
                "gps_lon": p.gps[0] if p.gps else None,
                "gps_lat": p.gps[1] if p.gps else None,
                "created_at": to_db_time(now),
                "created_by": actor,
            }
            for p in photos
        ],
    )
    lon, lat = conn.execute(
        sa.select(events.c.lon, events.c.lat).where(events.c.id == event_id)
    ).one()
    if any(p.gps and distance_m(lon, lat, *p.gps) > PHOTO_FAR_M for p in photos):
        conn.execute(sa.update(events).where(events.c.id == event_id).values(photo_far=True))


def _forbid(user, row, target) -> ForbiddenError:
    if user.role == "worker":
        return ForbiddenError(
            f"event {row.id}: a grid worker may only start and resolve the cases assigned to them"
        )
    return ForbiddenError(
        f"event {row.id} is in street {row.street or '(none)'}, outside your scope {user.scope}"
    )


def act(
    user,
    event_id: int,
    target: str | None,
    note: str = "",
    merge_into: int | None = None,
    assignee: dict | None = None,
    public: bool = False,
    photos: list[Photo] = (),
) -> None:
    """One step on a case: a status change, a dispatch, or a reassignment (``target`` None).

    ``assignee`` is ``{"staff_id": n}`` or ``{"department_id": n}``; ``photos``
    are "after" photos, with ``resolved`` only.
    """
    if photos and target != "resolved":
        raise InvalidInputError(
            "photo: photos are attached to an event when it is reported or resolved",
            details=[{"field": "photo", "message": "only with status resolved"}],
        )
    now, app_state = current_app.config["CLOCK"](), state()
    with saved(list(photos)), app_state.store.write() as conn:
        row, _ = get_event(conn, event_id, for_update=True)
        if not may_work_case(user, row, target):
            raise _forbid(user, row, target)
        if public and user.role == "worker":
            raise ForbiddenError("public: an operator decides which notes residents may read")
        category = app_state.categories[row.category]
        if merge_into is not None and target != "merged":
            check_merge(row.id, target, merge_into, lambda _: None)  # names the mistake
        chosen = dispatch.pick(conn, **assignee) if assignee else None
        if chosen is not None and target not in (None, "dispatched"):
            raise InvalidInputError(
                "assignee: only with status 'dispatched', or alone to reassign the case",
                details=[{"field": "assignee", "message": "only with dispatched, or alone"}],
            )
        if target is None:
            if chosen is None:
                raise InvalidInputError(
                    "status: expected a status, or an assignee to reassign the case",
                    details=[{"field": "status", "message": "required without an assignee"}],
                )
            dispatch.reassign(conn, row, chosen, user.username, now, note, public)
        elif target == "accepted":
            dispatch.accept(conn, row, user.username, now, category, note, public)
        elif target == "dispatched":
            dispatch.dispatch(conn, row, user.username, now, category, chosen, note, public)
        else:
            if target == "merged" and merge_into is not None:
                _check_merge_scope(conn, user, merge_into)
            transition(
                conn, row, target, user.username, now, category, note, merge_into, public=public
            )
            attach_photos(conn, event_id, list(photos), "after", user.username, now)


def _check_merge_scope(conn, user, merge_into) -> None:
    if type(merge_into) is not int or not 1 <= merge_into <= MAX_ID:
        return  # the workflow names what is wrong with it
    found = conn.execute(sa.select(events).where(events.c.id == merge_into)).first()
    if found is not None and not may_work_case(user, found, "merged"):
        raise ForbiddenError(
            f"merge_into: event {merge_into} is in street {found.street or '(none)'}, "
            f"outside your scope {user.scope}"
        )


def merge(user, main_id: int, ids: list[int], note: str = "") -> int:
    """Merge the cases ``ids`` into ``main_id`` in one transaction; how many were merged.

    Each must be open and not yet dispatched (reported or accepted) and in the
    user's scope; one refusal and none is merged.
    """
    ids = sorted(set(ids) - {main_id})
    if not ids:
        raise InvalidInputError(
            "ids: choose at least one case to merge",
            details=[{"field": "ids", "message": "at least one case other than the main one"}],
        )
    now, app_state = current_app.config["CLOCK"](), state()
    with app_state.store.write() as conn:
        main, _ = get_event(conn, main_id, for_update=True)
        if not may_work_case(user, main, "merged"):
            raise _forbid(user, main, "merged")
        for event_id in ids:
            row, _ = get_event(conn, event_id, for_update=True)
            if not may_work_case(user, row, "merged"):
                raise _forbid(user, row, "merged")
            transition(
                conn,
                row,
                "merged",
                user.username,
                now,
                app_state.categories[row.category],
                note or f"与 #{main_id} 重复，合并 / duplicate of #{main_id}",
                main_id,
            )
    return len(ids)
