"""One access policy on every surface: personal data by role and scope, the public view.

Operator ``op1`` is scoped to street 410102001; events 1 and 2 lie in 410102001
and 410102002.
"""

import json

import pytest
from grids_inline import collection, small_features
from requests_json import patch_event

PHONE = "13912345678"
NOTE_PHONE = "call 13700001111 back"


@pytest.fixture
def two_streets(api, tokens):
    items = [
        {
            "lon": 113.507,
            "lat": 34.707,
            "category": "noise",
            "description": "loud <b>music</b>",
            "reporter_name": "张三",
            "reporter_phone": PHONE,
        },
        {
            "lon": 113.575,
            "lat": 34.745,
            "category": "noise",
            "description": "drums",
            "reporter_name": "李四",
            "reporter_phone": PHONE,
        },
    ]
    answer = api.post(
        "/api/v1/events",
        data=json.dumps(items),
        headers=tokens["adm"],
        content_type="application/json",
    )
    assert answer.status_code in (200, 201), answer.get_json()
    ids = [r["event"]["id"] for r in answer.get_json()["results"]]
    streets = [
        api.get(f"/api/v1/events/{i}", headers=tokens["adm"]).get_json()["assignment"]["street"]
        for i in ids
    ]
    assert streets == ["410102001", "410102002"]
    patch = patch_event(api, ids[1], {"status": "accepted", "note": NOTE_PHONE}, tokens["adm"])
    assert patch.status_code == 200
    return ids


def test_ogc_items_follow_the_policy_per_row(api, tokens, two_streets):
    mine, other = two_streets
    features = api.get("/ogc/collections/events/items", headers=tokens["op1"]).get_json()[
        "features"
    ]
    by_id = {f["id"]: f["properties"] for f in features}
    assert by_id[mine]["reporter_phone"] == PHONE
    assert "reporter_phone" not in by_id[other]  # another street's operator: not personal
    one = api.get(f"/ogc/collections/events/items/{other}", headers=tokens["op1"]).get_json()
    assert "reporter_phone" not in one["properties"]
    assert (
        api.get(f"/ogc/collections/events/items/{mine}", headers=tokens["op1"]).get_json()[
            "properties"
        ]["reporter_phone"]
        == PHONE
    )


def test_anonymous_ogc_and_open311_get_the_public_view(api, two_streets):
    features = api.get("/ogc/collections/events/items").get_json()["features"]
    for feature in features:
        props = feature["properties"]
        for hidden in ("description", "created_by", "reporter_name", "reporter_phone", "history"):
            assert hidden not in props
        x, y = feature["geometry"]["coordinates"]
        assert (round(x, 3), round(y, 3)) == (x, y)  # ~100 m, not the exact spot
    body = api.get("/open311/v2/requests.json").get_json()
    assert len(body) == 2
    for request in body:
        assert request["description"] == ""
        assert "13700001111" not in request["status_notes"]
        assert (round(request["lat"], 3), round(request["long"], 3)) == (
            request["lat"],
            request["long"],
        )
    xml = api.get("/open311/v2/requests.xml").get_data(as_text=True)
    assert "drums" not in xml and "13700001111" not in xml


def test_a_reader_token_sees_notes_and_descriptions_through_open311(api, tokens, two_streets):
    key = tokens["adm"]["Authorization"].split()[1]
    body = api.get(f"/open311/v2/requests.json?api_key={key}").get_json()
    assert {r["description"] for r in body} == {"loud <b>music</b>", "drums"}
    assert any("13700001111" in r["status_notes"] for r in body)


@pytest.mark.parametrize(("setting", "description"), [("full", True), ("summary", False)])
def test_public_events_setting_publishes_descriptions_or_not(
    store, clock, tokens, two_streets, setting, description
):
    from web import create_app

    app = create_app(
        {"TESTING": True, "DATABASE_URL": store.url, "CLOCK": clock, "PUBLIC_EVENTS": setting}
    )
    client = app.test_client()
    props = [
        f["properties"] for f in client.get("/ogc/collections/events/items").get_json()["features"]
    ]
    assert ("description" in props[0]) is description
    assert all("reporter_phone" not in p and "created_by" not in p for p in props)
    requests = client.get("/open311/v2/requests.json").get_json()
    assert bool(requests[0]["description"]) is description


def test_public_events_none_publishes_nothing(store, clock, two_streets):
    from web import create_app

    client = create_app(
        {"TESTING": True, "DATABASE_URL": store.url, "CLOCK": clock, "PUBLIC_EVENTS": "none"}
    ).test_client()
    assert client.get("/ogc/collections/events/items").status_code == 401
    assert client.get("/open311/v2/requests.json").status_code == 401


def test_grid_leader_phones_only_within_the_operators_scope(api, tokens):
    grids = api.get(
        "/api/v1/map/grids?level=grid&bbox=113.4,34.6,113.8,34.9&zoom=16", headers=tokens["op1"]
    ).get_json()["features"]
    phones = {
        f["properties"]["code"][:9]: f["properties"].get("phone")
        for f in grids
        if f["properties"].get("phone")
    }
    assert phones, "the small district's grids carry leader phones"
    for street, phone in phones.items():
        assert ("*" in phone) is (street != "410102001"), (street, phone)


def test_an_operator_cannot_merge_into_a_case_outside_their_scope(api, tokens, two_streets):
    mine, other = two_streets
    answer = patch_event(api, mine, {"status": "merged", "merge_into": other}, tokens["op1"])
    assert answer.status_code == 403
    assert "merge_into: event" in answer.get_json()["error"]["message"]
    assert (
        api.get(f"/api/v1/events/{mine}", headers=tokens["adm"]).get_json()["status"] == "reported"
    )


@pytest.fixture
def contacts_client(store_url):
    """A district whose grids in both streets have a leader's phone."""
    from geogrid.auth import create_token, create_user
    from geogrid.boundaries.grids import read_grids
    from geogrid.storage.store import Store
    from web import create_app

    features = small_features()
    for feature in features:
        if len(feature["properties"]["code"]) == 15:
            feature["properties"].update(leader="王芳", phone="13812341234")
    store = Store(store_url)
    store.migrate()
    store.import_grids(read_grids(collection(features)))
    headers = {}
    for name, role, scope in (("op1", "operator", "410102001"), ("adm", "admin", None)):
        create_user(store, name, role, scope)
        headers[name] = {"Authorization": f"Bearer {create_token(store, name)}"}
    client = create_app({"TESTING": True, "DATABASE_URL": store.url}).test_client()
    yield client, headers
    store.close()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/grids?level=grid",
        "/ogc/collections/grids/items?limit=100",
        "/api/v1/map/grids?level=grid&bbox=113.4,34.6,113.8,34.9&zoom=16",
    ],
)
def test_grid_contacts_follow_the_policy_on_every_surface(contacts_client, path):
    client, tokens = contacts_client

    def phones(headers):
        features = client.get(path, headers=headers).get_json()["features"]
        return {
            f["properties"]["code"]: f["properties"]["phone"]
            for f in features
            if f["properties"].get("phone")
        }

    mine = phones(tokens["op1"])
    assert {code[:9] for code in mine} == {"410102001", "410102002"}
    for code, phone in mine.items():
        assert ("*" in phone) is (not code.startswith("410102001")), (code, phone)
    assert all("*" in phone for phone in phones({}).values())
    assert all("*" not in phone for phone in phones(tokens["adm"]).values())


def test_ogc_chain_filters_select_through_the_shared_event_query(api, tokens, two_streets):
    mine, other = two_streets

    def ids(query):
        answer = api.get(f"/ogc/collections/events/items?{query}", headers=tokens["adm"])
        return sorted(f["id"] for f in answer.get_json()["features"])

    assert ids("street=410102001") == [mine]
    assert ids("street=410102002&community=410102002001") == [other]
    assert ids("grid=410102001") == []  # a street code is no grid code
    assert ids("street=410102001&community=410102002001") == []  # grids that do not nest
    assert ids("source=app&category=noise") == [mine, other]
