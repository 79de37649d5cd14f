"""API authentication: ``Authorization: Bearer <token>``; roles and scopes from the core."""

from __future__ import annotations

import functools

from flask import g, request

from geogrid.auth import User, user_for_token
from web.errors import error_response
from web.state import state

_VERB = {
    "report": "report events",
    "read": "read events",
    "handle": "change case status",
    "admin": "administer",
}


def current_user() -> User | None:
    """The user of this request's bearer token, if any (looked up once per request)."""
    if "user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        g.user = (
            user_for_token(state().store, token.strip())
            if (scheme.lower() == "bearer" and token.strip())
            else None
        )
    return g.user


def unauthorized():
    response, status = error_response(
        401, "Unauthorized", "a valid API token is required: Authorization: Bearer <token>"
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="geogrid"'
    return response, status


def forbidden(message: str):
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
