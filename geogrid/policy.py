"""Who may see and do what, row by row: the one access policy every surface asks.

Roles (see :mod:`geogrid.auth`): ``reporter`` posts events; ``viewer`` reads;
``operator`` reads and acts within its scope (a street, a district, or
everywhere); ``admin`` does everything. Personal data (reporter names and
phones, grid leaders' phones) is shown to admins and to operators whose scope
covers the row, never to anyone else. Callers without read rights get the
public view (:func:`may_read_events` is False for them).

Examples
--------
>>> from geogrid.auth import User
>>> op = User(1, "op", "operator", "410102001")
>>> may_see_personal(op, "410102", "410102001"), may_see_personal(op, "410102", "410102002")
(True, False)
>>> may_see_grid_contacts(op, "410102001003"), may_see_grid_contacts(op, "410102002001")
(True, False)
>>> may_see_personal(User(2, "v", "viewer", None), "410102", "410102001")
False
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geogrid.auth import User

__all__ = ["may_act_on", "may_read_events", "may_see_grid_contacts", "may_see_personal"]


def may_read_events(user: User | None) -> bool:
    """True if ``user`` reads events whole (text, notes), masked or not; else the public view."""
    return user is not None and user.can("read")


def may_see_personal(user: User | None, district: str | None, street: str | None) -> bool:
    """True if ``user`` may see the reporter of an event in ``street`` (or ``district``)."""
    if user is None:
        return False
    if user.role == "admin":
        return True
    return user.role == "operator" and user.covers(district, street)


def may_see_grid_contacts(user: User | None, code: str) -> bool:
    """True if ``user`` may see the leader's phone of grid ``code``.

    Admins everywhere; operators for the grids inside their scope (a street
    operator does not see the district's or another street's contacts).
    """
    if user is None:
        return False
    if user.role == "admin":
        return True
    return user.role == "operator" and (user.scope is None or code.startswith(user.scope))


def may_act_on(user: User | None, district: str | None, street: str | None) -> bool:
    """True if ``user`` may move a case in ``street`` (or ``district``) through the workflow."""
    return user is not None and user.can("handle") and user.covers(district, street)
