"""The live stream, /api/v1/stream: what it sends, to whom, and how a client resumes.

Each stream here lasts a fraction of a second (STREAM_SECONDS) and is read whole;
the browser test (test_live_browser.py) follows one across gunicorn workers.
"""

from __future__ import annotations

import json

import pytest
from requests_json import patch_event

import web.api.stream as stream_module

NOISE = {"lon": 113.507, "lat": 34.707, "category": "noise", "reporter_phone": "13912345678"}
OTHER_STREET = {"lon": 113.555, "lat": 34.705, "category": "sanitation", "reporter_name": "李娜"}


@pytest.fixture
def live(api, events_app):
    events_app.config.update(STREAM_SECONDS=0.3, STREAM_POLL_SECONDS=0.05)
    return api


def post(api, body, headers) -> int:
    answer = api.post(
        "/api/v1/events", data=json.dumps(body), headers=headers, content_type="application/json"
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def messages(answer) -> list[dict]:
    """The stream's messages: fields of each, comments left out, data parsed."""
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/event-stream"
    out = []
    for block in answer.get_data(as_text=True).split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
        if fields:
            out.append(fields)
    return out


def sent(answer) -> list[dict]:
    return [m for m in messages(answer) if m.get("event") == "event"]


def seq(store) -> int:
    return store.change_seq()


def test_new_events_come_in_commit_order_with_their_sequence(live, tokens, store):
    start = seq(store)
    first = post(live, NOISE, tokens["adm"])
    second = post(live, OTHER_STREET, tokens["adm"])
    got = sent(live.get(f"/api/v1/stream?since={start}", headers=tokens["adm"]))
    assert [m["data"]["id"] for m in got] == [first, second]
    assert [int(m["id"]) for m in got] == [start + 1, start + 2]
    assert got[0]["data"]["reporter"]["phone"] == "13912345678"  # an admin sees it
    assert got[0]["data"]["assignment"]["street"] == "410102001"


def test_a_stream_starts_now_and_says_where_it_is(live, tokens, store):
    post(live, NOISE, tokens["adm"])
    answer = live.get("/api/v1/stream", headers=tokens["adm"])
    assert sent(answer) == []
    assert messages(answer)[0] == {"retry": "2000", "id": str(seq(store))}
    assert answer.headers["Cache-Control"] == "no-cache"


def test_status_changes_are_sent_too(live, tokens, store):
    event_id = post(live, NOISE, tokens["adm"])
    start = seq(store)
    assert patch_event(live, event_id, {"status": "accepted"}, tokens["op1"]).status_code == 200
    got = sent(live.get(f"/api/v1/stream?since={start}", headers=tokens["adm"]))
    assert [(m["data"]["id"], m["data"]["status"]) for m in got] == [(event_id, "accepted")]


def test_last_event_id_resumes_after_what_the_client_had(live, tokens, store):
    start = seq(store)
    post(live, NOISE, tokens["adm"])
    second = post(live, OTHER_STREET, tokens["adm"])
    headers = {**tokens["adm"], "Last-Event-ID": str(start + 1)}
    # the header wins over ?since (a browser resends the URL it first opened)
    got = sent(live.get(f"/api/v1/stream?since={start}", headers=headers))
    assert [m["data"]["id"] for m in got] == [second]


def test_filters_and_masking_are_those_of_the_events_api(live, tokens, store):
    start = seq(store)
    post(live, NOISE, tokens["adm"])
    post(live, OTHER_STREET, tokens["adm"])
    mine = sent(live.get(f"/api/v1/stream?since={start}&code=410102002", headers=tokens["adm"]))
    assert [m["data"]["category"] for m in mine] == ["sanitation"]
    noise = sent(live.get(f"/api/v1/stream?since={start}&category=noise", headers=tokens["adm"]))
    assert [m["data"]["category"] for m in noise] == ["noise"]
    # an operator of street 001 reads street 002's case without its reporter
    listed = live.get("/api/v1/events?street=410102002", headers=tokens["op1"]).get_json()
    streamed = sent(live.get(f"/api/v1/stream?since={start}", headers=tokens["op1"]))
    other = next(m["data"] for m in streamed if m["data"]["assignment"]["street"] == "410102002")
    assert other["reporter"] == listed["events"][0]["reporter"]
    assert "李娜" not in json.dumps(other)


def test_who_may_not_read_events_gets_no_stream(live, tokens):
    assert live.get("/api/v1/stream").status_code == 401
    assert live.get("/api/v1/stream", headers=tokens["rep"]).status_code == 403


def test_a_bulk_change_asks_the_client_to_reload(live, tokens, store, monkeypatch):
    monkeypatch.setattr(stream_module, "BURST", 1)
    start = seq(store)
    post(live, NOISE, tokens["adm"])
    post(live, OTHER_STREET, tokens["adm"])
    got = messages(live.get(f"/api/v1/stream?since={start}", headers=tokens["adm"]))
    resync = [m for m in got if m.get("event") == "resync"]
    assert resync == [{"id": str(start + 2), "event": "resync", "data": {"more_than": 1}}]


@pytest.mark.parametrize("value", ["x", "-1", "1" * 19, "\u00b90", "١٢"])
def test_a_bad_last_event_id_is_named(live, tokens, value):
    answer = live.get("/api/v1/stream", headers={**tokens["adm"], "Last-Event-ID": value})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["details"][0]["field"] == "Last-Event-ID"


def test_a_worker_with_all_its_streams_busy_answers_503(live, tokens, events_app):
    events_app.config["STREAM_SLOTS"] = 1
    first = live.get("/api/v1/stream", headers=tokens["adm"], buffered=False)
    busy = live.get("/api/v1/stream", headers=tokens["adm"])
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    first.close()  # the client goes: its slot is free again
    assert live.get("/api/v1/stream", headers=tokens["adm"]).status_code == 200


def test_head_requests_and_finished_streams_give_their_slot_back(live, tokens, events_app):
    events_app.config["STREAM_SLOTS"] = 1
    for _ in range(3):
        assert live.head("/api/v1/stream", headers=tokens["adm"]).status_code == 200
        assert live.get("/api/v1/stream", headers=tokens["adm"]).status_code == 200


def test_a_batch_carries_its_id_on_its_last_event_only(live, tokens, store):
    start = seq(store)
    answer = live.post(
        "/api/v1/events",
        data=json.dumps([NOISE, OTHER_STREET, NOISE]),
        headers=tokens["adm"],
        content_type="application/json",
    )
    assert answer.status_code in (200, 201, 207), answer.get_json()
    got = sent(live.get(f"/api/v1/stream?since={start}", headers=tokens["adm"]))
    # a client dropped after the first two resumes before the batch, and gets all three again
    assert [m.get("id") for m in got] == [None, None, str(start + 1)]


def test_a_resume_point_ahead_of_the_store_asks_for_a_reload(live, tokens, store):
    now = seq(store)
    got = messages(live.get(f"/api/v1/stream?since={now + 50}", headers=tokens["adm"]))
    assert {"id": str(now), "event": "resync", "data": {"ahead": True}} in got


def test_a_stream_is_never_compressed_but_pages_are(live, tokens, store):
    start = seq(store)
    post(live, NOISE, tokens["adm"])
    headers = {**tokens["adm"], "Accept-Encoding": "gzip, br"}
    answer = live.get(f"/api/v1/stream?since={start}", headers=headers)
    assert "Content-Encoding" not in answer.headers and len(sent(answer)) == 1
    page = live.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in page.headers["Vary"]


def test_the_page_streams_from_the_change_it_was_drawn_at(live, tokens, store):
    import re

    html = live.get("/", headers=tokens["view"]).get_data(as_text=True)
    stream = json.loads(re.search(r"geogridLive\.start\(\w+, (\{.*\})\);", html).group(1))["stream"]
    assert f"since={seq(store)}" in stream
    event_id = post(live, NOISE, tokens["adm"])  # between the page and its stream's start
    got = sent(live.get(stream, headers=tokens["view"]))
    assert [m["data"]["id"] for m in got] == [event_id]
