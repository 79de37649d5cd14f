"""Users, roles, scopes and API tokens. Passwords and tokens are stored hashed.

Roles: ``reporter`` posts events; ``viewer`` reads; ``operator`` reads and moves
cases through the workflow within its scope (a street code, or a district code
or nothing for the whole district); ``worker`` is a grid worker's account,
linked to a roster entry: it reports events and reads and works only the cases
assigned to that person (see :mod:`geogrid.policy`); ``admin`` does everything.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from geogrid import codes
from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.passwords import hash_password, needs_rehash, verify_password
from geogrid.storage.schema import api_tokens, login_failures, staff, users
from geogrid.storage.store import Store
from geogrid.times import to_db_time, utc

__all__ = [
    "CAN",
    "ROLES",
    "TOKEN_DAYS",
    "User",
    "clear_login_failures",
    "create_token",
    "create_user",
    "login_lockout",
    "record_login_failure",
    "revoke_tokens",
    "user_by_id",
    "user_for_password",
    "user_for_token",
]

ROLES = ("reporter", "viewer", "worker", "operator", "admin")
#: days an API token lives unless its maker says otherwise
TOKEN_DAYS = 365
#: What each role may do.
CAN = {
    "report": ("reporter", "worker", "operator", "admin"),
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
    staff_id: int | None = None  # the roster entry a worker's account works for

    def can(self, action: str) -> bool:
        """True if this user's role may do ``action`` (see :data:`CAN`)."""
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
    store: Store,
    username: str,
    role: str,
    scope: str | None = None,
    password: str | None = None,
    staff_ref: str | None = None,
) -> User:
    """Add a user; ``scope`` must be a district or street code (None: everywhere).

    A ``worker`` names its roster entry by ``staff_ref`` (the roster file's id).
    """
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if (role == "worker") != (staff_ref is not None):
        raise InvalidInputError(
            "a worker, and only a worker, is linked to a roster entry (--staff)"
        )
    if not username or len(username) > 100:
        raise InvalidInputError("username must be 1 to 100 characters")
    if scope is not None and codes.level_of(scope) not in ("district", "street"):
        raise InvalidInputError(f"scope must be a district or street code, got {scope!r}")
    if password is not None and len(password) < 10:
        raise InvalidInputError("password must have at least 10 characters")
    with store.write(changes=False) as conn:
        if conn.scalar(sa.select(users.c.id).where(users.c.username == username)):
            raise ConflictError(f"user {username!r} exists already")
        staff_id = None
        if staff_ref is not None:
            staff_id = conn.scalar(sa.select(staff.c.id).where(staff.c.ref == staff_ref))
            if staff_id is None:
                raise NotFoundError(f"no roster entry {staff_ref!r}: import the roster first")
        user_id = conn.execute(
            sa.insert(users).values(
                username=username,
                role=role,
                scope=scope,
                staff_id=staff_id,
                created_at=datetime.now(UTC),
                password_hash=hash_password(password) if password else None,
            )
        ).inserted_primary_key[0]
    return User(user_id, username, role, scope, staff_id)


def create_token(store: Store, username: str, name: str = "", days: int = TOKEN_DAYS) -> str:
    """A new API token for ``username``, valid ``days``; only its hash is stored: show it once."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        raise InvalidInputError(f"days must be a whole number from 1 to 3650, got {days!r}")
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with store.write(changes=False) as conn:
        user_id = conn.scalar(sa.select(users.c.id).where(users.c.username == username))
        if user_id is None:
            raise NotFoundError(f"no user {username!r}")
        conn.execute(
            sa.insert(api_tokens).values(
                user_id=user_id,
                token_sha256=_hash_token(token),
                name=name,
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
        )
    return token


def revoke_tokens(store: Store, username: str, token_name: str | None = None) -> int:
    """Revoke every token of ``username`` (or only those named ``token_name``); how many."""
    with store.write(changes=False) as conn:
        user_id = conn.scalar(sa.select(users.c.id).where(users.c.username == username))
        if user_id is None:
            raise NotFoundError(f"no user {username!r}")
        where = [api_tokens.c.user_id == user_id, ~api_tokens.c.revoked]
        if token_name is not None:
            where.append(api_tokens.c.name == token_name)
        done = conn.execute(sa.update(api_tokens).where(*where).values(revoked=True))
    if token_name is not None and done.rowcount == 0:
        raise NotFoundError(f"user {username!r} has no live token named {token_name!r}")
    return done.rowcount


def _now_db() -> datetime:
    return to_db_time(datetime.now(UTC))


def _user(row) -> User:
    return User(row.id, row.username, row.role, row.scope, row.staff_id)


def user_for_token(store: Store, token: str) -> User | None:
    """The active user holding ``token``, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(users)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(
                api_tokens.c.token_sha256 == _hash_token(token),
                ~api_tokens.c.revoked,
                sa.or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > _now_db()),
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
    """The active user if ``password`` is right, else None.

    An unknown user costs the same hash as a known one, so timing does not tell
    which usernames exist. A hash in an older format is replaced on success.
    """
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(users).where(users.c.username == username, users.c.active)
        ).first()
    stored = row.password_hash if row is not None and row.password_hash else _unknown_user_hash()
    if not verify_password(stored, password) or row is None or not row.password_hash:
        return None
    if needs_rehash(row.password_hash):
        with store.write(changes=False) as conn:
            conn.execute(
                sa.update(users)
                .where(users.c.id == row.id)
                .values(password_hash=hash_password(password))
            )
    return _user(row)


@functools.cache
def _unknown_user_hash() -> str:
    """Verified against when the user is unknown: the same work, never a match."""
    return hash_password(secrets.token_hex(16))


# -- login throttling ---------------------------------------------------------


def login_lockout(store: Store, keys: list[str], now: datetime) -> int:
    """Seconds until a login for any of ``keys`` (a username, an address) may be tried; 0 now."""
    with store.engine.connect() as conn:
        until = conn.scalar(
            sa.select(sa.func.max(login_failures.c.locked_until)).where(
                login_failures.c.key.in_(keys)
            )
        )
    left = (utc(until) - now).total_seconds() if until is not None else 0
    return max(0, math.ceil(left))


def record_login_failure(
    store: Store, keys: list[str], now: datetime, max_failures: int, lockout: timedelta
) -> None:
    """Count one failed login against each key; the ``max_failures``-th locks it for ``lockout``.

    Failures older than ``lockout`` no longer count (the window starts again).
    """
    with store.write(changes=False) as conn:
        for key in keys:
            try:
                with conn.begin_nested():  # two workers may count a key's first failure at once
                    conn.execute(
                        sa.insert(login_failures).values(
                            key=key, failures=0, first_at=to_db_time(now), locked_until=None
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # the other one made the row: count on it
            row = conn.execute(
                sa.select(login_failures).where(login_failures.c.key == key).with_for_update()
            ).one()
            fresh = utc(row.first_at) < now - lockout  # the window starts again
            failures = 1 if fresh else row.failures + 1
            locked = now + lockout if failures >= max_failures else None
            conn.execute(
                sa.update(login_failures)
                .where(login_failures.c.key == key)
                .values(
                    failures=failures,
                    first_at=to_db_time(now) if fresh else row.first_at,
                    locked_until=to_db_time(locked) if locked else row.locked_until,
                )
            )


def clear_login_failures(store: Store, keys: list[str]) -> None:
    """Forget the failures of ``keys`` (after a successful login)."""
    with store.write(changes=False) as conn:
        conn.execute(sa.delete(login_failures).where(login_failures.c.key.in_(keys)))
