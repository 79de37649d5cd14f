"""Who works a case: the dispatch rules, manual dispatch and reassignment.

The rules (:func:`choose`), in order, for an accepted case:

1. a category with a ``department`` in ``categories.toml`` goes to that
   department's queue (no person: the department hands it out);
2. an event in a dedicated grid (专属网格) goes to the unit's contact who serves it;
3. else to a 网格员 (or 专职网格员) of the event's three-level grid (a micro
   grid's parent), the one with the fewest open cases;
4. else to the community's 网格长;
5. else nobody: the case waits, accepted, in the street's queue for an operator.

The roster (:mod:`geogrid.cases.staff`) serves grids by code, so the rules
follow a code across boundary generations. An assignee is a dict, as stored
in the history step that gave it: ``staff_id``, ``department_id``, ``name``,
``role``, ``department`` (its name) and ``rule`` (which rule chose it, or
``manual``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from geogrid.cases.categories import Category
from geogrid.cases.workflow import OPEN, record_step, transition
from geogrid.errors import ConflictError, InvalidInputError
from geogrid.parse import MAX_ID, check_text
from geogrid.storage.schema import departments, events, staff, staff_grids

__all__ = [
    "GRID_WORKERS",
    "accept",
    "candidates",
    "choose",
    "choose_many",
    "dispatch",
    "pick",
    "reassign",
    "unstaffed",
]

#: roles that work a three-level grid's cases
GRID_WORKERS = ("网格员", "专职网格员")
_LEADERS = ("网格长",)


def _person(row, rule: str) -> dict:
    return {
        "staff_id": row.id,
        "department_id": row.department_id,
        "name": row.name,
        "role": row.role,
        "department": row.department_name,
        "rule": rule,
    }


def _people_query() -> sa.Select:
    return (
        sa.select(staff, departments.c.name.label("department_name"))
        .select_from(staff.outerjoin(departments, departments.c.id == staff.c.department_id))
        .where(staff.c.active)
    )


def _serving(conn: sa.Connection, code: str | None, roles: tuple[str, ...] | None) -> list:
    """Active people serving ``code``, the least loaded first (open cases, then id)."""
    if not code:
        return []
    load = (
        sa.select(sa.func.count())
        .where(events.c.assignee_staff_id == staff.c.id, events.c.status.in_(OPEN))
        .scalar_subquery()
    )
    query = _people_query().where(
        staff.c.id.in_(sa.select(staff_grids.c.staff_id).where(staff_grids.c.code == code))
    )
    if roles is not None:
        query = query.where(staff.c.role.in_(roles))
    return conn.execute(query.order_by(load, staff.c.id)).all()


def _department(conn: sa.Connection, name: str) -> dict | None:
    found = conn.execute(sa.select(departments).where(departments.c.name == name)).first()
    if found is None:
        return None
    return {
        "staff_id": None,
        "department_id": found.id,
        "name": None,
        "role": None,
        "department": found.name,
        "rule": "department",
    }


#: the grid rules in order: (the event's column, the roles that may take it, the rule's name)
_RULES = (
    ("dedicated", None, "dedicated"),
    ("grid", GRID_WORKERS, "grid"),
    ("community", _LEADERS, "community"),
)


def choose(conn: sa.Connection, row, category: Category) -> dict | None:
    """The assignee the rules give case ``row`` (see the module), or None: the street's queue."""
    if category.department:
        found = _department(conn, category.department)
        if found is not None:
            return found
    for column, roles, rule in _RULES:
        people = _serving(conn, getattr(row, column), roles)
        if people:
            return _person(people[0], rule)
    return None


def choose_many(conn: sa.Connection, rows, categories: dict[str, Category]) -> dict[int, dict]:
    """:func:`choose` for many cases at once (a replayed history), the roster read once.

    Where several people serve a grid the lowest id takes every case (there is
    no live load to balance in a replay). Cases the rules give nobody are left out.
    """
    people = {p.id: p for p in conn.execute(_people_query())}
    serving: dict[str, list] = {}
    for staff_id, code in conn.execute(sa.select(staff_grids).order_by(staff_grids.c.staff_id)):
        if staff_id in people:
            serving.setdefault(code, []).append(people[staff_id])
    named = {n: _department(conn, n) for n in {c.department for c in categories.values()} if n}
    out = {}
    for row in rows:
        found = named.get(categories[row.category].department)
        for column, roles, rule in _RULES if found is None else ():
            match = [
                p for p in serving.get(getattr(row, column)) or () if not roles or p.role in roles
            ]
            if match:
                found = _person(match[0], rule)
                break
        if found is not None:
            out[row.id] = found
    return out


def pick(conn: sa.Connection, staff_id: object = None, department_id: object = None) -> dict:
    """A manual assignee: one active person, or a department's queue; else a 400 naming it."""
    if (staff_id is None) == (department_id is None):
        raise _bad("name either a person (staff_id) or a department (department_id)")
    for field, value in (("staff_id", staff_id), ("department_id", department_id)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID
        ):
            raise _bad(f"{field}: expected an integer id from 1 to {MAX_ID}, got {value!r}")
    if department_id is not None:
        name = conn.scalar(sa.select(departments.c.name).where(departments.c.id == department_id))
        if name is None:
            raise _bad(f"department_id: no department {department_id}")
        return _department(conn, name) | {"rule": "manual"}
    person = conn.execute(_people_query().where(staff.c.id == staff_id)).first()
    if person is None:
        raise _bad(f"staff_id: no active staff member {staff_id}")
    return _person(person, "manual")


def _bad(message: str) -> InvalidInputError:
    return InvalidInputError(
        f"assignee: {message}", details=[{"field": "assignee", "message": message}]
    )


def candidates(conn: sa.Connection, row) -> list[dict]:
    """Whom an operator may dispatch ``row`` to: who serves its grids first, then departments."""
    seen, out = set(), []
    for code, rule in (
        (row.dedicated, "dedicated"),
        (row.micro, "grid"),
        (row.grid, "grid"),
        (row.community, "community"),
    ):
        for person in _serving(conn, code, None):
            if person.id not in seen:
                seen.add(person.id)
                out.append(_person(person, rule))
    for found in conn.execute(sa.select(departments).order_by(departments.c.id)):
        out.append(_department(conn, found.name))
    return out


def accept(
    conn, row, actor: str, now: datetime, category: Category, note: str = "", public: bool = False
) -> dict | None:
    """立案 and, in the same transaction, 派遣 by the rules; the assignee, or None (queued)."""
    transition(conn, row, "accepted", actor, now, category, note=note, public=public)
    assignee = choose(conn, row, category)
    if assignee is not None:
        accepted = conn.execute(sa.select(events).where(events.c.id == row.id)).one()
        transition(conn, accepted, "dispatched", actor, now, category, assignee=assignee)
    return assignee


def dispatch(
    conn, row, actor, now, category, assignee: dict | None = None, note="", public=False
) -> dict | None:
    """派遣 an accepted case to ``assignee``, or to whom the rules give.

    When the rules find nobody, the case is dispatched all the same, to nobody
    in particular: the street handles it outside the roster (as before there
    was one), and its ``assignee`` stays null until an operator reassigns it.
    """
    if assignee is None:
        assignee = choose(conn, row, category)
    transition(
        conn, row, "dispatched", actor, now, category, note=note, assignee=assignee, public=public
    )
    return assignee


def reassign(
    conn, row, assignee: dict, actor: str, now: datetime, note: str = "", public: bool = False
) -> None:
    """Give a dispatched or handled case to someone else: a history step, status unchanged."""
    check_text("note", note)
    if row.status not in ("dispatched", "handling"):
        raise ConflictError(
            f"event {row.id} is {row.status}: only a dispatched or handled case is reassigned"
        )
    updated = conn.execute(
        sa.update(events)
        .where(events.c.id == row.id, events.c.status == row.status)
        .values(
            assignee_staff_id=assignee["staff_id"],
            assignee_department_id=assignee["department_id"],
        )
    )
    if updated.rowcount != 1:
        raise ConflictError(f"event {row.id} changed meanwhile; read it again and retry")
    record_step(conn, row.id, now, actor, row.status, row.status, note, assignee, public)


def unstaffed(conn: sa.Connection, codes: list[str]) -> list[str]:
    """The three-level grids among ``codes`` that no active 网格员 serves.

    Empty while the roster has no grid workers at all (nothing to compare with).
    """
    workers = sa.select(staff.c.id).where(staff.c.active, staff.c.role.in_(GRID_WORKERS))
    served = set(
        conn.scalars(
            sa.select(staff_grids.c.code).where(staff_grids.c.staff_id.in_(workers)).distinct()
        )
    )
    if not served:
        return []
    return sorted(c for c in codes if len(c) == 15 and "Z" not in c and c not in served)
