"""The app's settings: defaults, then the instance file and the environment, then overrides.

Layered as Flask's tutorial app does: :func:`defaults` → ``instance/config.py``
(the instance folder the CLI uses: ``./instance``) → ``GEOGRID_*`` environment
variables (``GEOGRID_MAP_TILES`` sets ``MAP_TILES``; values that parse as JSON
are taken as such) → the runtime overrides a command passes (the store URL
from ``--database``). A test passes its own mapping instead of the instance
file and the environment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from geogrid.boundaries.topology import Tolerances
from geogrid.boundaries.upload import Limits
from geogrid.cases.duplicates import DEFAULT_RADIUS_M, DEFAULT_WINDOW_H
from geogrid.engine.assign import DEFAULT_TOLERANCE_M

__all__ = ["ENV_PREFIX", "INSTANCE_DIR", "configure", "defaults"]

ENV_PREFIX = "GEOGRID"
INSTANCE_DIR = "instance"


def defaults() -> dict:
    """Every setting geogrid reads, with its default."""
    return {
        "DATABASE_URL": None,
        "TOLERANCE_M": DEFAULT_TOLERANCE_M,
        "CATEGORIES_FILE": None,
        "DUPLICATE_RADIUS_M": DEFAULT_RADIUS_M,
        "DUPLICATE_WINDOW_H": DEFAULT_WINDOW_H,
        "CLOCK": lambda: datetime.now(UTC),
        "SECRET_KEY": None,
        "MAP_TILES": "none",
        "PUBLIC_EVENTS": "summary",
        "PUBLIC_URL": None,
        "TIANDITU_KEY": None,
        "WALK_M": 500.0,
        # rendered map pages shared by the workers of a host; "" keeps them in memory only
        "PAGE_CACHE_DIR": None,  # default: instance/cache/map (tests: memory only)
        # case photos, content-addressed; several hosts share one volume here
        "MEDIA_DIR": None,  # default: instance/media (tests: a temporary folder)
        # residents' reports (/report): per client address and per phone, shared by workers
        "REPORT_RATE_LIMIT": "10/hour",
        # unknown tracking numbers asked per client address (guessing numbers meets a 429)
        "TRACK_LOOKUP_LIMIT": "30/hour",
        # /report also shows open and resolved reports per grid of the last 30 days
        "PUBLIC_MAP": False,
        # the live stream (/api/v1/stream): streams per worker process (each holds one of
        # its threads, not a database connection), how often each polls the store, and how
        # long one lasts before the browser reconnects (resuming by Last-Event-ID)
        "STREAM_SLOTS": 4,
        "STREAM_POLL_SECONDS": 0.5,
        "STREAM_SECONDS": 300.0,
        # response compression (Flask-Compress): text only, never a stream (an SSE stream
        # compressed would wait for its buffer instead of sending each event)
        "COMPRESS_MIMETYPES": [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/geo+json",
            "application/xml",
        ],
        "COMPRESS_STREAMS": False,
        # what every browser and HTTP library decodes (zstd is newer than some clients)
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        "COMPRESS_MIN_SIZE": 1024,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCKOUT_MINUTES": 15,
        "TRUSTED_PROXIES": [],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "JSON_AS_ASCII": False,
        "UPLOAD_LIMITS": Limits(),
        "TOPOLOGY_TOLERANCES": Tolerances(),
    }


def instance_path() -> str:
    """The instance folder: ``./instance``, as the CLI's default store uses."""
    return str(Path(INSTANCE_DIR).resolve())


def configure(app: Flask, test_config: dict | None, overrides: dict | None) -> None:
    """Load ``app``'s settings in their layers (see the module's docstring)."""
    app.config.from_mapping(defaults())
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env(ENV_PREFIX)
        # GEOGRID_CATEGORIES names the categories file, as it did before this layering
        app.config["CATEGORIES_FILE"] = (
            app.config.pop("CATEGORIES", None) or app.config["CATEGORIES_FILE"]
        )
    else:
        app.config.from_mapping(test_config)
    app.config.from_mapping(overrides or {})
    from geogrid.cases.reports import parse_rate

    for setting in ("REPORT_RATE_LIMIT", "TRACK_LOOKUP_LIMIT"):
        parse_rate(app.config[setting], setting)  # a bad setting stops the start, named
    if app.config["PUBLIC_EVENTS"] not in ("summary", "full", "none"):
        raise ValueError(
            f"PUBLIC_EVENTS must be summary, full or none, got {app.config['PUBLIC_EVENTS']!r}"
        )
