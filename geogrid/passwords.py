"""Password hashing with the standard library's scrypt, behind two functions.

New hashes read ``scrypt$<n>$<r>$<p>$<salt hex>$<key hex>``. Hashes written by
earlier releases through werkzeug (``scrypt:32768:8:1$salt$hex`` and
``pbkdf2:sha256:600000$salt$hex``) still verify, and :func:`needs_rehash` says
they should be replaced at the next successful login.

Examples
--------
>>> stored = hash_password("correct horse battery")
>>> verify_password(stored, "correct horse battery"), verify_password(stored, "wrong")
(True, False)
>>> needs_rehash(stored)
False
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["hash_password", "needs_rehash", "verify_password"]

_N, _R, _P = 2**15, 8, 1  # about 32 MiB and a tenth of a second per hash
_PREFIX = "scrypt$"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=132 * n * r * p)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``, self-describing, for storage."""
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, _N, _R, _P)
    return f"{_PREFIX}{_N}${_R}${_P}${salt.hex()}${key.hex()}"


def verify_password(stored: str, password: str) -> bool:
    """True if ``password`` matches ``stored`` (this module's format or werkzeug's)."""
    try:
        if stored.startswith(_PREFIX):
            n, r, p, salt, key = stored[len(_PREFIX) :].split("$")
            found = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
            return hmac.compare_digest(found.hex(), key)
        return _verify_werkzeug(stored, password)
    except ValueError:  # a malformed stored hash matches nothing
        return False


def needs_rehash(stored: str) -> bool:
    """True if ``stored`` is in an older format or with weaker parameters than new hashes."""
    return not stored.startswith(f"{_PREFIX}{_N}${_R}${_P}$")


def _verify_werkzeug(stored: str, password: str) -> bool:
    method, salt, key = stored.split("$", 2)
    name, *args = method.split(":")
    if name == "scrypt":
        n, r, p = map(int, args) if args else (2**15, 8, 1)
        found = _scrypt(password, salt.encode(), n, r, p)
    elif name == "pbkdf2":
        digest = args[0] if args else "sha256"
        rounds = int(args[1]) if len(args) > 1 else 600_000
        found = hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), rounds)
    else:
        return False
    return hmac.compare_digest(found.hex(), key)
