"""Who may see and do what, row by row: the one access policy every surface asks.

Roles (see :mod:`geogrid.auth`): ``reporter`` posts events; ``viewer`` reads;
``operator`` reads and acts within its scope (a street, a district, or
everywhere); ``worker`` (a grid worker) reads and works only the cases
assigned to its roster entry, and on every other surface gets the public
view; ``admin`` does everything. Personal data (reporter names and phones,
grid leaders' and staff phones) is shown to admins and to operators whose
scope covers the row, and a case's reporter to the worker it is assigned to;
never to anyone else. Callers without read rights get the public view
(:func:`may_read_events` is False for them).

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
>>> from types import SimpleNamespace
>>> case = SimpleNamespace(
...     district="410102", street="410102001", assignee_staff_id=7, status="handling"
... )
>>> worker = User(3, "w", "worker", None, staff_id=7)
>>> may_read_case(worker, case), may_work_case(worker, case, "resolved")
(True, True)
>>> may_work_case(worker, case, "closed"), may_read_case(User(4, "w2", "worker", None, 8), case)
(False, False)
>>> may_work_case(worker, SimpleNamespace(**{**vars(case), "status": "resolved"}), "handling")
False
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geogrid.auth import User

__all__ = [
    "WORKER_STEPS",
    "may_act_on",
    "may_read_area_brief",
    "may_read_case",
    "may_read_events",
    "may_see_grid_contacts",
    "may_see_personal",
    "may_see_reporter",
    "may_see_staff_phone",
    "may_work_case",
]

#: the workflow steps a grid worker takes on the cases assigned to them: (from, to)
WORKER_STEPS = (("dispatched", "handling"), ("handling", "resolved"))


def may_read_events(user: User | None) -> bool:
    """True if ``user`` reads events whole (text, notes), masked or not; else the public view."""
    return user is not None and user.can("read")


def may_read_area_brief(user: User | None, code: str) -> bool:
    """True if ``user`` may read the daily brief of grid ``code``.

    Readers (viewers, operators, admins) whose scope covers ``code``: a street
    operator reads the brief of their street and its communities only.
    """
    if not may_read_events(user):
        return False
    return user.role == "admin" or user.scope is None or code.startswith(user.scope)


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


def _assigned(user: User | None, row) -> bool:
    return (
        user is not None
        and user.role == "worker"
        and user.staff_id is not None
        and getattr(row, "assignee_staff_id", None) == user.staff_id
    )


def may_read_case(user: User | None, row) -> bool:
    """True if ``user`` reads the case ``row`` whole: readers, and the worker it is assigned to."""
    return may_read_events(user) or _assigned(user, row)


def may_see_reporter(user: User | None, row) -> bool:
    """True if ``user`` sees the reporter of case ``row``: the policy above, row by row."""
    return may_see_personal(user, row.district, row.street) or _assigned(user, row)


def may_work_case(user: User | None, row, target: str | None = None) -> bool:
    """True if ``user`` may move case ``row`` to ``target`` (None: reassign it).

    Operators and admins within their scope take every step; a worker only
    :data:`WORKER_STEPS` on the cases assigned to them (starting and resolving;
    the check that sends a resolved case back is the operator's).
    """
    if _assigned(user, row):
        return (row.status, target) in WORKER_STEPS
    return may_act_on(user, row.district, row.street)


def may_see_staff_phone(user: User | None, codes: list[str], liaison: bool = False) -> bool:
    """True if ``user`` may see the phone of a staff member serving ``codes``.

    Admins; operators whose scope covers one of the codes; any operator for a
    department's ``liaison`` who serves no grid.
    """
    if user is None:
        return False
    if user.role == "admin":
        return True
    if user.role != "operator":
        return False
    if user.scope is None or (liaison and not codes):
        return True
    return any(c.startswith(user.scope) for c in codes)
