"""The roster: reading CSV and Excel files, checked row by row, and storing them idempotently."""

import zipfile
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from geogrid.cases.staff import (
    StaffRow,
    get_staff,
    import_roster,
    list_departments,
    list_staff,
    read_roster,
    staff_dict,
)
from geogrid.cli import main
from geogrid.errors import InvalidCodeError, InvalidInputError, NotFoundError
from geogrid.storage.schema import departments, staff, staff_grids
from geogrid.times import utc

T = datetime(2026, 7, 1, 8, tzinfo=UTC)
HEADER = "ref,name,phone,role,grids,department\n"
ROSTER = (
    HEADER + "w1,王芳,13812341234,网格员,410102001001001;41010200100100101,\n"
    "w2,李强,,专职网格员,410102002001Z01、410102002001002,\n"
    "c1,赵敏,0371-6688 1234,社区书记,410102001001,\n"
    "d1,孙磊,+86 13900001111,部门联络员,,城管局\n"
    "d2,周涛,,部门联络员,410102,城管局\n"
)


def _write(tmp_path, text, name="staff.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _people(store):
    with store.engine.connect() as conn:
        return {row.ref: (row, codes, dept) for row, codes, dept in list_staff(conn)}


def _count(store, table):
    with store.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def test_csv_import_creates_people_departments_and_grid_links(store, tmp_path):
    rows = read_roster(_write(tmp_path, ROSTER))
    assert [r.line for r in rows] == [2, 3, 4, 5, 6]
    assert rows[1] == StaffRow(
        3, "w2", "李强", None, "专职网格员", None, ("410102002001Z01", "410102002001002")
    )
    counts = import_roster(store, rows, T)
    assert counts == {
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "departments_created": 1,
        "unknown_codes": [],
    }
    people = _people(store)
    assert list(people) == ["w1", "w2", "c1", "d1", "d2"]
    row, codes, dept = people["w1"]
    assert codes == ["410102001001001", "41010200100100101"] and dept is None
    assert (row.name, row.phone, row.role, row.active) == ("王芳", "13812341234", "网格员", True)
    assert people["w2"][1] == ["410102002001002", "410102002001Z01"]
    with store.engine.connect() as conn:
        assert list_departments(conn) == [{"id": people["d1"][2]["id"], "name": "城管局"}]
    assert people["d1"][2] == people["d2"][2] == {"id": people["d1"][2]["id"], "name": "城管局"}
    assert people["d1"][1] == [] and people["d2"][1] == ["410102"]
    assert _count(store, staff_grids) == 6


def test_second_import_changes_nothing(store, tmp_path):
    rows = read_roster(_write(tmp_path, ROSTER))
    import_roster(store, rows, T)
    before = {ref: (p[0].updated_at, p[1]) for ref, p in _people(store).items()}
    again = import_roster(store, rows, T + timedelta(days=1))
    assert again == {
        "created": 0,
        "updated": 0,
        "unchanged": 5,
        "departments_created": 0,
        "unknown_codes": [],
    }
    assert {ref: (p[0].updated_at, p[1]) for ref, p in _people(store).items()} == before
    assert (_count(store, staff), _count(store, departments), _count(store, staff_grids)) == (
        5,
        1,
        6,
    )


def test_a_changed_phone_or_grid_updates_only_that_person(store, tmp_path):
    import_roster(store, read_roster(_write(tmp_path, ROSTER)), T)
    later = T + timedelta(days=1)
    changed = ROSTER.replace("13812341234", "13812345678").replace("410102001001,", "410102001002,")
    counts = import_roster(store, read_roster(_write(tmp_path, changed)), later)
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 2, 3)
    people = _people(store)
    assert people["w1"][0].phone == "13812345678"
    assert people["w1"][1] == ["410102001001001", "41010200100100101"]
    assert people["c1"][1] == ["410102001002"]
    stamps = {ref: utc(p[0].updated_at) for ref, p in people.items()}
    assert stamps["w1"] == stamps["c1"] == later
    assert stamps["w2"] == stamps["d1"] == stamps["d2"] == T
    assert _count(store, staff_grids) == 6


def test_xlsx_import_with_numbers_typed_as_numbers(store, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ref", "name", "phone", "role", "grids"])
    sheet.append([101, "王芳", 13812341234, "网格员", 410102001001002])
    sheet.append([])
    sheet.append(["102", "李强", 13900001111, "网格长", "410102001001；410102001002"])
    path = tmp_path / "roster.xlsx"
    book.save(path)
    _exponent(path, "13900001111", "1.3900001111E10")  # as some spreadsheets write numbers
    rows = read_roster(path)
    assert rows == [
        StaffRow(2, "101", "王芳", "13812341234", "网格员", None, ("410102001001002",)),
        StaffRow(4, "102", "李强", "13900001111", "网格长", None, ("410102001001", "410102001002")),
    ]
    assert import_roster(store, rows, T)["created"] == 2
    assert _people(store)["102"][1] == ["410102001001", "410102001002"]


def _exponent(path, plain, written):
    """Rewrite a number in the first sheet's XML, so openpyxl reads it back as a float."""
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as old:
        parts = {name: old.read(name) for name in old.namelist()}
    assert f"<v>{plain}</v>".encode() in parts[sheet]
    parts[sheet] = parts[sheet].replace(f"<v>{plain}</v>".encode(), f"<v>{written}</v>".encode())
    with zipfile.ZipFile(path, "w") as new:
        for name, data in parts.items():
            new.writestr(name, data)


def test_every_bad_row_is_named_by_line_and_field(tmp_path):
    text = (
        HEADER + "ok1,王芳,13812341234,网格员,410102001001001,\n"  # 2
        "bad1,张三,,司机,,\n"  # 3
        '"ok2","多行\n地址",,网格员,,\n'  # 4-5: a quoted cell over two lines
        "\n"  # 6: blank, skipped
        "ok1,重复,,网格员,,\n"  # 7
        "bad3,李四,12ab,网格长,410102001001001,\n"  # 8
        "bad4,,,部门联络员,,\n"  # 9
        "bad5,王五,,网格员,4101020010010,城管局\n"  # 10
        f"{'x' * 41},赵六,,社区书记,410102001001,\n"  # 11
        "ok3,钱七,,网格员,410102001001001;41010200100100101,\n"  # 12
    )
    with pytest.raises(InvalidInputError) as caught:
        read_roster(_write(tmp_path, text))
    err = caught.value
    assert err.message == "staff.csv: 6 bad rows"
    assert [(d["line"], d["field"]) for d in err.details] == [
        (3, "role"),
        (7, "ref"),
        (8, "phone"),
        (8, "grids"),
        (9, "name"),
        (9, "department"),
        (10, "department"),
        (10, "grids"),
        (11, "ref"),
    ]
    by_line = {(d["line"], d["field"]): d["message"] for d in err.details}
    assert by_line[(3, "role")] == (
        "expected one of 网格员, 专职网格员, 网格长, 社区书记, 部门联络员, got '司机'"
    )
    assert by_line[(7, "ref")] == "'ok1' is already on line 2"
    assert "'410102001001001' is a grid code" in by_line[(8, "grids")]
    assert by_line[(9, "department")] == "a 部门联络员 must name a department"
    assert "not a grid code" in by_line[(10, "grids")]


def test_a_name_with_a_control_character_is_refused(tmp_path):
    path = _write(tmp_path, HEADER + "a1,王\x01芳,,网格员,,\n")
    with pytest.raises(InvalidInputError) as caught:
        read_roster(path)
    assert caught.value.details == [
        {
            "line": 2,
            "field": "name",
            "message": "contains the control character U+0001; only tab, CR and LF are allowed",
        }
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("ref,name,role,mobile,remark\n", "unknown columns: 'mobile', 'remark'"),
        ("ref,name,phone\n", "missing columns: 'role'"),
        ("ref,编号,name,role\n", "columns given twice: 'ref'"),
    ],
)
def test_a_bad_header_is_refused(tmp_path, header, message):
    with pytest.raises(InvalidInputError) as caught:
        read_roster(_write(tmp_path, header + "a,b,c,d\n"))
    assert caught.value.message.startswith("staff.csv: line 1: ")
    assert message in caught.value.message


def test_chinese_headers_and_a_bom(tmp_path):
    text = "编号,姓名,电话,角色,网格,部门\n" + "z1,王芳,,网格员,410102001001001 410102001001002,\n"
    rows = read_roster(_write(tmp_path, text, encoding="utf-8-sig"))
    assert rows == [
        StaffRow(2, "z1", "王芳", None, "网格员", None, ("410102001001001", "410102001001002"))
    ]


def test_a_gb18030_file(store, tmp_path):
    path = _write(
        tmp_path,
        "编号,姓名,角色,部门\n" + "g1,欧阳娜娜,部门联络员,市场监管局\n",
        encoding="gb18030",
    )
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    rows = read_roster(path)
    assert rows == [StaffRow(2, "g1", "欧阳娜娜", None, "部门联络员", "市场监管局", ())]
    assert import_roster(store, rows, T)["departments_created"] == 1
    with store.engine.connect() as conn:
        assert [d["name"] for d in list_departments(conn)] == ["市场监管局"]


def test_unknown_codes_are_a_warning_not_an_error(store, tmp_path):
    text = HEADER + "n1,王芳,,网格员,410102001001009;410102001001001;410102002001Z02,\n"
    counts = import_roster(store, read_roster(_write(tmp_path, text)), T)
    assert counts["created"] == 1
    assert counts["unknown_codes"] == ["410102001001009", "410102002001Z02"]
    assert _people(store)["n1"][1] == ["410102001001001", "410102001001009", "410102002001Z02"]


def test_listing_filters_masks_and_finds_one(store, tmp_path):
    import_roster(store, read_roster(_write(tmp_path, ROSTER)), T)
    with store.engine.connect() as conn:
        assert [p.ref for p, _, _ in list_staff(conn, code="410102001001")] == ["w1", "c1"]
        assert [p.ref for p, _, _ in list_staff(conn, code="41010200100100101")] == ["w1"]
        assert [p.ref for p, _, _ in list_staff(conn, code="410102002")] == ["w2"]
        assert [p.ref for p, _, _ in list_staff(conn, role="部门联络员")] == ["d1", "d2"]
        department = list_departments(conn)[0]["id"]
        assert [p.ref for p, _, _ in list_staff(conn, department_id=department)] == ["d1", "d2"]
        with pytest.raises(InvalidInputError, match="role: expected one of"):
            list_staff(conn, role="司机")
        with pytest.raises(InvalidCodeError):
            list_staff(conn, code="4101")
        w1 = next(p for p, _, _ in list_staff(conn) if p.ref == "w1")
        row, codes, dept = get_staff(conn, w1.id)
        with pytest.raises(NotFoundError):
            get_staff(conn, 999999)
    shown = staff_dict(row, codes, dept, personal=False)
    assert shown == {
        "id": w1.id,
        "ref": "w1",
        "name": "王芳",
        "phone": "138****1234",
        "role": "网格员",
        "department": None,
        "grids": ["410102001001001", "41010200100100101"],
        "active": True,
    }
    assert staff_dict(row, codes, dept, personal=True)["phone"] == "13812341234"
    assert staff_dict(*_people(store)["w2"], personal=False)["phone"] is None


def test_cli_imports_a_roster_and_warns_of_unknown_codes(store, tmp_path):
    runner = CliRunner(env={"GEOGRID_DATABASE_URL": store.url})
    path = _write(tmp_path, ROSTER + "n1,吴刚,,网格员,410102001001009,\n")
    result = runner.invoke(main, ["staff", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "6 created, 0 updated, 0 unchanged, 1 departments created\n"
    assert "warning: 1 codes not in the active generation: 410102001001009" in result.stderr
    again = runner.invoke(main, ["staff", "import", str(path)])
    assert again.stdout.startswith("0 created, 0 updated, 6 unchanged, 0 departments created")


def test_nothing_is_stored_when_any_row_is_bad(store, tmp_path):
    runner = CliRunner(env={"GEOGRID_DATABASE_URL": store.url})
    path = _write(tmp_path, ROSTER + "x1,吴刚,,网格员,,城管局\n" + "x2,郑八,,司机,,\n")
    result = runner.invoke(main, ["staff", "import", str(path)])
    assert result.exit_code == 2
    assert "error: staff.csv: 2 bad rows" in result.stderr
    assert "line 7: department: only a 部门联络员 has a department, not a 网格员" in result.stderr
    assert "line 8: role: expected one of" in result.stderr
    assert (_count(store, staff), _count(store, departments), _count(store, staff_grids)) == (
        0,
        0,
        0,
    )


def test_import_is_one_transaction(store, tmp_path, monkeypatch):
    import geogrid.cases.staff as module

    def broken(conn, wanted):
        raise RuntimeError("after the writes")

    monkeypatch.setattr(module, "_unknown_codes", broken)
    with pytest.raises(RuntimeError):
        import_roster(store, read_roster(_write(tmp_path, ROSTER)), T)
    assert (_count(store, staff), _count(store, departments), _count(store, staff_grids)) == (
        0,
        0,
        0,
    )
