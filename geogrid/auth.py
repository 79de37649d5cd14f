"""Users, roles, scopes and API tokens. Passwords and tokens are stored hashed.

Roles: ``reporter`` posts events; ``viewer`` reads; ``operator`` reads and moves
cases through the workflow within its scope (a street code, or a district code
or nothing for the whole district); ``admin`` does everything.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from geogrid import codes
from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.storage.schema import api_tokens, users
from geogrid.storage.store import Store

__all__ = [
    "ROLES",
    "User",
    "create_user",
    "create_token",
    "user_for_token",
    "user_for_password",
    "user_by_id",
    "CAN",
]

ROLES = ("reporter", "viewer", "operator", "admin")
#: What each role may do.
CAN = {
    "report": ("reporter", "operator", "admin"),
    "read": ("viewer", "operator", "admin"),
    "handle": ("operator", "admin"),
    "admin": ("admin",),
}


@dataclass(frozen=True)
class User:
    """An authenticated user."""

    id: int
    username: str
    role: str
    scope: str | None

    def can(self, action: str) -> bool:
        return self.role in CAN[action]

    def covers(self, district: str | None, street: str | None) -> bool:
        """True if a case in ``street`` (or only ``district``, when outside) is in scope."""
        if self.role == "admin" or self.scope is None:
            return True
        if len(self.scope) == 6:
            return district == self.scope
        return street is not None and street == self.scope


def _hash_token(token: str) -> str:
    # Tokens are 256-bit random strings: a plain SHA-256 is enough (no dictionary to try).
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    store: Store, username: str, role: str, scope: str | None = None, password: str | None = None
) -> User:
    """Add a user; ``scope`` must be a district or street code (None: everywhere)."""
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not username or len(username) > 100:
        raise InvalidInputError("username must be 1 to 100 characters")
    if scope is not None and codes.level_of(scope) not in ("district", "street"):
        raise InvalidInputError(f"scope must be a district or street code, got {scope!r}")
    if password is not None and len(password) < 10:
        raise InvalidInputError("password must have at least 10 characters")
    with store.write() as conn:
        if conn.scalar(sa.select(users.c.id).where(users.c.username == username)):
            raise ConflictError(f"user {username!r} exists already")
        user_id = conn.execute(
            sa.insert(users).values(
                username=username,
                role=role,
                scope=scope,
                created_at=datetime.now(UTC),
                password_hash=generate_password_hash(password) if password else None,
            )
        ).inserted_primary_key[0]
    return User(user_id, username, role, scope)


def create_token(store: Store, username: str, name: str = "") -> str:
    """A new API token for ``username``; only its hash is stored, so show it once."""
    token = secrets.token_urlsafe(32)
    with store.write() as conn:
        user_id = conn.scalar(sa.select(users.c.id).where(users.c.username == username))
        if user_id is None:
            raise NotFoundError(f"no user {username!r}")
        conn.execute(
            sa.insert(api_tokens).values(
                user_id=user_id,
                token_sha256=_hash_token(token),
                name=name,
                created_at=datetime.now(UTC),
            )
        )
    return token


def _user(row) -> User:
    return User(row.id, row.username, row.role, row.scope)


def user_for_token(store: Store, token: str) -> User | None:
    """The active user holding ``token``, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(users)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(
                api_tokens.c.token_sha256 == _hash_token(token),
                ~api_tokens.c.revoked,
                users.c.active,
            )
        ).first()
    return None if row is None else _user(row)


def user_by_id(store: Store, user_id: int) -> User | None:
    """The active user with ``user_id`` (a web session's), or None."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == user_id, users.c.active)).first()
    return None if row is None else _user(row)


def user_for_password(store: Store, username: str, password: str) -> User | None:
    """The active user if ``password`` is right, else None."""
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(users).where(users.c.username == username, users.c.active)
        ).first()
    if row is None or not row.password_hash:
        return None
    return _user(row) if check_password_hash(row.password_hash, password) else None
