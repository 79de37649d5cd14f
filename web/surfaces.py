"""Every surface's module, imported: what :func:`web.create_app` registers.

One list for two readers: the app registers these modules' blueprints, and the
gunicorn arbiter imports this module before it forks (:mod:`web.wsgi`), so the
workers share the pages of everything the app imports (matplotlib for the
brief, Pillow for photos, …) instead of each importing its own copy.
"""

from __future__ import annotations

from web import errors, open311, tiles
from web.api import (
    boundaries,
    docs,
    downloads,
    events,
    grids,
    hotspots,
    mapdata,
    reports,
    staff,
    stations,
    stream,
    trends,
)
from web.ogc import views as ogc
from web.pages import admin, brief, cases, login, mapview, residents

__all__ = [
    "admin",
    "boundaries",
    "brief",
    "cases",
    "docs",
    "downloads",
    "errors",
    "events",
    "grids",
    "hotspots",
    "login",
    "mapdata",
    "mapview",
    "ogc",
    "open311",
    "reports",
    "residents",
    "staff",
    "stations",
    "stream",
    "tiles",
    "trends",
]
