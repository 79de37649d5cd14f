"""The Flask app of geogrid: pages and the JSON API over the core library."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from geogrid.assign import DEFAULT_TOLERANCE_M
from geogrid.store import URL_ENV, Store

__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py`` and the environment, then tests."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=None,
        TOLERANCE_M=DEFAULT_TOLERANCE_M,
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

    from web import api, errors, pages
    from web.state import GridState

    app.extensions["geogrid"] = GridState(
        Store(app.config["DATABASE_URL"]), app.config["TOLERANCE_M"]
    )
    errors.register(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app
