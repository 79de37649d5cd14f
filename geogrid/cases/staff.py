"""The roster: grid workers, community leaders, department liaisons and the grids they serve.

A roster file (CSV or ``.xlsx``) names each person by ``ref``, the office's own
id, so importing it again changes nothing; every bad row is named by its line.
Service is by grid code, so it follows a grid across boundary generations.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from geogrid.codes import LEVELS, level_of, validate_code
from geogrid.errors import InvalidCodeError, InvalidInputError, NotFoundError
from geogrid.parse import bad_field, text_problem
from geogrid.privacy import mask_phone
from geogrid.storage.schema import departments, generations, grids, staff, staff_grids
from geogrid.storage.store import Store
from geogrid.times import to_db_time

__all__ = [
    "COLUMNS",
    "LIAISON",
    "ROLE_LEVELS",
    "STAFF_ROLES",
    "StaffRow",
    "get_staff",
    "import_roster",
    "list_departments",
    "list_staff",
    "read_roster",
    "staff_dict",
]

STAFF_ROLES = ("网格员", "专职网格员", "网格长", "社区书记", "部门联络员")
#: the role that works for a department: it must name one, and only it may
LIAISON = "部门联络员"
#: the grid levels each role may serve (a liaison needs no grids, and may name any)
_WORKER, _LEADER = ("grid", "micro", "dedicated"), ("community",)
ROLE_LEVELS = dict(zip(STAFF_ROLES, (_WORKER, _WORKER, _LEADER, _LEADER, LEVELS), strict=True))
#: the roster's columns; ``ref``, ``name`` and ``role`` are required
COLUMNS = ("ref", "name", "phone", "role", "grids", "department")
_REQUIRED = ("ref", "name", "role")
_HEADERS_ZH = ("编号", "姓名", "电话", "角色", "网格", "部门")
_HEADERS = {**{c: c for c in COLUMNS}, **dict(zip(_HEADERS_ZH, COLUMNS, strict=True))}
_CODE_SEPARATORS = re.compile(r"[;；,，、\s]+")
_PHONE = re.compile(r"[0-9 +\-]{7,20}")


@dataclass(frozen=True)
class StaffRow:
    """One checked row of a roster file; ``line`` is its 1-based line (the header is line 1)."""

    line: int
    ref: str
    name: str
    phone: str | None
    role: str
    department: str | None
    grids: tuple[str, ...]


def read_roster(path: str | os.PathLike) -> list[StaffRow]:
    """The rows of a ``.csv`` (UTF-8, or GB18030) or ``.xlsx`` (first sheet) roster, checked.

    The first row names the columns (:data:`COLUMNS`, or 编号, 姓名, 电话, 角色,
    网格, 部门); ``grids`` holds codes separated by ``;``, ``；``, ``,``, ``、``
    or spaces. Any bad row raises :class:`InvalidInputError` whose ``details``
    hold one ``{"line", "field", "message"}`` per problem.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInputError(f"{path.name}: expected a .csv or .xlsx roster")
    lines = _csv_lines(path) if suffix == ".csv" else _xlsx_lines(path)
    lines = [(n, cells) for n, cells in lines if any(cells)]
    if not lines:
        raise InvalidInputError(f"{path.name}: file is empty; expected a header line")
    (header_line, header), body = lines[0], lines[1:]
    columns = _columns(path.name, header_line, header)
    rows, problems, seen = [], [], {}
    for line, cells in body:
        row, found = _check_row(line, columns, cells, seen)
        problems.extend(found)
        if row is not None:
            rows.append(row)
    bad = len({p["line"] for p in problems})
    if bad:
        noun = "row" if bad == 1 else "rows"
        raise InvalidInputError(f"{path.name}: {bad} bad {noun}", details=problems)
    if not rows:
        raise InvalidInputError(f"{path.name}: no rows under the header")
    return rows


def _decode(name: str, data: bytes) -> str:
    """The text of a CSV file: UTF-8 (BOM allowed), else GB18030 as Chinese offices export."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        utf8 = err
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        line = data.count(b"\n", 0, utf8.start) + 1
        message = f"neither UTF-8 nor GB18030 text (byte {utf8.start}); save the CSV as UTF-8"
        raise InvalidInputError(
            f"{name}: line {line}: {message}",
            details=[{"line": line, "field": "file", "message": message}],
        ) from None


def _csv_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(line where the record starts, its stripped cells) for every record of a CSV file."""
    reader = csv.reader(io.StringIO(_decode(path.name, path.read_bytes()), newline=""))
    out, start = [], 1
    try:
        for cells in reader:
            out.append((start, [cell.strip() for cell in cells]))
            start = reader.line_num + 1
    except csv.Error as err:
        raise InvalidInputError(f"{path.name}: line {reader.line_num}: {err}") from None
    return out


def _xlsx_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(row number, its cells as text) for every row of an Excel workbook's first sheet."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise InvalidInputError(f"{path.name}: not an Excel .xlsx workbook ({err})") from None
    try:
        rows = book.worksheets[0].iter_rows(min_row=1, values_only=True)
        return [(n, [_cell_text(v) for v in values]) for n, values in enumerate(rows, start=1)]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """An Excel cell as text: whole numbers without ``.0`` (phones, codes typed as numbers)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _columns(name: str, line: int, header: list[str]) -> list[str | None]:
    """The column of each header cell (None for an empty one), or the error naming the bad ones."""
    columns = [_HEADERS.get(cell, _HEADERS.get(cell.lower())) if cell else None for cell in header]
    unknown = [cell for cell, column in zip(header, columns, strict=True) if cell and not column]
    twice = sorted({c for c in columns if c and columns.count(c) > 1})
    missing = [c for c in _REQUIRED if c not in columns]
    expected = f"expected {', '.join(COLUMNS)} or {', '.join(_HEADERS_ZH)}"
    problems = [
        f"{what}: {', '.join(map(repr, names))}{end}"
        for what, names, end in (
            ("unknown columns", unknown, f"; {expected}"),
            ("columns given twice", twice, ""),
            ("missing columns", missing, ""),
        )
        if names
    ]
    if problems:
        raise InvalidInputError(
            f"{name}: line {line}: {'; '.join(problems)}",
            details=[{"line": line, "field": "header", "message": p} for p in problems],
        )
    return columns


def _check_row(
    line: int, columns: list[str | None], cells: list[str], seen: dict[str, int]
) -> tuple[StaffRow | None, list[dict]]:
    """A row as a :class:`StaffRow` and its problems (then the row is None)."""
    problems: list[dict] = []

    def bad(field: str, message: str) -> None:
        problems.append({"line": line, "field": field, "message": message})

    record = {c: cell for c, cell in zip(columns, cells, strict=False) if c is not None}
    if any(cells[len(columns) :]):
        bad("row", f"values beyond the header's {len(columns)} columns")
    ref, name = record.get("ref", ""), record.get("name", "")
    if not 1 <= len(ref) <= 40:
        bad("ref", f"expected 1 to 40 characters, got {len(ref)}")
    elif ref in seen:
        bad("ref", f"{ref!r} is already on line {seen[ref]}")
    else:
        seen[ref] = line
    if not 1 <= len(name) <= 100:
        bad("name", f"expected 1 to 100 characters, got {len(name)}")
    for field in ("ref", "name", "department"):
        problem = text_problem(record.get(field, ""))
        if problem:
            bad(field, problem)
    phone = record.get("phone") or None
    if phone is not None and not _PHONE.fullmatch(phone):
        bad("phone", f"expected 7 to 20 digits, spaces, '-' or '+', got {phone!r}")
    role = record.get("role", "")
    if role not in STAFF_ROLES:
        bad("role", f"expected one of {', '.join(STAFF_ROLES)}, got {role!r}")
    department = record.get("department") or None
    _check_department(role, department, bad)
    served = _check_grids(role, record.get("grids", ""), bad)
    if problems:
        return None, problems
    return StaffRow(line, ref, name, phone, role, department, served), []


def _check_department(role: str, department: str | None, bad) -> None:
    if department is not None and len(department) > 100:
        bad("department", f"expected at most 100 characters, got {len(department)}")
    if role == LIAISON and department is None:
        bad("department", f"a {LIAISON} must name a department")
    elif role in STAFF_ROLES and role != LIAISON and department is not None:
        bad("department", f"only a {LIAISON} has a department, not a {role}")


def _check_grids(role: str, text: str, bad) -> tuple[str, ...]:
    """The distinct codes of a ``grids`` cell, each valid and of a level ``role`` may serve."""
    found: list[str] = []
    allowed = ROLE_LEVELS.get(role)
    for code in _CODE_SEPARATORS.split(text):
        if not code or code in found:
            continue
        try:
            level = level_of(code)
        except InvalidCodeError as err:
            bad("grids", err.message)
            continue
        if allowed is not None and level not in allowed:
            levels = " or ".join(allowed)
            bad("grids", f"a {role} serves {levels} codes; {code!r} is a {level} code")
            continue
        found.append(code)
    return tuple(found)


def import_roster(store: Store, rows: Sequence[StaffRow], now: datetime) -> dict:
    """Add or update the people of ``rows`` by ``ref``, in one write transaction.

    Each person serves exactly the row's codes; departments are made by name as
    needed; a person changes (``updated_at`` = ``now``) only if something
    differs. People not in ``rows`` stay as they are. Returns the counts
    ``created``, ``updated``, ``unchanged``, ``departments_created`` and the
    ``unknown_codes`` that the active generation lacks (a warning only).
    """
    refs = [row.ref for row in rows]
    if len(set(refs)) != len(refs):
        raise InvalidInputError("a roster names each ref once")
    at = to_db_time(now)
    with store.write() as conn:
        named = {row.department for row in rows if row.department}
        department_ids, departments_created = _ensure_departments(conn, named)
        existing = {row.ref: row for row in conn.execute(sa.select(staff))}
        served = _codes_of(conn)
        new, changed, unchanged = [], [], 0
        for row in rows:
            values = dict(name=row.name, phone=row.phone, role=row.role, active=True)
            values["department_id"] = department_ids.get(row.department)
            old = existing.get(row.ref)
            if old is None:
                new.append({"ref": row.ref, **values, "updated_at": at})
            elif any(getattr(old, k) != v for k, v in values.items()) or set(
                served.get(old.id, ())
            ) != set(row.grids):
                changed.append({"staff_id_": old.id, **values, "updated_at": at})
            else:
                unchanged += 1
        _write_people(conn, rows, new, changed)
        unknown = _unknown_codes(conn, {code for row in rows for code in row.grids})
    return {
        "created": len(new),
        "updated": len(changed),
        "unchanged": unchanged,
        "departments_created": departments_created,
        "unknown_codes": unknown,
    }


def _ensure_departments(conn: sa.Connection, names: set[str]) -> tuple[dict[str, int], int]:
    """Every department's id by name, after creating those of ``names`` not there yet."""
    ids = dict(conn.execute(sa.select(departments.c.name, departments.c.id)).all())
    missing = sorted(names - ids.keys())
    if missing:
        conn.execute(sa.insert(departments), [{"name": name} for name in missing])
        ids = dict(conn.execute(sa.select(departments.c.name, departments.c.id)).all())
    return ids, len(missing)


def _write_people(
    conn: sa.Connection, rows: Sequence[StaffRow], new: list[dict], changed: list[dict]
) -> None:
    """Insert ``new`` people, update ``changed`` ones, and set the grids of both."""
    if new:
        conn.execute(sa.insert(staff), new)
    if changed:
        conn.execute(sa.update(staff).where(staff.c.id == sa.bindparam("staff_id_")), changed)
        gone = sa.delete(staff_grids).where(staff_grids.c.staff_id == sa.bindparam("staff_id_"))
        conn.execute(gone, [{"staff_id_": person["staff_id_"]} for person in changed])
    id_of = dict(conn.execute(sa.select(staff.c.ref, staff.c.id)).all())
    touched = {id_of[p["ref"]] for p in new} | {p["staff_id_"] for p in changed}
    links = [
        {"staff_id": id_of[row.ref], "code": code}
        for row in rows
        if id_of[row.ref] in touched
        for code in row.grids
    ]
    if links:
        conn.execute(sa.insert(staff_grids), links)


def _codes_of(conn: sa.Connection, people: sa.Select | None = None) -> dict[int, list[str]]:
    """The codes each person (of the query ``people``, else everyone) serves, sorted."""
    query = sa.select(staff_grids.c.staff_id, staff_grids.c.code)
    if people is not None:
        ids = people.with_only_columns(staff.c.id).order_by(None)
        query = query.where(staff_grids.c.staff_id.in_(ids))
    out: dict[int, list[str]] = {}
    for staff_id, code in conn.execute(query):
        out.setdefault(staff_id, []).append(code)
    return {staff_id: sorted(served) for staff_id, served in out.items()}


def _unknown_codes(conn: sa.Connection, wanted: set[str]) -> list[str]:
    """The codes of ``wanted`` that the active generation does not hold, sorted."""
    active = conn.scalar(sa.select(generations.c.id).where(generations.c.active))
    known = sa.select(grids.c.code).where(
        grids.c.generation_low <= active, grids.c.generation_high >= active
    )
    return sorted(wanted - set(conn.scalars(known) if active is not None else ()))


def staff_dict(row, codes: Sequence[str], department: dict | None, personal: bool) -> dict:
    """A person as JSON; the phone is masked unless ``personal``."""
    phone = row.phone if personal or row.phone is None else mask_phone(row.phone)
    return {
        "id": row.id,
        "ref": row.ref,
        "name": row.name,
        "phone": phone,
        "role": row.role,
        "department": department,
        "grids": list(codes),
        "active": bool(row.active),
    }


def list_staff(
    conn: sa.Connection,
    code: str | None = None,
    role: str | None = None,
    department_id: int | None = None,
) -> list[tuple[sa.Row, list[str], dict | None]]:
    """People as ``(row, codes, department)`` by id; ``code`` matches the codes under it too."""
    query = sa.select(staff).order_by(staff.c.id)
    if code is not None:
        validate_code(code)
        serving = staff_grids.c.code.startswith(code, autoescape=True)
        query = query.where(staff.c.id.in_(sa.select(staff_grids.c.staff_id).where(serving)))
    if role is not None:
        if role not in STAFF_ROLES:
            raise bad_field("role", f"expected one of {', '.join(STAFF_ROLES)}, got {role!r}")
        query = query.where(staff.c.role == role)
    if department_id is not None:
        query = query.where(staff.c.department_id == department_id)
    return _with_codes(conn, query)


def get_staff(conn: sa.Connection, staff_id: int) -> tuple[sa.Row, list[str], dict | None]:
    """One person as ``(row, codes, department)``, or :class:`NotFoundError`."""
    found = _with_codes(conn, sa.select(staff).where(staff.c.id == staff_id))
    if not found:
        raise NotFoundError(f"no staff with id {staff_id}")
    return found[0]


def list_departments(conn: sa.Connection) -> list[dict]:
    """Every department as ``{"id", "name"}``, by id."""
    query = sa.select(departments.c.id, departments.c.name).order_by(departments.c.id)
    return [{"id": id_, "name": name} for id_, name in conn.execute(query)]


def _with_codes(conn: sa.Connection, query: sa.Select) -> list[tuple]:
    """The people of ``query`` as ``(row, codes, department)``."""
    people = conn.execute(query).all()
    served = _codes_of(conn, query) if people else {}
    named = {d["id"]: d for d in list_departments(conn)} if people else {}
    return [(p, served.get(p.id, []), named.get(p.department_id)) for p in people]
