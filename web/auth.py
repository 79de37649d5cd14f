"""API authentication: ``Authorization: Bearer <token>``; roles and scopes from the core."""

from __future__ import annotations

import functools
import ipaddress

from flask import current_app, g, request, session

from geogrid.auth import User, user_by_id, user_for_token
from web.errors import error_response
from web.state import state

# Blueprints whose writes are HTML forms with a CSRF token (Flask-WTF): a session may write.
_FORM_BLUEPRINTS = ("pages", "admin", "cases")
_VERB = {
    "report": "report events",
    "read": "read events",
    "handle": "change case status",
    "admin": "administer",
}


def current_user() -> User | None:
    """The user of this request (looked up once per request).

    A bearer token always counts; a logged-in session only for reading (GET/HEAD)
    and for the site's own CSRF-protected forms, so no cross-site request can make
    the API write with a browser's cookie.
    """
    if "user" not in g:
        g.user = _from_token() or _from_session()
    return g.user


def client_address() -> str:
    """The client's address: ``X-Forwarded-For`` is believed only from ``TRUSTED_PROXIES``.

    Walking the header from the right, every hop that is a trusted proxy is
    skipped; the first that is not is the client. Without trusted proxies the
    header is ignored (anyone can send it).
    """
    trusted = [ipaddress.ip_network(p, strict=False) for p in current_app.config["TRUSTED_PROXIES"]]
    hops = [request.remote_addr or ""]
    hops += [h.strip() for h in reversed(request.headers.get("X-Forwarded-For", "").split(","))]
    for hop in hops:
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return hop or "unknown"
        if not any(address in network for network in trusted):
            return hop
    return hops[-1] or "unknown"


def _from_token() -> User | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return user_for_token(state().store, token.strip())


def _from_session() -> User | None:
    user_id = session.get("user_id")
    if user_id is None:
        return None
    if request.method not in ("GET", "HEAD") and request.blueprint not in _FORM_BLUEPRINTS:
        return None
    return user_by_id(state().store, user_id)


def unauthorized():
    """The 401 answer asking for a bearer token."""
    response, status = error_response(
        401, "Unauthorized", "a valid API token is required: Authorization: Bearer <token>"
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="geogrid"'
    return response, status


def forbidden(message: str):
    """The 403 answer with ``message``."""
    return error_response(403, "Forbidden", message)


def require(action: str):
    """Only users whose role may do ``action``: 401 without a token, 403 with the wrong role."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                return unauthorized()
            if not user.can(action):
                return forbidden(f"role {user.role!r} may not {_VERB[action]}")
            return view(*args, **kwargs)

        return wrapped

    return decorate
