"""Trends of a grid subtree: ``GET /api/v1/stats/trend``.

Beside ``/api/v1/stats`` and under the same rule: readers only (viewers,
operators, admins; a grid worker gets the public view elsewhere and a 403
here), over the whole district as ``/api/v1/stats`` answers it. The numbers
are :func:`geogrid.reports.trend.trend`'s.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from geogrid.reports.trend import MAX_DAYS, trend
from web.auth import require
from web.params import args, choice, grid_code, integer, operation
from web.state import state

bp = Blueprint("trends", __name__, url_prefix="/api/v1")


@bp.get("/stats/trend")
@operation(
    grid_code("code", "the trend of this grid and every grid below it (default: all)"),
    integer("days", 1, MAX_DAYS, 30, "calendar days (China Standard Time) ending today"),
    choice("category", lambda: tuple(state().categories), None, "one event category"),
    auth="read events",
    responses={200: ("counts per day, closure rates per week", "application/json")},
)
@require("read")
def get_trend():
    """Events per day by category and by status; 结案率 and 按期结案率 per calendar week.

    The answer: `code`, `category`, `days`, `from` and `to` (dates, China
    Standard Time), `days_list` (every date of the period), `reported` (events
    reported per day), `by_category` and `by_status` (`{name: [count per day]}`,
    status as it is now), and `weeks`: per calendar week clipped to the period,
    `week_start` (its Monday), `from`, `to`, `reported`, and the closure metrics
    of `/stats` for that week (`due`, `closed`, `closed_on_time`, `closure_rate`,
    `on_time_rate` in percent or null, `median_hours_to_close`). Today counts
    until now.
    """
    query = args()
    with state().store.engine.connect() as conn:
        found = trend(
            conn,
            current_app.config["CLOCK"](),
            query["code"],
            query["days"],
            query["category"],
        )
    return jsonify(found)
