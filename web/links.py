"""Absolute links in documents other programs read (OGC API, Open311 discovery).

Behind a reverse proxy the request's ``Host`` header is whatever the client
sent; with ``PUBLIC_URL`` set (``https://grid.example.gov.cn``) links are built
from it instead, whatever the request said.
"""

from __future__ import annotations

from flask import current_app, url_for

__all__ = ["external_url"]


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint``: under ``PUBLIC_URL`` if set, else the request's host."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
