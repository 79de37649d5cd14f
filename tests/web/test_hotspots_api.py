"""The hot-grid API and the map's hot layer: FDR-corrected, cached per change sequence."""

from __future__ import annotations

import pytest

from geogrid.reports.hotspots import EMERGING

# three-level grids of the small district (tests/grids_inline.py), none with households
GRIDS = [
    "410102001001001",
    "410102001001002",
    "410102001002001",
    "410102002001001",
    "410102002001002",
]


def post(api, headers, n, lon=113.51, lat=34.71, category="noise"):
    events = [{"lon": lon, "lat": lat, "category": category} for _ in range(n)]
    assert api.post("/api/v1/events", json=events, headers=headers).status_code == 200


def test_every_grid_is_answered_with_the_method(api, tokens):
    post(api, tokens["rep"], 6)
    body = api.get("/api/v1/hotspots").get_json()  # anonymous: counts are public
    assert body["method"]["measure"] == "count"  # no households in this district: counts
    assert body["method"]["correction"] == "fdr_bh" and "FDR" in body["method"]["zh"]
    assert [g["code"] for g in body["grids"]] == GRIDS
    first = body["grids"][0]
    assert set(first) == {
        "code", "count", "households", "rate", "z", "p", "significant", "class", "measure",
    }  # fmt: skip
    assert first["count"] == 6 and first["rate"] is None
    assert "phone" not in str(body) and "leader" not in str(body)
    street = api.get("/api/v1/hotspots?code=410102002").get_json()
    assert [g["code"] for g in street["grids"]] == GRIDS[3:]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("measure=rate", "measure"),  # no households to divide by
        ("alpha=0.5", "alpha"),
        ("alpha=x", "alpha"),
        ("inference=bootstrap", "inference"),
        ("from=2026-07-02T00:00:00Z&to=2026-07-01T00:00:00Z", "to"),
    ],
)
def test_bad_hotspot_queries_name_the_field(api, query, field):
    answer = api.get(f"/api/v1/hotspots?{query}")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["details"][0]["field"] == field


def test_results_are_kept_until_the_next_write(api, tokens, events_app):
    post(api, tokens["rep"], 3)
    first = api.get("/api/v1/hotspots?measure=count").get_json()
    _lock, kept = events_app.extensions["geogrid_hot"]
    assert len(kept) == 1
    assert api.get("/api/v1/hotspots?measure=count").get_json() == first
    assert len(kept) == 1  # answered from the cache
    post(api, tokens["rep"], 2)
    again = api.get("/api/v1/hotspots?measure=count").get_json()
    assert again["grids"][0]["count"] == 5 and len(kept) == 2  # a write: computed afresh


def test_statistics_follow_the_public_setting(store, clock, tokens):
    from web import create_app

    config = {"TESTING": True, "DATABASE_URL": store.url, "CLOCK": clock, "PUBLIC_EVENTS": "none"}
    client = create_app(config).test_client()
    assert client.get("/api/v1/hotspots").status_code == 403
    assert client.get("/api/v1/hotspots/emerging").status_code == 403
    assert client.get("/api/v1/hotspots", headers=tokens["view"]).status_code == 200


def test_emerging_answers_a_category_and_trend_per_grid(api, tokens):
    post(api, tokens["rep"], 4)
    body = api.get("/api/v1/hotspots/emerging?weeks=6").get_json()
    assert body["method"]["weeks"] == 6 and "Mann-Kendall" in body["method"]["en"]
    assert [g["code"] for g in body["grids"]] == GRIDS
    assert all(g["category"] in EMERGING and set(g["trend"]) == {"tau", "p"} for g in body["grids"])
    assert body["grids"][0]["events"] == 4
    assert api.get("/api/v1/hotspots/emerging?weeks=2").status_code == 400


def test_the_map_says_how_its_hot_grids_were_computed(api, tokens, events_app):
    post(api, tokens["rep"], 2)
    page = api.get("/").get_data(as_text=True)
    assert 'id="hot-method"' in page and "错误发现率" in page
    english = api.get("/?lang=en").get_data(as_text=True)
    assert "false discovery rate controlled" in english


def test_the_emerging_layer_gets_the_patterned_grids_without_contacts(api, monkeypatch):
    import web.api.hotspots as module

    def planted(codes, weekly, weights, alpha=0.05):
        return [
            {
                "code": c,
                "category": "intensifying_hot" if c == GRIDS[0] else "no_pattern",
                "trend": {"tau": 0.7, "p": 0.01},
                "weeks": weekly.shape[1],
                "events": 0.0,
            }
            for c in codes
        ]

    monkeypatch.setattr(module, "emerging", planted)
    layer = api.get("/api/v1/hotspots/emerging?format=geojson&crs=gcj02").get_json()
    assert layer["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in layer["features"]] == [GRIDS[0]]
    props = layer["features"][0]["properties"]
    assert props["emerging"] == "intensifying_hot" and props["tau"] == 0.7
    assert "leader" not in props and "phone" not in props  # 王芳's grid: no contact here
    page = api.get("/").get_data(as_text=True)
    assert "/api/v1/hotspots/emerging?format=geojson" in page  # the layer's source (its name:
    # tests/web/test_browser.py reads the layer list in Chromium)


def test_review_fixes_on_the_endpoints(api, tokens, clock, events_app):
    from datetime import timedelta

    post(api, tokens["rep"], 3)
    # permutations cost seconds: readers only
    assert api.get("/api/v1/hotspots?inference=permutation").status_code == 403
    # a micro grid's code selects no three-level grid: said, not an empty answer
    assert api.get("/api/v1/hotspots?code=41010200100100101").status_code == 400
    assert api.get("/api/v1/hotspots/emerging?code=410102002001Z01").status_code == 400
    # the emerging answer is kept all day: a second later is a cache hit
    first = api.get("/api/v1/hotspots/emerging").get_json()
    kept = len(events_app.extensions["geogrid_hot"][1])
    clock.now += timedelta(seconds=1)
    again = api.get("/api/v1/hotspots/emerging").get_json()
    assert again == first and len(events_app.extensions["geogrid_hot"][1]) == kept
    assert first["method"]["end"].startswith("2026-07-02T00:00:00")  # the day after the events
    # a filter on rejected reports counts them (the default leaves them out)
    api.patch("/api/v1/events/1", json={"status": "rejected"}, headers=tokens["adm"])
    rejected = api.get("/api/v1/hotspots").get_json()["grids"][0]["count"]
    assert rejected == 2
