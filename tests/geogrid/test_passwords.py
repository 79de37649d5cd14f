"""Password hashes: the standard library's scrypt; werkzeug's old hashes still verify."""

import pytest
import sqlalchemy as sa

from geogrid.auth import create_user, user_for_password
from geogrid.passwords import hash_password, needs_rehash, verify_password
from geogrid.storage.schema import users

PASSWORD = "s3cret-passw0rd"
# written by werkzeug 3.1's generate_password_hash, as earlier releases stored them
WERKZEUG_SCRYPT = (
    "scrypt:32768:8:1$q1lie70UY0yjoNlE$37c76e232b879f95dd901f419367ed47887228c59ac76310b580e0e"
    "e1a0e7740d1d46c85cc80dd9e445e68ee9283742b222b9c750c672ddab4619c8844d413d4"
)
WERKZEUG_PBKDF2 = (
    "pbkdf2:sha256:1000$SGTfzyIEZJUHqcUL$f7eb3a17df032d649164a6e8a5bc3807ce3853f959b2e635372ffadbd"
    "2498bba"
)


def test_new_hashes_verify_and_are_salted():
    a, b = hash_password(PASSWORD), hash_password(PASSWORD)
    assert a != b
    assert a.startswith("scrypt$32768$8$1$")
    assert verify_password(a, PASSWORD)
    assert not verify_password(a, PASSWORD.upper())
    assert not needs_rehash(a)


@pytest.mark.parametrize("stored", [WERKZEUG_SCRYPT, WERKZEUG_PBKDF2])
def test_werkzeug_hashes_verify_and_need_a_rehash(stored):
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, "wrong-password")
    assert needs_rehash(stored)


@pytest.mark.parametrize("stored", ["", "scrypt$1$2", "pbkdf2:sha256:x$a$b", "md5$a$b", "$$"])
def test_a_malformed_hash_matches_nothing(stored):
    assert not verify_password(stored, "anything")


def test_a_werkzeug_hash_is_replaced_at_the_next_login(store):
    create_user(store, "ops", "operator", password=PASSWORD)
    with store.write() as conn:
        conn.execute(sa.update(users).values(password_hash=WERKZEUG_SCRYPT))
    assert user_for_password(store, "ops", "wrong-password") is None
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(users.c.password_hash)) == WERKZEUG_SCRYPT
    assert user_for_password(store, "ops", PASSWORD).username == "ops"
    with store.engine.connect() as conn:
        stored = conn.scalar(sa.select(users.c.password_hash))
    assert stored.startswith("scrypt$") and verify_password(stored, PASSWORD)
    assert user_for_password(store, "ops", PASSWORD).username == "ops"
    assert user_for_password(store, "nobody", PASSWORD) is None
