"""The Flask app of geogrid: pages and the JSON API over the core library."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from flask import Flask
from flask_compress import Compress
from flask_wtf.csrf import CSRFProtect

from geogrid.cases.categories import load_categories
from geogrid.cases.duplicates import DuplicateFinder
from geogrid.storage.store import Store
from web.config import configure
from web.config import instance_path as web_instance_path
from web.params import IdConverter, check_request_text

__all__ = ["create_app", "instance_secret"]


def create_app(test_config: dict | None = None, overrides: dict | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py`` and the environment, then overrides.

    ``test_config`` (tests) replaces the instance file and the environment;
    ``overrides`` (a command's ``--database``, say) apply last either way.
    """
    app = Flask(__name__, instance_path=web_instance_path(), instance_relative_config=True)
    app.url_map.converters["id"] = IdConverter
    configure(app, test_config, overrides)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = os.environ.get("GEOGRID_SECRET_KEY") or _secret(app)
    if not app.config["DATABASE_URL"]:
        path = Path(app.instance_path) / "geogrid.sqlite"
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
    app.json.ensure_ascii = False
    # the request as a whole may carry the file plus a little form overhead
    # (Flask's default is None, no limit at all, so a setdefault would keep that)
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = app.config["UPLOAD_LIMITS"].max_bytes + 65536
    if not app.config["MEDIA_DIR"]:
        app.config["MEDIA_DIR"] = (
            tempfile.mkdtemp(prefix="geogrid-media-")
            if app.config.get("TESTING")
            else str(Path(app.instance_path) / "media")
        )

    from web.state import GridState

    store = Store(app.config["DATABASE_URL"])
    finder = DuplicateFinder(
        store.engine, app.config["DUPLICATE_RADIUS_M"], app.config["DUPLICATE_WINDOW_H"]
    )
    categories = load_categories(app.config["CATEGORIES_FILE"])
    app.extensions["geogrid"] = GridState(store, app.config["TOLERANCE_M"], categories, finder)
    _register_blueprints(app)
    # gzip or brotli for pages and JSON when the browser asks: the map's page and its grid
    # layers are mostly text (a reverse proxy may compress instead; nothing breaks if both)
    Compress(app)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app


def _register_blueprints(app: Flask) -> None:
    """Every surface's blueprint; the token-authenticated and read-only ones skip CSRF."""
    from web.surfaces import (
        admin,
        boundaries,
        brief,
        cases,
        docs,
        downloads,
        errors,
        events,
        grids,
        hotspots,
        login,
        mapdata,
        mapview,
        ogc,
        open311,
        reports,
        residents,
        staff,
        stations,
        stream,
        tiles,
        trends,
    )

    errors.register(app)
    app.before_request(_photo_limit)  # before any hook reads the form
    app.before_request(check_request_text)
    csrf = CSRFProtect(app)
    for module in (login, grids, events, stations, mapview, mapdata, boundaries, admin, docs):
        app.register_blueprint(module.bp)
    for module in (cases, staff, reports, residents, hotspots, stream):
        app.register_blueprint(module.bp)
    app.register_blueprint(trends.bp)
    app.register_blueprint(brief.bp)
    for module in (open311, ogc, downloads, tiles):
        app.register_blueprint(module.bp)
    for module in (grids, events, stations, mapview, mapdata, boundaries, open311, docs, staff):
        csrf.exempt(module.bp)  # bearer tokens, or reads only: see web.auth
    # no credentials at all: a forged request could do no more than the resident's own
    csrf.exempt(reports.bp)
    csrf.exempt(hotspots.bp)  # reads only
    csrf.exempt(stream.bp)  # reads only
    csrf.exempt(residents.bp)


#: endpoints whose requests may carry photos: their size limit fits as many as they take
PHOTO_ENDPOINTS = ("events.post_events", "events.patch_event", "cases.step", "reports.post_report")


def _photo_limit() -> None:
    from flask import request

    if request.endpoint not in PHOTO_ENDPOINTS:
        return
    from geogrid.cases.media import MAX_PHOTO_BYTES, MAX_PHOTOS
    from web.api.reports import MAX_REPORT_PHOTOS

    photos = MAX_REPORT_PHOTOS if request.endpoint == "reports.post_report" else MAX_PHOTOS
    request.max_content_length = photos * MAX_PHOTO_BYTES + 1024 * 1024


def _secret(app: Flask) -> str:
    if app.config.get("TESTING"):
        return secrets.token_hex(32)
    return instance_secret(Path(app.instance_path))


def instance_secret(instance_path: Path | None = None) -> str:
    """The per-installation secret kept in the instance folder (created once, mode 0600).

    Several workers may start at once: the file appears whole or not at all
    (written aside, then linked into place), and every worker reads the one
    that won. Several hosts share one secret through ``GEOGRID_SECRET_KEY``.
    """
    if os.environ.get("GEOGRID_SECRET_KEY"):
        return os.environ["GEOGRID_SECRET_KEY"]
    if instance_path is None:
        instance_path = Path(web_instance_path())
    path = instance_path / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process won; use its secret
        finally:
            aside.unlink()
    return path.read_text(encoding="utf-8").strip()
