"""The daily brief as a PDF: ``GET /brief.pdf?date=&code=`` (logged-in readers).

A page of the site, not of the JSON API: a browser session (or a bearer
token) of a reader; someone not logged in is sent to the login page. A
reader whose scope is a street gets the briefs of that street and its
communities only (:func:`geogrid.policy.may_read_area_brief`). The page is
drawn by :mod:`geogrid.reports.briefpdf` in this request's thread.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, request, url_for

from geogrid.errors import ForbiddenError
from geogrid.policy import may_read_area_brief, may_read_events
from geogrid.reports.brief import brief_of, parse_day
from geogrid.reports.briefpdf import render_brief
from geogrid.reports.trend import china_day
from web.auth import current_user
from web.params import bad
from web.state import state

bp = Blueprint("brief", __name__)


@bp.get("/brief.pdf")
def brief_pdf():
    """One A4 page: the street's map, the day's figures, the top ten grids, the trend."""
    user = current_user()
    if user is None:
        return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    if not may_read_events(user):
        raise ForbiddenError(f"role {user.role!r} may not read events")
    code = request.args.get("code", "").strip()
    if not code:
        raise bad("code", "is required: a street or community code")
    now = current_app.config["CLOCK"]()
    day = parse_day(request.args.get("date"), china_day(now))
    if not may_read_area_brief(user, code):
        raise ForbiddenError(f"code: {code!r} is outside your scope ({user.scope})")
    found = brief_of(state().store, code, day, now)
    names = {k: c.name for k, c in state().categories.items()}
    response = Response(render_brief(found, names), mimetype="application/pdf")
    filename = f"brief-{code}-{day.isoformat()}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
