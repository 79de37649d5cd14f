"""The events API: intake, reading, workflow, duplicates, access — exact error bodies."""

import json
import threading

import pytest
import sqlalchemy as sa
from requests_json import patch_event

from geogrid.coords import from_wgs84
from geogrid.storage.schema import events

GOOD = {
    "lon": 113.507,
    "lat": 34.707,
    "category": "noise",
    "description": "广场舞音响太吵",
    "source": "app",
    "reported_at": "2026-07-01T11:30:00+08:00",
    "reporter_name": "李娜",
    "reporter_phone": "13912345678",
}


def post(api, body, headers):
    return api.post(
        "/api/v1/events", data=json.dumps(body), headers=headers, content_type="application/json"
    )


def field_error(field, message):
    return {
        "error": {
            "type": "InvalidInputError",
            "message": f"{field}: {message}",
            "details": [{"field": field, "message": message}],
        }
    }


def count(store):
    with store.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(events))


def test_one_event_is_stored_assigned_and_answered(api, tokens):
    response = post(api, GOOD, tokens["rep"])
    assert response.status_code == 201
    body = response.get_json()
    assert body["assignment"] == {
        "district": "410102",
        "street": "410102001",
        "community": "410102001001",
        "grid": "410102001001001",
        "micro": "41010200100100101",
        "dedicated": None,
        "method": "inside",
        "generation": 1,
    }
    assert body["status"] == "reported" and body["description"] == "广场舞音响太吵"
    assert body["stage_due_at"] == "2026-07-01T05:30:00+00:00"  # noise: accept within 2 h
    assert body["close_due_at"] == "2026-07-03T07:30:00+00:00"  # 2 + 2 + 24 + 24 h
    detail = api.get(f"/api/v1/events/{body['id']}", headers=tokens["adm"]).get_json()
    assert detail["history"] == [
        {
            "at": "2026-07-01T04:00:00+00:00",
            "actor": "rep",
            "from": None,
            "to": "reported",
            "note": "",
            "assignee": None,
            "public": False,
        }
    ]
    assert detail["reporter"] == {"name": "李娜", "phone": "13912345678"}
    assert detail["assignee"] is None and detail["media"] == [] and detail["flags"] == []


def test_gcj02_is_converted_and_the_input_kept(api, tokens):
    x, y = from_wgs84(113.575, 34.725, "gcj02")
    body = post(
        api, {**GOOD, "lon": float(x), "lat": float(y), "crs": "gcj02"}, tokens["rep"]
    ).get_json()
    assert body["assignment"]["dedicated"] == "410102002001Z01"
    assert body["lon"] == pytest.approx(113.575, abs=1e-8)
    assert (body["lon_in"], body["lat_in"], body["crs"]) == (float(x), float(y), "gcj02")


def test_a_point_outside_is_stored_and_routed_to_the_district(api, tokens, store):
    body = post(api, {**GOOD, "lon": 113.3}, tokens["rep"]).get_json()
    assert body["assignment"]["method"] == "outside" and body["queue"] == "410102"
    assert count(store) == 1


def test_free_text_is_stored_exactly(api, tokens):
    text = "</script><script>alert(1)</script> `${alert(2)}` <img src=x onerror=alert(3)> 噪音"
    body = post(api, {**GOOD, "description": text}, tokens["rep"]).get_json()
    again = api.get(f"/api/v1/events/{body['id']}", headers=tokens["view"])
    assert again.get_json()["description"] == text
    assert again.mimetype == "application/json"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"lon": None}, "lon", "is required (a number of degrees)"),
        ({"lon": "abc"}, "lon", "expected a number, got 'abc'"),
        ({"lat": True}, "lat", "expected a number, got bool"),
        (
            {"lon": 200},
            "lon,lat",
            "lon=200.0, lat=34.707 out of range: expected lon in [-180, 180], lat in [-90, 90]",
        ),
        (
            {"lon": 34.707, "lat": 113.507},
            "lon,lat",
            "lat=113.507 is out of range [-90, 90]; lon and lat look swapped (lon comes first)",
        ),
        (
            {"crs": "epsg:3857"},
            "crs",
            "expected one of wgs84, cgcs2000, gcj02, bd09, got 'epsg:3857'",
        ),
        (
            {"category": "ufo"},
            "category",
            "expected one of noise, safety_hazard, fire_hazard, "
            "illegal_construction, sanitation, elderly_help, municipal_facility, other, got 'ufo'",
        ),
        (
            {"category": None},
            "category",
            "is required: one of noise, safety_hazard, "
            "fire_hazard, illegal_construction, sanitation, elderly_help, municipal_facility, "
            "other",
        ),
        ({"description": "噪" * 4001}, "description", "is 4001 characters; at most 4000 allowed"),
        (
            {"source": "fax"},
            "source",
            "expected one of app, hotline, inspection, wechat, open311, web, other, got 'fax'",
        ),
        (
            {"reported_at": "2026-07-01T11:30:00"},
            "reported_at",
            "needs a time zone (e.g. +08:00), got '2026-07-01T11:30:00'",
        ),
        (
            {"reported_at": "yesterday"},
            "reported_at",
            "expected ISO 8601 with a zone, e.g. 2026-07-01T21:30:00+08:00, got 'yesterday'",
        ),
        (
            {"reported_at": "2026-07-02T11:30:00+08:00"},
            "reported_at",
            "'2026-07-02T11:30:00+08:00' is in the future",
        ),
        (
            {"reporter_phone": "call me"},
            "reporter_phone",
            "expected a phone number (digits), got 'call me'",
        ),
        (
            {"colour": "red"},
            "colour",
            "unknown field; expected some of lon, lat, crs, category, "
            "description, source, reported_at, reporter_name, reporter_phone, idempotency_key",
        ),
    ],
)
def test_bad_events_get_400_naming_the_field(api, tokens, store, change, field, message):
    body = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    response = post(api, body, tokens["rep"])
    assert response.status_code == 400
    assert response.get_json() == field_error(field, message)
    assert count(store) == 0


def test_a_description_of_exactly_4000_characters_is_fine(api, tokens):
    assert post(api, {**GOOD, "description": "噪" * 4000}, tokens["rep"]).status_code == 201


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            '{"lon": 113.5,\n "lat": }',
            {
                "error": {
                    "type": "InvalidInputError",
                    "message": "invalid JSON at line 2 column 9: Expecting value",
                    "details": [
                        {"field": "body", "message": "Expecting value", "line": 2, "column": 9}
                    ],
                }
            },
        ),
        ('{"lon": NaN, "lat": 34.7}', field_error("body", "NaN is not a number JSON allows")),
        ("", field_error("body", "is empty; expected JSON")),
        ('"just a string"', field_error("events", "expected an array of event objects")),
    ],
)
def test_malformed_bodies_get_400(api, tokens, data, expected):
    response = api.post(
        "/api/v1/events", data=data, headers=tokens["rep"], content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json() == expected


def test_a_batch_stores_the_good_items_and_reports_the_bad_by_index(api, tokens, store):
    batch = [GOOD, {**GOOD, "lat": "north"}, {**GOOD, "lon": 113.59, "lat": 34.75}, "not an object"]
    body = post(api, batch, tokens["rep"]).get_json()
    assert (body["created"], body["existing"], body["invalid"]) == (2, 0, 2)
    assert [r["outcome"] for r in body["results"]] == ["created", "invalid", "created", "invalid"]
    assert (
        body["results"][1]["error"] == field_error("lat", "expected a number, got 'north'")["error"]
    )
    assert body["results"][3]["error"]["message"] == "event: expected a JSON object, got str"
    assert body["results"][2]["event"]["assignment"]["grid"] == "410102002001002"
    assert count(store) == 2
    assert post(api, {"events": [GOOD]}, tokens["rep"]).get_json()["created"] == 1


def test_a_batch_over_the_limit_is_refused_whole(api, tokens, store):
    response = post(api, [GOOD] * 10_001, tokens["rep"])
    assert response.status_code == 400
    assert response.get_json() == {
        "error": {
            "type": "InvalidInputError",
            "message": "events: a batch of 10001 is over the limit of 10000",
            "details": [{"field": "events", "message": "at most 10000 per request"}],
        }
    }
    assert count(store) == 0


def test_a_retry_with_the_same_key_returns_the_stored_event(api, tokens, store):
    first = post(api, {**GOOD, "idempotency_key": "k-1"}, tokens["rep"])
    again = post(api, {**GOOD, "idempotency_key": "k-1"}, tokens["rep"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    batch = post(
        api,
        [
            {**GOOD, "idempotency_key": "k-2"},
            {**GOOD, "idempotency_key": "k-2"},
            {**GOOD, "idempotency_key": "k-1"},
        ],
        tokens["rep"],
    ).get_json()
    assert [r["outcome"] for r in batch["results"]] == ["created", "existing", "existing"]
    assert batch["results"][0]["event"]["id"] == batch["results"][1]["event"]["id"]
    assert count(store) == 2


def test_concurrent_posts_with_retries_store_each_event_once(events_app, tokens, store):
    items = [{**GOOD, "lon": 113.501 + i * 0.0004, "idempotency_key": f"c-{i}"} for i in range(40)]
    errors = []

    def worker(seed: int):
        client = events_app.test_client()
        try:
            for attempt in range(3):  # each thread sends everything, then retries it all
                order = items[seed:] + items[:seed]
                for start in range(0, len(order), 7):
                    chunk = order[start : start + 7]
                    response = post(client, chunk if attempt else chunk[0], tokens["rep"])
                    assert response.status_code in (200, 201), response.get_data(as_text=True)
        except AssertionError as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(k * 5,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.engine.connect() as conn:
        keys = conn.execute(sa.select(events.c.idempotency_key)).scalars().all()
    assert sorted(keys) == sorted(f"c-{i}" for i in range(40))


@pytest.mark.parametrize(
    ("method", "path", "role", "status", "message"),
    [
        (
            "post",
            "/api/v1/events",
            None,
            401,
            "a valid API token is required: Authorization: Bearer <token>",
        ),
        ("post", "/api/v1/events", "view", 403, "role 'viewer' may not report events"),
        (
            "get",
            "/api/v1/events",
            None,
            401,
            "a valid API token is required: Authorization: Bearer <token>",
        ),
        ("get", "/api/v1/events", "rep", 403, "role 'reporter' may not read events"),
        ("patch", "/api/v1/events/1", "view", 403, "role 'viewer' may not change case status"),
        ("patch", "/api/v1/events/1", "rep", 403, "role 'reporter' may not change case status"),
        (
            "get",
            "/api/v1/stats",
            None,
            401,
            "a valid API token is required: Authorization: Bearer <token>",
        ),
    ],
)
def test_access_rules(api, tokens, method, path, role, status, message):
    headers = tokens[role] if role else {}
    response = getattr(api, method)(
        path,
        data=json.dumps({"status": "accepted"}),
        headers=headers,
        content_type="application/json",
    )
    assert response.status_code == status
    kind = "Unauthorized" if status == 401 else "Forbidden"
    assert response.get_json() == {"error": {"type": kind, "message": message, "details": []}}
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="geogrid"'


def test_a_wrong_token_is_401(api):
    response = api.get("/api/v1/events", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_tokens_and_passwords_are_stored_hashed(store, tokens):
    from geogrid.auth import create_user, user_for_password
    from geogrid.storage.schema import api_tokens, users

    create_user(store, "chief", "admin", password="correct horse battery")
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(api_tokens.c.token_sha256)).scalars().all()
        password_hash = conn.scalar(
            sa.select(users.c.password_hash).where(users.c.username == "chief")
        )
    raw = tokens["rep"]["Authorization"].split()[1]
    assert raw not in stored and all(len(h) == 64 for h in stored)
    assert "correct horse" not in password_hash
    assert user_for_password(store, "chief", "correct horse battery").role == "admin"
    assert user_for_password(store, "chief", "wrong password!") is None


def test_personal_data_only_for_those_allowed(api, tokens):
    event_id = post(api, GOOD, tokens["rep"]).get_json()["id"]
    seen = {
        who: api.get(f"/api/v1/events/{event_id}", headers=tokens[who]).get_json()["reporter"]
        for who in ("view", "op1", "op2", "adm")
    }
    assert seen["view"] == {"name": "李*", "phone": "139****5678"}
    assert seen["op2"] == seen["view"]  # an operator of another street
    assert seen["op1"] == seen["adm"] == {"name": "李娜", "phone": "13912345678"}
    listed = api.get("/api/v1/events", headers=tokens["view"]).get_data(as_text=True)
    assert "13912345678" not in listed


def test_the_whole_case_flow_is_recorded(api, tokens, clock):
    from datetime import timedelta

    event_id = post(api, GOOD, tokens["rep"]).get_json()["id"]
    for status in (
        "accepted",
        "dispatched",
        "handling",
        "resolved",
        "handling",
        "resolved",
        "closed",
    ):
        clock.now += timedelta(hours=1)
        response = patch_event(
            api, event_id, {"status": status, "note": f"→{status}"}, tokens["op1"]
        )
        assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "closed" and body["closed_at"] == "2026-07-01T11:00:00+00:00"
    assert [(h["from"], h["to"]) for h in body["history"]] == [
        (None, "reported"),
        ("reported", "accepted"),
        ("accepted", "dispatched"),
        ("dispatched", "handling"),
        ("handling", "resolved"),
        ("resolved", "handling"),
        ("handling", "resolved"),
        ("resolved", "closed"),
    ]
    assert {h["actor"] for h in body["history"][1:]} == {"op1"}
    assert body["history"][-1]["note"] == "→closed"
    assert body["stage_due_at"] is None and body["overdue"] is False


@pytest.mark.parametrize(
    ("path", "body", "status", "expected"),
    [
        (
            [],
            {"status": "closed"},
            409,
            {
                "error": {
                    "type": "ConflictError",
                    "details": [],
                    "message": "cannot go from 'reported' to 'closed'; "
                    "allowed: accepted, rejected, merged",
                }
            },
        ),
        (
            [],
            {"status": "done"},
            400,
            field_error(
                "status",
                "expected one of reported, accepted, dispatched, handling, resolved, "
                "closed, rejected, merged, got 'done'",
            ),
        ),
        (
            ["rejected"],
            {"status": "accepted"},
            409,
            {
                "error": {
                    "type": "ConflictError",
                    "details": [],
                    "message": "cannot go from 'rejected' to 'accepted': 'rejected' is final",
                }
            },
        ),
        (
            [],
            {"status": "accepted", "by": "me"},
            400,
            field_error(
                "by", "unknown field; expected some of status, note, merge_into, assignee, public"
            ),
        ),
        (
            [],
            {"status": "merged"},
            400,
            field_error(
                "merge_into", "is required with status 'merged': the id of the case to merge into"
            ),
        ),
        (
            [],
            {"status": "merged", "merge_into": 1},
            400,
            field_error("merge_into", "an event cannot be merged into itself"),
        ),
        (
            [],
            {"status": "merged", "merge_into": 99},
            400,
            field_error("merge_into", "no event with id 99"),
        ),
        (
            [],
            {"status": "accepted", "merge_into": 1},
            400,
            field_error("merge_into", "only with status 'merged'"),
        ),
    ],
)
def test_illegal_or_bad_transitions(api, tokens, path, body, status, expected):
    event_id = post(api, GOOD, tokens["rep"]).get_json()["id"]
    assert event_id == 1
    for step in path:
        assert patch_event(api, event_id, {"status": step}, tokens["op1"]).status_code == 200
    response = patch_event(api, event_id, body, tokens["op1"])
    assert response.status_code == status
    assert response.get_json() == expected


def test_scope_decides_who_may_change_a_case(api, tokens):
    event_id = post(api, GOOD, tokens["rep"]).get_json()["id"]  # in street 410102001
    response = patch_event(api, event_id, {"status": "accepted"}, tokens["op2"])
    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == (
        "event 1 is in street 410102001, outside your scope 410102002"
    )
    assert patch_event(api, event_id, {"status": "accepted"}, tokens["opd"]).status_code == 200
    outside = post(api, {**GOOD, "lon": 113.3}, tokens["rep"]).get_json()["id"]
    assert patch_event(api, outside, {"status": "accepted"}, tokens["op1"]).status_code == 403
    assert patch_event(api, outside, {"status": "accepted"}, tokens["opd"]).status_code == 200
    assert patch_event(api, 404, {"status": "accepted"}, tokens["adm"]).status_code == 404


def test_an_overdue_case_escalates_to_its_street_queue(api, tokens, clock):
    from datetime import timedelta

    event_id = post(api, GOOD, tokens["rep"]).get_json()["id"]
    body = api.get(f"/api/v1/events/{event_id}", headers=tokens["view"]).get_json()
    assert (body["overdue"], body["queue"]) == (False, "410102001001001")
    clock.now += timedelta(hours=2)  # accept deadline was 13:30 +08:00
    body = api.get(f"/api/v1/events/{event_id}", headers=tokens["view"]).get_json()
    assert (body["overdue"], body["queue"]) == (True, "410102001")
    late = api.get("/api/v1/events?overdue=true", headers=tokens["view"]).get_json()
    assert [e["id"] for e in late["events"]] == [event_id]
    assert api.get("/api/v1/events?overdue=false", headers=tokens["view"]).get_json()["total"] == 0


def test_duplicates_are_flagged_and_can_be_merged(api, tokens):
    first = post(api, GOOD, tokens["rep"]).get_json()["id"]
    near = post(
        api, {**GOOD, "lon": 113.5073, "reported_at": "2026-07-01T11:50:00+08:00"}, tokens["rep"]
    ).get_json()  # ~27 m east, 20 min later
    assert near["likely_duplicate_of"] == first
    other = post(api, {**GOOD, "category": "sanitation"}, tokens["rep"]).get_json()
    far = post(api, {**GOOD, "lon": 113.5080}, tokens["rep"]).get_json()  # ~91 m
    late = post(api, {**GOOD, "reported_at": "2026-06-27T11:00:00+08:00"}, tokens["rep"]).get_json()
    assert other["likely_duplicate_of"] is None
    assert far["likely_duplicate_of"] is None
    assert late["likely_duplicate_of"] is None  # 96.5 h earlier
    merged = patch_event(api, near["id"], {"status": "merged", "merge_into": first}, tokens["op1"])
    assert merged.get_json()["duplicate_of"] == first and merged.get_json()["status"] == "merged"
    for status in ("rejected",):
        patch_event(api, first, {"status": status}, tokens["op1"])
    again = post(api, GOOD, tokens["rep"]).get_json()  # the open one is gone now
    assert again["likely_duplicate_of"] is None


def test_duplicates_within_one_batch(api, tokens):
    body = post(api, [GOOD, {**GOOD, "lat": 34.7071}], tokens["rep"]).get_json()
    first, second = (r["event"] for r in body["results"])
    assert second["likely_duplicate_of"] == first["id"]


def test_filters_and_paging(api, tokens):
    post(
        api,
        [
            GOOD,
            {**GOOD, "lon": 113.59, "lat": 34.75, "category": "sanitation"},
            {**GOOD, "lon": 113.52, "lat": 34.72, "reported_at": "2026-06-01T08:00:00+08:00"},
        ],
        tokens["rep"],
    )
    view = tokens["view"]

    def ids(query):
        return [
            e["id"] for e in api.get(f"/api/v1/events?{query}", headers=view).get_json()["events"]
        ]

    assert ids("") == [2, 1, 3]  # newest first; 1 and 2 share a time, the later id first
    assert ids("street=410102001") == [1, 3]
    assert ids("code=410102001001001") == [1, 3]
    assert ids("micro=41010200100100101") == [1]
    assert ids("category=sanitation") == [2]
    assert ids("status=reported&from=2026-06-15T00:00:00%2B08:00") == [2, 1]
    assert ids("to=2026-06-15T00:00:00%2B08:00") == [3]
    assert ids("bbox=113.58,34.74,113.6,34.76") == [2]
    page = api.get("/api/v1/events?limit=1&offset=1", headers=view).get_json()
    assert (page["total"], len(page["events"])) == (3, 1)
    geo = api.get("/api/v1/events?format=geojson", headers=view).get_json()
    assert geo["type"] == "FeatureCollection" and geo["features"][0]["geometry"]["type"] == "Point"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "street=410102001001",
            "street",
            "expected a street code, got the community code '410102001001'",
        ),
        (
            "grid=41",
            "grid",
            "code '41' is not a grid code: expected 6 digits (district), "
            "9 (street), 12 (community), 15 (grid), 17 (micro) or 12 digits + 'Z' + 2 digits "
            "(dedicated)",
        ),
        (
            "status=open",
            "status",
            "expected one of reported, accepted, dispatched, handling, "
            "resolved, closed, rejected, merged, got 'open'",
        ),
        ("overdue=yes", "overdue", "expected one of true, false, got 'yes'"),
        ("from=2026-06-01", "from", "needs a time zone (e.g. +08:00), got '2026-06-01'"),
        ("limit=5000", "limit", "expected an integer from 1 to 1000, got 5000"),
    ],
)
def test_bad_filters_get_400(api, tokens, query, field, message):
    response = api.get(f"/api/v1/events?{query}", headers=tokens["view"])
    assert response.status_code == 400
    text = message if message.startswith(f"{field} ") else f"{field}: {message}"
    assert response.get_json()["error"]["message"] == text


def test_categories_are_listed_with_their_deadlines(api):
    body = api.get("/api/v1/categories").get_json()
    fire = next(c for c in body["categories"] if c["code"] == "fire_hazard")
    assert fire == {
        "code": "fire_hazard",
        "name": "消防隐患",
        "name_en": "Fire hazard",
        "deadlines_hours": {"accept": 1.0, "dispatch": 1.0, "handle": 12.0, "check": 12.0},
        "close_hours": 26.0,
        "department": "消防",
    }


def test_stats_endpoint(api, tokens):
    post(
        api, [GOOD, {**GOOD, "category": "sanitation", "lon": 113.59, "lat": 34.75}], tokens["rep"]
    )
    body = api.get(
        "/api/v1/stats?code=410102001&from=2026-06-01T00:00:00%2B08:00", headers=tokens["view"]
    ).get_json()
    assert body["reported"] == 1 and body["by_status"] == {"reported": 1}
    assert body["by_category"] == {"noise": 1}
    assert body["due"] == 0 and body["closure_rate"] is None
    response = api.get(
        "/api/v1/stats?from=2026-07-01T00:00:00%2B08:00&to=2026-06-01T00:00:00%2B08:00",
        headers=tokens["view"],
    )
    assert response.status_code == 400
    assert response.get_json() == field_error("to", "must be later than 'from'")
