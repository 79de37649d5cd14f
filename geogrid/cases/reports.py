"""Residents' reports: tracking numbers, rate limits, and what a resident may see of a case.

A report from the public page is an event like any other (source ``web``); it
also gets a tracking number, the date in China Standard Time and six random
characters of Crockford's base 32 (``20261201-7KQ2M9``): one number tells
nothing of another. The public view of a case (:func:`public_report`) carries
its status, category, description, grid, times, the public steps of its
history (no actor, no assignee, only notes marked public), its "after" photos
and its expected completion; never a reporter's name or phone. Whoever holds
the number sees this: it is the resident's receipt. A report merged into another
follows that case.

Examples
--------
>>> parse_tracking(" 20261201-7kq2m9 ")
'20261201-7KQ2M9'
>>> parse_tracking("20261201-7KQ2MI") is None  # I is not in the alphabet
True
>>> parse_rate("10/hour")
(10, datetime.timedelta(seconds=3600))
"""

from __future__ import annotations

import math
import re
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from geogrid.cases.queries import get_event, media_dict, media_of
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.storage.schema import event_history, events, rate_counts
from geogrid.storage.store import Store
from geogrid.times import to_db_time, to_iso, utc

__all__ = [
    "ALPHABET",
    "CHINA",
    "RateLimit",
    "assign_tracking",
    "grid_of",
    "new_tracking",
    "parse_rate",
    "parse_tracking",
    "public_report",
]

#: Crockford's base 32: no I, L, O or U (nothing to misread on a phone screen)
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: the district's clock for the date part of a number
CHINA = timezone(timedelta(hours=8), "CST")
_TRACKING = re.compile(rf"[0-9]{{8}}-[{ALPHABET}]{{6}}")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_MAX_CHAIN = 50  # merges followed from a report to the case that carries it


def new_tracking(now: datetime) -> str:
    """A fresh tracking number for a report made at ``now``."""
    day = utc(now).astimezone(CHINA).strftime("%Y%m%d")
    return f"{day}-{''.join(secrets.choice(ALPHABET) for _ in range(6))}"


def parse_tracking(text: object) -> str | None:
    """``text`` as a well-formed tracking number (upper case), or None."""
    if not isinstance(text, str):
        return None
    number = text.strip().upper()
    return number if _TRACKING.fullmatch(number) else None


def assign_tracking(conn: sa.Connection, event_id: int, now: datetime) -> str:
    """Give event ``event_id`` a tracking number no other event has (in its transaction)."""
    while True:
        number = new_tracking(now)
        taken = conn.scalar(sa.select(events.c.id).where(events.c.tracking == number))
        if taken is None:
            conn.execute(sa.update(events).where(events.c.id == event_id).values(tracking=number))
            return number


def parse_rate(text: object, setting: str = "REPORT_RATE_LIMIT") -> tuple[int, timedelta]:
    """``"10/hour"`` as (10, one hour); also ``second``, ``minute``, ``day``."""
    found = re.fullmatch(r"\s*([0-9]{1,6})\s*/\s*(second|minute|hour|day)s?\s*", str(text))
    if not found or int(found.group(1)) < 1:
        raise InvalidInputError(
            f"{setting} must read like '10/hour' (a count per second, minute, hour or day), "
            f"got {text!r}"
        )
    return int(found.group(1)), timedelta(seconds=_UNITS[found.group(2)])


class RateLimit:
    """``limit`` requests per ``window`` and key (a client address, a phone), counted in the store.

    A fixed window per key, started by its first counted request. :meth:`wait`
    only reads; :meth:`count` runs inside the transaction that stores what is
    counted, so a refused request (a 429, a 400) never counts. Every worker and
    host shares the counts.
    """

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit, self.window = limit, window

    def wait(self, conn: sa.Connection, keys: list[str], now: datetime) -> int:
        """Seconds until every key may make a request again; 0 if they may now."""
        rows = conn.execute(sa.select(rate_counts).where(rate_counts.c.key.in_(keys))).all()
        waits = [
            (utc(r.window_start) + self.window - now).total_seconds()
            for r in rows
            if r.hits >= self.limit and utc(r.window_start) + self.window > now
        ]
        return max(1, math.ceil(max(waits))) if waits else 0

    def count(self, conn: sa.Connection, keys: list[str], now: datetime) -> None:
        """Count one request against each of ``keys`` (in the caller's write transaction)."""
        for key in keys:
            try:
                with conn.begin_nested():  # two workers may see a key's first request at once
                    conn.execute(
                        sa.insert(rate_counts).values(key=key, window_start=to_db_time(now), hits=1)
                    )
                continue
            except sa.exc.IntegrityError:
                pass  # counted before (or by the other one just now)
            row = conn.execute(
                sa.select(rate_counts).where(rate_counts.c.key == key).with_for_update()
            ).one()
            fresh = utc(row.window_start) + self.window <= now
            conn.execute(
                sa.update(rate_counts)
                .where(rate_counts.c.key == key)
                .values(
                    window_start=to_db_time(now) if fresh else row.window_start,
                    hits=1 if fresh else row.hits + 1,
                )
            )

    def take(self, store: Store, keys: list[str], now: datetime) -> int:
        """:meth:`wait`, and if it is 0 :meth:`count`, in one write of its own."""
        with store.write(changes=False) as conn:
            wait = self.wait(conn, keys, now)
            if not wait:
                self.count(conn, keys, now)
        return wait


def _public_steps(conn, event_id: int, after: int = 0) -> list[dict]:
    """The public steps of ``event_id``'s history written after history row ``after``."""
    query = (
        sa.select(event_history)
        .where(event_history.c.event_id == event_id, event_history.c.id > after)
        .order_by(event_history.c.id)
    )
    steps = []
    for h in conn.execute(query):
        if h.from_status == h.to_status:
            continue  # a reassignment is the command center's own business
        step = {"at": to_iso(h.at), "status": h.to_status}
        if h.public and h.note:
            step["note"] = h.note
        steps.append(step)
    return steps


def public_report(conn: sa.Connection, tracking: str, names: dict[str, str]) -> dict:
    """What anyone holding ``tracking`` may see of that report; :class:`NotFoundError` if none."""
    number = parse_tracking(tracking)
    found = None
    if number is not None:
        found = conn.scalar(sa.select(events.c.id).where(events.c.tracking == number))
    if found is None:
        raise NotFoundError("no report with this tracking number")
    row, _ = get_event(conn, found)
    timeline = _public_steps(conn, row.id)
    case = row
    for _ in range(_MAX_CHAIN):  # a main case may itself be merged later: follow the chain
        if case.status != "merged" or case.duplicate_of is None:
            break
        merge_step = conn.scalar(  # the main case's steps since, in the order they were written
            sa.select(sa.func.max(event_history.c.id)).where(
                event_history.c.event_id == case.id, event_history.c.to_status == "merged"
            )
        )
        case, _ = get_event(conn, case.duplicate_of)
        timeline += _public_steps(conn, case.id, after=merge_step or 0)
    shown = [] if case.status not in ("resolved", "closed") else media_of(conn, [case.id])[case.id]
    return {
        "tracking": number,
        "status": case.status,
        "category": row.category,
        "description": row.description,  # the resident's own words, shown as text
        "grid": grid_of(row, names),
        "reported_at": to_iso(row.reported_at),
        "expected_by": to_iso(case.close_due_at),
        "closed_at": to_iso(case.closed_at),
        "merged": case is not row,
        "timeline": timeline,
        "media": [media_dict(m) for m in shown if m.kind == "after"],
    }


def grid_of(row, names: dict[str, str]) -> dict | None:
    """The grid that handles ``row``, named with its community and street."""
    code = row.grid or row.community or row.street
    if not code:
        return None
    return {
        "code": code,
        "name": names.get(code, ""),
        "community": names.get(row.community, "") if row.community else "",
        "street": names.get(row.street, "") if row.street else "",
    }
