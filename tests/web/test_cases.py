"""The case workbench through the API and the pages: dispatch rules, workers, photos, merging.

The small district (tests/grids_inline.py) with a roster: a 网格员 for each
grid of community 甲, a 网格长 for community 乙 (whose grid has no worker), a
contact for the stadium's dedicated grid, two departments; grid
410102002001002 outside the stadium has nobody (the street's queue).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from geogrid.auth import create_token, create_user
from geogrid.cases.staff import StaffRow, import_roster
from geogrid.storage.schema import event_history, event_media, events

ROSTER = [
    ("W1", "张伟", "13800000001", "网格员", None, ("410102001001001",)),
    ("W2", "李娜", "13800000002", "网格员", None, ("410102001001002",)),
    ("L1", "赵敏", "13800000003", "网格长", None, ("410102001002",)),
    ("Z1", "陈刚", "13800000004", "专职网格员", None, ("410102002001Z01",)),
    ("D1", "刘洋", "13800000005", "部门联络员", "消防", ()),
    ("D2", "孙丽", "13800000006", "部门联络员", "城管执法", ()),
]
IN_MICRO = (113.507, 34.707)  # micro 01 of grid 410102001001001 (W1's)
IN_GRID2 = (113.54, 34.72)  # grid 410102001001002 (W2's)
IN_YI = (113.52, 34.75)  # grid 410102001002001: no worker, community 乙's leader L1
IN_STADIUM = (113.575, 34.725)  # dedicated grid 410102002001Z01 (Z1)
NOBODY = (113.59, 34.75)  # grid 410102002001002: nobody on the roster


@pytest.fixture
def roster(store, clock):
    rows = [StaffRow(i + 2, *r[:5], r[5]) for i, r in enumerate(ROSTER)]
    import_roster(store, rows, clock.now)
    with store.engine.connect() as conn:
        ids = dict(conn.execute(sa.text("SELECT ref, id FROM staff")).all())
        deps = dict(conn.execute(sa.text("SELECT name, id FROM departments")).all())
    return ids, deps


@pytest.fixture
def people(store, roster, tokens):
    """Bearer headers of two workers (W1, W2) besides the roles of ``tokens``."""
    out = dict(tokens)
    for name, ref in (("w1", "W1"), ("w2", "W2")):
        create_user(store, name, "worker", staff_ref=ref)
        out[name] = {"Authorization": f"Bearer {create_token(store, name)}"}
    return out


def report(api, headers, where, category="noise", **extra) -> int:
    body = {"lon": where[0], "lat": where[1], "category": category, **extra}
    answer = api.post("/api/v1/events", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def step(api, headers, event_id, **body):
    return api.patch(f"/api/v1/events/{event_id}", json=body, headers=headers)


@pytest.mark.parametrize(
    ("where", "category", "ref", "rule"),
    [
        (IN_MICRO, "noise", "W1", "grid"),  # a micro grid's parent grid
        (IN_GRID2, "sanitation", "W2", "grid"),
        (IN_YI, "noise", "L1", "community"),  # no 网格员: the community's 网格长
        (IN_STADIUM, "noise", "Z1", "dedicated"),  # the dedicated grid's contact first
    ],
)
def test_accepting_dispatches_to_who_serves_the_grid(
    api, people, roster, where, category, ref, rule
):
    ids, _ = roster
    event_id = report(api, people["rep"], where, category)
    answer = step(api, people["adm"], event_id, status="accepted")
    assert answer.status_code == 200, answer.get_json()
    case = answer.get_json()
    assert case["status"] == "dispatched"
    name, role = next((r[1], r[3]) for r in ROSTER if r[0] == ref)
    assert case["assignee"] == {
        "staff_id": ids[ref],
        "name": name,
        "role": role,
        "department": None,
    }
    accepted, dispatched = case["history"][-2:]
    assert (accepted["to"], dispatched["to"]) == ("accepted", "dispatched")
    assert dispatched["assignee"]["rule"] == rule and dispatched["assignee"]["staff_id"] == ids[ref]


def test_a_departmental_category_goes_to_the_department_queue(api, people, roster):
    _, deps = roster
    event_id = report(api, people["rep"], IN_MICRO, "fire_hazard")  # categories.toml: 消防
    case = step(api, people["adm"], event_id, status="accepted").get_json()
    assert case["status"] == "dispatched"
    assert case["assignee"] == {
        "staff_id": None,
        "name": None,
        "role": None,
        "department": {"id": deps["消防"], "name": "消防"},
    }
    queue = api.get(f"/api/v1/events?department={deps['消防']}", headers=people["adm"])
    assert [e["id"] for e in queue.get_json()["events"]] == [event_id]


def test_nobody_serving_leaves_the_case_in_the_street_queue(api, people, roster):
    event_id = report(api, people["rep"], NOBODY)
    case = step(api, people["adm"], event_id, status="accepted").get_json()
    assert case["status"] == "accepted" and case["assignee"] is None
    assert case["queue"] == "410102002001002"  # not yet overdue: its grid's queue
    # an operator then names someone
    _, deps = roster
    case = step(
        api,
        people["adm"],
        event_id,
        status="dispatched",
        assignee={"department_id": deps["城管执法"]},
    ).get_json()
    assert case["status"] == "dispatched" and case["assignee"]["department"]["name"] == "城管执法"
    assert case["history"][-1]["assignee"]["rule"] == "manual"


def test_the_least_loaded_worker_of_a_grid_gets_the_case(api, people, store, clock, roster):
    ids, _ = roster
    extra = StaffRow(2, "W3", "周杰", None, "网格员", None, ("410102001001001",))
    w1 = StaffRow(3, "W1", "张伟", "13800000001", "网格员", None, ("410102001001001",))
    import_roster(store, [extra, w1], clock.now)
    first = report(api, people["rep"], IN_MICRO)
    second = report(api, people["rep"], IN_MICRO, description="again")
    a = step(api, people["adm"], first, status="accepted").get_json()["assignee"]["staff_id"]
    b = step(api, people["adm"], second, status="accepted").get_json()["assignee"]["staff_id"]
    assert {a, b} == {ids["W1"], ids["W1"] + 6}  # one each: W3 got the id after the six
    assert a == ids["W1"]  # a tie goes to the lower id


def test_reassignment_is_a_history_step_and_moves_the_queues(api, people, roster):
    ids, _ = roster
    event_id = report(api, people["rep"], IN_MICRO)
    step(api, people["adm"], event_id, status="accepted")
    answer = step(api, people["op1"], event_id, assignee={"staff_id": ids["W2"]}, note="换人")
    assert answer.status_code == 200, answer.get_json()
    case = answer.get_json()
    assert case["status"] == "dispatched" and case["assignee"]["staff_id"] == ids["W2"]
    last = case["history"][-1]
    assert (last["from"], last["to"], last["note"], last["actor"]) == (
        "dispatched",
        "dispatched",
        "换人",
        "op1",
    )
    mine = api.get(f"/api/v1/events?assignee={ids['W2']}", headers=people["adm"]).get_json()
    assert [e["id"] for e in mine["events"]] == [event_id]
    w1 = api.get(f"/api/v1/events?assignee={ids['W1']}", headers=people["adm"]).get_json()
    assert w1["total"] == 0
    # an operator of another street may not; nor a worker
    assert step(api, people["op2"], event_id, assignee={"staff_id": ids["W1"]}).status_code == 403
    assert step(api, people["w2"], event_id, assignee={"staff_id": ids["W1"]}).status_code == 403
    bad = step(api, people["adm"], event_id, assignee={"staff_id": 999})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "assignee"


def test_a_worker_reads_and_works_only_their_own_cases(api, people, roster):
    mine = report(
        api, people["rep"], IN_MICRO, reporter_name="王小二", reporter_phone="13912345678"
    )
    theirs = report(api, people["rep"], IN_GRID2)
    for event_id in (mine, theirs):
        step(api, people["adm"], event_id, status="accepted")
    listed = api.get("/api/v1/events", headers=people["w1"]).get_json()
    assert [e["id"] for e in listed["events"]] == [mine]
    # asking for someone else's queue still gives only their own
    other = api.get(f"/api/v1/events?assignee={roster[0]['W2']}", headers=people["w1"]).get_json()
    assert other["total"] == 0
    one = api.get(f"/api/v1/events/{mine}", headers=people["w1"]).get_json()
    assert one["reporter"] == {"name": "王小二", "phone": "13912345678"}  # to call back
    assert api.get(f"/api/v1/events/{theirs}", headers=people["w1"]).status_code == 403
    assert step(api, people["w1"], theirs, status="handling").status_code == 403
    assert step(api, people["w1"], mine, status="handling").status_code == 200
    assert step(api, people["w1"], mine, status="resolved").status_code == 200
    assert (
        step(api, people["w1"], mine, status="closed").status_code == 403
    )  # the check is not theirs
    # the other surfaces give a worker the public view, as to anyone without read rights
    assert api.get("/api/v1/stats", headers=people["w1"]).status_code == 403
    assert api.get("/api/v1/staff", headers=people["w1"]).status_code == 403
    posted = api.post(
        "/api/v1/events",
        json={"lon": IN_MICRO[0], "lat": IN_MICRO[1], "category": "sanitation"},
        headers=people["w1"],
    )
    assert posted.status_code == 201  # a worker reports what they see


def test_a_worker_account_needs_a_roster_entry(store, roster):
    from geogrid.errors import InvalidInputError, NotFoundError

    with pytest.raises(InvalidInputError):
        create_user(store, "nobody", "worker")
    with pytest.raises(NotFoundError):
        create_user(store, "ghost", "worker", staff_ref="W404")
    with pytest.raises(InvalidInputError):
        create_user(store, "op9", "operator", staff_ref="W1")


def test_staff_api_is_for_operators_and_masks_phones_by_scope(api, people, roster):
    ids, deps = roster
    assert api.get("/api/v1/staff").status_code == 401
    for role in ("rep", "view"):
        assert api.get("/api/v1/staff", headers=people[role]).status_code == 403
    body = api.get("/api/v1/staff", headers=people["op2"]).get_json()
    assert body["total"] == 6
    phones = {p["ref"]: p["phone"] for p in body["staff"]}
    assert phones["W1"] == "138****0001"  # street 001's worker: not op2's street
    assert phones["Z1"] == "13800000004"  # the stadium is in op2's street
    assert phones["D1"] == "13800000005"  # a department's liaison: every operator
    fire = next(d for d in body["departments"] if d["name"] == "消防")
    assert fire == {"id": deps["消防"], "name": "消防", "categories": ["fire_hazard"]}
    one = api.get(f"/api/v1/staff/{ids['W1']}", headers=people["adm"]).get_json()
    assert one["phone"] == "13800000001" and one["grids"] == ["410102001001001"]
    assert api.get("/api/v1/staff/999", headers=people["adm"]).status_code == 404
    served = api.get("/api/v1/staff?code=410102001", headers=people["adm"]).get_json()
    assert sorted(p["ref"] for p in served["staff"]) == ["L1", "W1", "W2"]


# -- photos --------------------------------------------------------------------


def jpeg(color=(200, 30, 30), gps=None, size=(64, 48)) -> bytes:
    """A small JPEG, with an EXIF GPS position ``(lon, lat)`` if given."""
    img = Image.new("RGB", size, color)
    exif = Image.Exif()
    if gps is not None:

        def dms(value):
            value = abs(value)
            d = int(value)
            m = int((value - d) * 60)
            return (float(d), float(m), ((value - d) * 60 - m) * 60)

        exif[0x8825] = {1: "N", 2: dms(gps[1]), 3: "E", 4: dms(gps[0])}
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def media_rows(store) -> int:
    with store.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(event_media))


def event_count(store) -> int:
    with store.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(events))


def files_in(folder) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file())


def multipart_report(api, headers, photos, **fields):
    data = {"lon": str(IN_MICRO[0]), "lat": str(IN_MICRO[1]), "category": "noise", **fields}
    data["photo"] = [(io.BytesIO(b), name) for name, b in photos]
    return api.post(
        "/api/v1/events", data=data, headers=headers, content_type="multipart/form-data"
    )


def test_a_report_with_photos_is_stored_with_its_media(api, people, store, events_app):
    far = (IN_MICRO[0] + 0.01, IN_MICRO[1])  # ~900 m east
    answer = multipart_report(
        api, people["rep"], [("a.jpg", jpeg(gps=far)), ("b.jpg", jpeg((0, 0, 200)))]
    )
    assert answer.status_code == 201, answer.get_json()
    case = answer.get_json()
    assert [m["kind"] for m in case["media"]] == ["before", "before"]
    assert case["flags"] == ["photo_far_from_point"]
    assert case["assignment"]["micro"] == "41010200100100101"
    assert len(files_in(events_app.config["MEDIA_DIR"])) == 4  # two photos, two thumbnails
    # the stored photo has no EXIF; its position is shown only to those who see personal data
    first = case["media"][0]
    served = api.get(first["url"], headers=people["adm"])
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert b"Exif" not in served.data and not Image.open(io.BytesIO(served.data)).getexif()
    assert api.get(first["thumbnail_url"], headers=people["adm"]).status_code == 200
    admin = api.get(f"/api/v1/events/{case['id']}", headers=people["adm"]).get_json()
    assert admin["media"][0]["gps"]["lon"] == pytest.approx(far[0], abs=1e-5)
    viewer = api.get(f"/api/v1/events/{case['id']}", headers=people["view"]).get_json()
    assert "gps" not in viewer["media"][0]
    # a "before" photo is not for the public
    assert api.get(first["url"]).status_code == 404


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        ([("ok.jpg", jpeg()), ("notes.txt", b"just text")], "photo 'notes.txt'"),
        ([("anim.gif", b"GIF89a" + b"\0" * 40)], "photo 'anim.gif'"),
        ([("cut.jpg", jpeg()[:200])], "photo 'cut.jpg'"),
        ([(f"p{i}.jpg", jpeg((i, i, i))) for i in range(10)], "at most 9"),
    ],
)
def test_a_bad_photo_refuses_the_whole_report(api, people, store, events_app, photos, message):
    answer = multipart_report(api, people["rep"], photos)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]["message"]
    assert event_count(store) == 0 and media_rows(store) == 0
    assert files_in(events_app.config["MEDIA_DIR"]) == []


def test_a_pixel_bomb_is_refused_by_name(api, people, store, events_app):
    big = io.BytesIO()
    Image.new("1", (8000, 6000)).save(big, "PNG")  # 48 MP in a few kB
    answer = multipart_report(api, people["rep"], [("bomb.png", big.getvalue())])
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert "bomb.png" in error["message"] and "40,000,000" in error["message"]
    assert event_count(store) == 0 and files_in(events_app.config["MEDIA_DIR"]) == []


def test_a_failed_transaction_leaves_no_photo_behind(api, people, store, events_app):
    answer = multipart_report(api, people["rep"], [("a.jpg", jpeg())], category="no-such")
    assert answer.status_code == 400  # the event itself is refused after the photos passed
    assert event_count(store) == 0 and media_rows(store) == 0
    assert files_in(events_app.config["MEDIA_DIR"]) == []


def test_resolving_attaches_after_photos_that_anyone_may_see(api, people, roster):
    event_id = report(api, people["rep"], IN_MICRO)
    step(api, people["adm"], event_id, status="accepted")
    step(api, people["w1"], event_id, status="handling")
    answer = api.patch(
        f"/api/v1/events/{event_id}",
        data={"status": "resolved", "note": "已处理", "photo": [(io.BytesIO(jpeg()), "done.jpg")]},
        headers=people["w1"],
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.get_json()
    after = answer.get_json()["media"]
    assert [m["kind"] for m in after] == ["after"]
    assert api.get(after[0]["url"]).status_code == 200  # the reporter's tracking page shows it
    # photos only come with a report or a resolve
    wrong = api.patch(
        f"/api/v1/events/{event_id}",
        data={"status": "closed", "photo": [(io.BytesIO(jpeg()), "x.jpg")]},
        headers=people["adm"],
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 400 and "photo" in wrong.get_json()["error"]["message"]


def test_the_photo_request_limit_is_raised_only_for_photo_endpoints(events_app):
    from geogrid.cases.media import MAX_PHOTO_BYTES, MAX_PHOTOS

    assert events_app.config["MAX_CONTENT_LENGTH"] < MAX_PHOTOS * MAX_PHOTO_BYTES
    client = events_app.test_client()
    body = b"x" * (events_app.config["MAX_CONTENT_LENGTH"] + 10)
    elsewhere = client.post("/api/v1/boundaries", data=body, content_type="application/json")
    assert elsewhere.status_code == 413
    here = client.post("/api/v1/events", data=body, content_type="application/json")
    assert here.status_code == 401  # read past the general limit: refused for want of a token


# -- pages ---------------------------------------------------------------------


def login(client, store, username, role, scope=None, staff_ref=None):
    create_user(store, username, role, scope, password="pw-" + "x" * 10, staff_ref=staff_ref)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(
        "/login",
        data={"username": username, "password": "pw-" + "x" * 10, "csrf_token": token},
    )
    assert answer.status_code == 302


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_case_pages_need_a_login_and_forms_need_csrf(events_app, store, api, people, roster):
    event_id = report(api, people["rep"], IN_MICRO)
    client = events_app.test_client()
    answer = client.get("/cases")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    login(client, store, "opx", "operator", "410102001")
    queue = client.get("/cases").get_data(as_text=True)
    assert f"#{event_id}" in queue and "噪音扰民" in queue
    page = client.get(f"/cases/{event_id}").get_data(as_text=True)
    assert "立案 / Accept" in page
    refused = client.post(f"/cases/{event_id}/step", data={"action": "accept"})
    assert refused.status_code == 400  # no CSRF token
    done = client.post(
        f"/cases/{event_id}/step", data={"action": "accept", "csrf_token": csrf(page)}
    )
    assert done.status_code == 303
    page = client.get(f"/cases/{event_id}").get_data(as_text=True)
    assert "张伟" in page and "已派遣 Dispatched" in page
    # the API still wants a token: the session does not write there
    assert (
        client.patch(f"/api/v1/events/{event_id}", json={"status": "handling"}).status_code == 401
    )


def test_pages_follow_the_policy(events_app, store, api, people, roster):
    mine = report(api, people["rep"], IN_MICRO, description="<b>loud</b>")
    other = report(api, people["rep"], NOBODY)
    for event_id in (mine, other):
        step(api, people["adm"], event_id, status="accepted")
    worker = events_app.test_client()
    login(worker, store, "w1web", "worker", staff_ref="W1")
    queue = worker.get("/cases").get_data(as_text=True)
    assert f"#{mine}" in queue and f"#{other} " not in queue
    assert "&lt;b&gt;loud&lt;/b&gt;" in queue and "<b>loud</b>" not in queue
    assert worker.get(f"/cases/{other}").status_code == 403
    page = worker.get(f"/cases/{mine}").get_data(as_text=True)
    assert "开始处置 / Start" in page and "改派" not in page and "立案 / Accept" not in page
    street2 = events_app.test_client()
    login(street2, store, "op2web", "operator", "410102002")
    page = street2.get(f"/cases/{mine}").get_data(as_text=True)
    assert "改派" not in page and "csrf_token" not in page  # operators read the district
    token = csrf(street2.get("/login").get_data(as_text=True))
    answer = street2.post(f"/cases/{mine}/step", data={"action": "reassign", "csrf_token": token})
    assert answer.status_code == 403  # but act only in their street
    with store.engine.connect() as conn:
        steps = conn.scalar(
            sa.select(sa.func.count())
            .select_from(event_history)
            .where(event_history.c.event_id == mine)
        )
    assert steps == 3  # reported, accepted, dispatched: nothing more


def test_merging_duplicates_from_the_case_page(events_app, store, api, people):
    main = report(api, people["rep"], IN_STADIUM, description="体育场噪音")
    dups = [
        report(api, people["rep"], (IN_STADIUM[0] + 1e-5 * i, IN_STADIUM[1]), description=f"吵 {i}")
        for i in range(1, 6)
    ]
    client = events_app.test_client()
    login(client, store, "opm", "operator", "410102002")
    page = client.get(f"/cases/{main}").get_data(as_text=True)
    assert all(f'value="{d}"' in page for d in dups)
    answer = client.post(
        f"/cases/{main}/merge", data={"ids": [str(d) for d in dups], "csrf_token": csrf(page)}
    )
    assert answer.status_code == 303
    for d in dups:
        case = api.get(f"/api/v1/events/{d}", headers=people["adm"]).get_json()
        assert (case["status"], case["duplicate_of"]) == ("merged", main)
    assert "疑似重复" not in client.get(f"/cases/{main}").get_data(as_text=True)


def test_the_cli_offers_every_role():
    from geogrid import auth, peoplecli

    assert peoplecli.ROLES == auth.ROLES


def test_grids_show_the_roster_as_their_contacts(api, people, store, clock, roster):
    # the file says 王芳 for grid 001; the roster says 张伟, and the roster is the source
    one = api.get("/api/v1/grids/410102001001001", headers=people["adm"]).get_json()
    assert (one["properties"]["leader"], one["properties"]["phone"]) == ("张伟", "13800000001")
    street = api.get("/api/v1/grids/410102001001001", headers=people["op2"]).get_json()
    assert street["properties"]["phone"] == "138****0001"  # masked outside op2's street
    community = api.get("/api/v1/grids/410102001002", headers=people["adm"]).get_json()
    assert community["properties"]["leader"] == "赵敏"  # the community's 网格长
    ogc = api.get(
        "/ogc/collections/grids/items/410102001001001?f=json", headers=people["adm"]
    ).get_json()
    assert ogc["properties"]["leader"] == "张伟"
    # a change of roster shows at once
    import_roster(
        store,
        [StaffRow(2, "W1", "张伟伟", "13800000009", "网格员", None, ("410102001001001",))],
        clock.now,
    )
    again = api.get(
        "/api/v1/grids?code=410102001001001&level=grid", headers=people["adm"]
    ).get_json()
    assert again["features"][0]["properties"]["leader"] == "张伟伟"


def test_open311_follows_the_main_case_and_links_the_after_photo(api, people, roster):
    main = report(api, people["rep"], IN_MICRO)
    dup = report(api, people["rep"], IN_MICRO, description="same")
    assert step(api, people["adm"], dup, status="merged", merge_into=main).status_code == 200
    step(api, people["adm"], main, status="accepted")
    step(api, people["w1"], main, status="handling")
    api.patch(
        f"/api/v1/events/{main}",
        data={"status": "resolved", "photo": [(io.BytesIO(jpeg()), "done.jpg")]},
        headers=people["w1"],
        content_type="multipart/form-data",
    )
    step(api, people["adm"], main, status="closed")
    rows = api.get(f"/open311/v2/requests.json?service_request_id={main},{dup}").get_json()
    by_id = {r["service_request_id"]: r for r in rows}
    assert by_id[str(dup)]["status"] == "closed"  # its reporter sees the main case's outcome
    assert f"#{main}" in by_id[str(dup)]["status_notes"]
    assert by_id[str(main)]["media_url"].endswith(".jpg")
    assert "/media/" in by_id[str(main)]["media_url"]
    assert by_id[str(dup)]["media_url"] == ""


# -- found in review: each of these failed before its fix ----------------------------


def test_a_worker_cannot_send_their_own_resolved_case_back(api, people, roster):
    event_id = report(api, people["rep"], IN_MICRO)
    step(api, people["adm"], event_id, status="accepted")
    step(api, people["w1"], event_id, status="handling")
    assert step(api, people["w1"], event_id, status="resolved").status_code == 200
    again = step(api, people["w1"], event_id, status="handling")  # the check is not theirs
    assert again.status_code == 403
    assert step(api, people["adm"], event_id, status="handling").status_code == 200


def test_a_worker_does_not_publish_notes(api, people, roster):
    event_id = report(api, people["rep"], IN_MICRO)
    step(api, people["adm"], event_id, status="accepted")
    step(api, people["w1"], event_id, status="handling")
    published = step(api, people["w1"], event_id, status="resolved", note="好了", public=True)
    assert published.status_code == 403
    assert step(api, people["w1"], event_id, status="resolved", note="好了").status_code == 200


def test_only_a_liaison_without_grids_shows_a_phone_to_every_operator(api, people, store, clock):
    rows = [
        StaffRow(2, "X1", "钱七", "13800000007", "网格员", None, ()),
        StaffRow(3, "D9", "孙八", "13800000008", "部门联络员", "环保", ()),
    ]
    import_roster(store, rows, clock.now)
    phones = {
        p["ref"]: p["phone"]
        for p in api.get("/api/v1/staff", headers=people["op2"]).get_json()["staff"]
    }
    assert (phones["X1"], phones["D9"]) == ("138****0007", "13800000008")


def test_public_notes_go_with_any_step(api, people, roster):
    event_id = report(api, people["rep"], IN_MICRO)
    case = step(api, people["adm"], event_id, status="accepted", note="已受理", public=True)
    accepted = [h for h in case.get_json()["history"] if h["to"] == "accepted"]
    assert accepted[0]["public"] is True


def test_an_after_photo_far_from_the_point_flags_the_case(api, people, roster):
    event_id = report(api, people["rep"], IN_MICRO)
    step(api, people["adm"], event_id, status="accepted")
    step(api, people["w1"], event_id, status="handling")
    far = (IN_MICRO[0] + 0.01, IN_MICRO[1])
    answer = api.patch(
        f"/api/v1/events/{event_id}",
        data={"status": "resolved", "photo": [(io.BytesIO(jpeg(gps=far)), "elsewhere.jpg")]},
        headers=people["w1"],
        content_type="multipart/form-data",
    )
    assert answer.get_json()["flags"] == ["photo_far_from_point"]


def test_a_nameless_photo_part_is_checked_not_dropped(api, people, store):
    data = {"lon": str(IN_MICRO[0]), "lat": str(IN_MICRO[1]), "category": "noise"}
    data["photo"] = [(io.BytesIO(b"not an image at all"), "")]
    answer = api.post(
        "/api/v1/events", data=data, headers=people["rep"], content_type="multipart/form-data"
    )
    assert answer.status_code == 400 and "photo 1" in answer.get_json()["error"]["message"]
    assert event_count(store) == 0


def test_a_failed_write_keeps_a_photo_another_request_stored(events_app, store, api, people):
    from geogrid.cases.media import check_photo
    from web.casework import media_store, saved

    other = report(api, people["rep"], IN_MICRO)
    photo = check_photo("same.jpg", jpeg((1, 2, 3)))
    fails = pytest.raises(RuntimeError)
    with events_app.test_request_context("/"), fails, saved([photo]):  # this one writes it …
        with store.write() as conn:  # … another request stores a row for the same photo …
            conn.execute(
                sa.insert(event_media).values(
                    event_id=other, kind="before", sha256=photo.sha256, format="jpeg",
                    width=64, height=48, created_at=clock_now(), created_by="x",
                )
            )  # fmt: skip
        raise RuntimeError("… and this one fails")
    with events_app.test_request_context("/"):
        assert media_store().path(photo.sha256, "jpeg").exists()


def clock_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999",
        "page=²",
        "from=0001-01-01",
        "to=9999-12-31",
        "from=2026-13-45",
        "grid=41010200100100101&page=-3",
    ],
)
def test_odd_queue_parameters_are_ignored_not_a_crash(events_app, store, query):
    client = events_app.test_client()
    login(client, store, "opq", "operator")
    assert client.get(f"/cases?{query}").status_code == 200


@pytest.mark.parametrize("value", ["s:²", "s:99999999999999999999", "d:-1", "x:1", ""])
def test_odd_assignees_and_ids_on_the_pages_are_refused_not_a_crash(
    events_app, store, api, people, roster, value
):
    event_id = report(api, people["rep"], IN_MICRO)
    step(api, people["adm"], event_id, status="accepted")
    client = events_app.test_client()
    login(client, store, "opz", "operator")
    token = csrf(client.get("/login").get_data(as_text=True))
    answer = client.post(
        f"/cases/{event_id}/step",
        data={"action": "reassign", "assignee": value, "csrf_token": token},
    )
    assert answer.status_code == 303  # back to the case, with the reason flashed
    merged = client.post(
        f"/cases/{event_id}/merge",
        data={"ids": ["²", "99999999999999999999", value], "csrf_token": token},
    )
    assert merged.status_code == 303


def test_the_map_link_keeps_the_dates(events_app, store):
    client = events_app.test_client()
    login(client, store, "opd2", "operator")
    page = client.get("/cases?from=2026-06-01&to=2026-06-30").get_data(as_text=True)
    link = re.search(r'href="(/\?[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "from=2026-06-01T00:00:00%2B08:00" in link  # China's day, as the map reads it
    assert "to=2026-07-01T00:00:00%2B08:00" in link  # the end day included


def test_open311_follows_a_chain_of_merges(api, people):
    r, x, y = (report(api, people["rep"], IN_MICRO, description=d) for d in "rxy")
    for case, main in ((r, x), (x, y)):
        assert step(api, people["adm"], case, status="merged", merge_into=main).status_code == 200
    step(api, people["adm"], y, status="rejected")
    rows = api.get(f"/open311/v2/requests.json?service_request_id={r}").get_json()
    assert rows[0]["status"] == "closed" and f"#{y}" in rows[0]["status_notes"]
