"""The roster API: who serves which grid, and the departments with the categories they handle.

For operators and admins; phones follow the access policy
(:func:`geogrid.policy.may_see_staff_phone`).
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from geogrid.cases.staff import (
    LIAISON,
    STAFF_ROLES,
    get_staff,
    list_departments,
    list_staff,
    staff_dict,
)
from geogrid.parse import MAX_ID
from geogrid.policy import may_see_staff_phone
from web.auth import current_user, require
from web.params import args, choice, grid_code, integer, operation
from web.state import state

bp = Blueprint("staff", __name__, url_prefix="/api/v1")


def _department(found: dict | None) -> dict | None:
    if found is None:
        return None
    handles = [c.code for c in state().categories.values() if c.department == found["name"]]
    return found | {"categories": handles}


def _person(user, row, codes, department) -> dict:
    personal = may_see_staff_phone(user, codes, liaison=row.role == LIAISON)
    return staff_dict(row, codes, _department(department), personal)


@bp.get("/staff")
@operation(
    grid_code("code", "people serving this grid or any grid below it"),
    choice("role", STAFF_ROLES, None, "one roster role"),
    integer("department", 1, MAX_ID, None, "the people of one department (a department id)"),
    integer("limit", 1, 1000, 200, "people per page"),
    integer("offset", 0, 10**9, 0, "people to skip"),
    auth="change case status",
    responses={200: ("a page of the roster, and the departments", "application/json")},
)
@require("handle")
def get_staff_list():
    """The roster (operators and admins): people with their grids, and every department."""
    query, user = args(), current_user()
    with state().store.engine.connect() as conn:
        people = list_staff(conn, query["code"], query["role"], query["department"])
        departments = [_department(d) for d in list_departments(conn)]
    page = people[query["offset"] : query["offset"] + query["limit"]]
    return jsonify(
        {
            "total": len(people),
            "limit": query["limit"],
            "offset": query["offset"],
            "staff": [_person(user, *p) for p in page],
            "departments": departments,
        }
    )


@bp.get("/staff/<id:staff_id>")
@operation(auth="change case status", responses={200: ("one person", "application/json")})
@require("handle")
def get_one_staff(staff_id: int):
    """One person on the roster, with the grids they serve."""
    with state().store.engine.connect() as conn:
        found = get_staff(conn, staff_id)
    return jsonify(_person(current_user(), *found))
