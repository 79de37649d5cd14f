"""The Flask app of geogrid: pages and the JSON API over the core library."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from geogrid.assign import DEFAULT_TOLERANCE_M
from geogrid.categories import load_categories
from geogrid.duplicates import DEFAULT_RADIUS_M, DEFAULT_WINDOW_H, DuplicateFinder
from geogrid.store import URL_ENV, Store

__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py`` and the environment, then tests."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=None,
        TOLERANCE_M=DEFAULT_TOLERANCE_M,
        CATEGORIES_FILE=None,
        DUPLICATE_RADIUS_M=DEFAULT_RADIUS_M,
        DUPLICATE_WINDOW_H=DEFAULT_WINDOW_H,
        CLOCK=lambda: datetime.now(UTC),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=50 * 1024 * 1024,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        if os.environ.get(URL_ENV):
            app.config["DATABASE_URL"] = os.environ[URL_ENV]
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        path = Path(app.instance_path) / "geogrid.sqlite"
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
    app.json.ensure_ascii = False

    from web import api, api_events, errors, pages
    from web.state import GridState

    store = Store(app.config["DATABASE_URL"])
    finder = DuplicateFinder(
        store.engine, app.config["DUPLICATE_RADIUS_M"], app.config["DUPLICATE_WINDOW_H"]
    )
    categories = load_categories(app.config["CATEGORIES_FILE"])
    app.extensions["geogrid"] = GridState(store, app.config["TOLERANCE_M"], categories, finder)
    errors.register(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_events.bp)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app
