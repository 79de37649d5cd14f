"""GET /api/v1/stats/trend: exact counts on posted cases, the stats' rates, params, access."""

import json
from datetime import timedelta

import pytest
from requests_json import patch_event

IN_STREET_1 = {"lon": 113.507, "lat": 34.707}
IN_STREET_2 = {"lon": 113.59, "lat": 34.75}
FLOW = ("accepted", "dispatched", "handling", "resolved", "closed")


def post(api, headers, where, category, reported_at) -> int:
    body = {**where, "category": category, "reported_at": reported_at}
    answer = api.post(
        "/api/v1/events", data=json.dumps(body), headers=headers, content_type="application/json"
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


@pytest.fixture
def cases(api, tokens, clock):
    """A closed on time on the 29th; B open since the 26th (overdue); C in the other street."""
    a = post(api, tokens["rep"], IN_STREET_1, "noise", "2026-06-29T08:00:00+08:00")
    post(api, tokens["rep"], IN_STREET_1, "sanitation", "2026-06-26T10:00:00+08:00")
    post(api, tokens["rep"], IN_STREET_2, "noise", "2026-06-30T09:00:00+08:00")
    now = clock.now
    clock.now = now - timedelta(hours=1)
    for status in FLOW:
        clock.now += timedelta(minutes=5)
        assert patch_event(api, a, {"status": status}, tokens["adm"]).status_code == 200
    clock.now = now  # closed at 11:25, due at 12:00


def trend(api, headers, query):
    answer = api.get(f"/api/v1/stats/trend?{query}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_street_over_a_week(api, tokens, cases):
    body = trend(api, tokens["view"], "code=410102001&days=7")
    assert (body["code"], body["days"], body["category"]) == ("410102001", 7, None)
    assert (body["from"], body["to"]) == ("2026-06-25", "2026-07-01")
    assert body["days_list"][1] == "2026-06-26" and len(body["days_list"]) == 7
    assert body["reported"] == [0, 1, 0, 0, 1, 0, 0]
    assert body["by_category"] == {
        "noise": [0, 0, 0, 0, 1, 0, 0],
        "sanitation": [0, 1, 0, 0, 0, 0, 0],
    }
    assert body["by_status"] == {
        "closed": [0, 0, 0, 0, 1, 0, 0],
        "reported": [0, 1, 0, 0, 0, 0, 0],
    }
    last_week, this_week = body["weeks"]
    assert last_week == {
        "week_start": "2026-06-22",
        "from": "2026-06-25",
        "to": "2026-06-28",
        "reported": 1,
        "due": 1,
        "closed": 0,
        "closed_on_time": 0,
        "closure_rate": 0.0,
        "on_time_rate": 0.0,
        "median_hours_to_close": None,
    }
    assert this_week["week_start"] == this_week["from"] == "2026-06-29"
    assert (this_week["reported"], this_week["due"], this_week["closed"]) == (1, 1, 1)
    assert (this_week["closure_rate"], this_week["on_time_rate"]) == (100.0, 100.0)


def test_the_weeks_are_the_stats_of_their_periods(api, tokens, cases):
    weeks = trend(api, tokens["view"], "days=7")["weeks"]
    stats = api.get(
        "/api/v1/stats?from=2026-06-25T00:00:00%2B08:00&to=2026-06-29T00:00:00%2B08:00",
        headers=tokens["view"],
    ).get_json()
    keys = ("reported", "due", "closed", "closed_on_time", "closure_rate", "on_time_rate")
    assert [weeks[0][k] for k in keys] == [stats[k] for k in keys]
    assert weeks[1]["reported"] == 2  # the whole district: the other street's case too


def test_one_category_and_the_default_period(api, tokens, cases):
    body = trend(api, tokens["opd"], "category=sanitation")
    assert (body["days"], body["from"], body["to"]) == (30, "2026-06-02", "2026-07-01")
    assert body["by_category"] == {"sanitation": [0] * 24 + [1] + [0] * 5}
    assert sum(w["due"] for w in body["weeks"]) == 1


def test_any_reader_reads_as_from_stats(api, tokens, cases):
    # as /api/v1/stats: an operator of the other street reads this street's figures
    assert trend(api, tokens["op2"], "code=410102001&days=7")["reported"][4] == 1


@pytest.mark.parametrize(
    ("role", "status", "message"),
    [
        (None, 401, "a valid API token is required: Authorization: Bearer <token>"),
        ("rep", 403, "role 'reporter' may not read events"),
    ],
)
def test_access_is_that_of_stats(api, tokens, role, status, message):
    answer = api.get("/api/v1/stats/trend", headers=tokens[role] if role else {})
    assert answer.status_code == status
    assert answer.get_json()["error"]["message"] == message
    assert api.get("/api/v1/stats", headers=tokens[role] if role else {}).status_code == status


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("days=0", "days", "expected an integer from 1 to 366, got 0"),
        ("days=367", "days", "expected an integer from 1 to 366, got 367"),
        ("days=week", "days", "expected an integer from 1 to 366, got 'week'"),
        ("code=41", "code", "code '41' is not a grid code: expected 6 digits (district), "),
        ("category=fireworks", "category", "expected one of noise, safety_hazard, "),
    ],
)
def test_bad_parameters_are_400_naming_the_field(api, tokens, query, field, message):
    answer = api.get(f"/api/v1/stats/trend?{query}", headers=tokens["view"])
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["details"][0]["field"] == field
    text = message if message.startswith(f"{field} ") else f"{field}: {message}"
    assert error["message"].startswith(text)
