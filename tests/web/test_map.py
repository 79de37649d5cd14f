"""The map page, its data endpoints, stations, login — without a browser."""

import io
import json
import re

import pytest

from geogrid.coords import from_wgs84
from geogrid.stations import Station, import_stations

STATIONS = [
    Station(
        "cooling",
        "市场街社区清凉驿站",
        113.575,
        34.725,
        address="党群服务中心",
        hours="09:00-21:00",
        capacity=20,
        amenities=["空调", "饮用水"],
        contact="0371-1234567",
    ),
    Station("daycare", "日间照料中心", 113.51, 34.74),
]


@pytest.fixture
def with_stations(store):
    import_stations(store, STATIONS)
    return store


def _urls(html: str) -> set[str]:
    """What the page loads: script sources, stylesheets, images (not plain links)."""
    return set(re.findall(r'<(?:script|img)[^>]* src="([^"]+)"', html)) | set(
        re.findall(r'<link[^>]* href="([^"]+)"', html)
    )


def test_page_uses_only_local_assets_and_lists_the_layers(api, with_stations):
    html = api.get("/").get_data(as_text=True)
    assets = {u for u in _urls(html) if u.startswith(("http", "//", "/static"))}
    assert assets == {
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/leaflet.heat/leaflet-heat.js",
        "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/static/vendor/leaflet.markercluster/MarkerCluster.css",
        "/static/vendor/leaflet.markercluster/MarkerCluster.Default.css",
    }
    for name in ("街道", "三级网格", "微网格", "热点网格 (Gi*)", "清凉驿站", "事件热力图"):
        assert json.dumps(name)[1:-1] in html or name in html
    english = api.get("/?lang=en").get_data(as_text=True)
    assert "Cooling stations" in english and 'lang="en"' in english


def test_phones_are_masked_on_the_map_unless_allowed(api, tokens):
    assert "13812341234" not in api.get("/").get_data(as_text=True)
    grids = api.get("/api/v1/map/grids?level=grid&bbox=113.5,34.7,113.52,34.72&zoom=15")
    assert grids.get_json()["features"][0]["properties"]["phone"] == "138****1234"
    op = api.get(
        "/api/v1/map/grids?level=grid&bbox=113.5,34.7,113.52,34.72&zoom=15", headers=tokens["op1"]
    )
    assert op.get_json()["features"][0]["properties"]["phone"] == "13812341234"


def test_lazy_grids_are_simplified_rounded_and_flag_uncovered(api, with_stations):
    body = api.get("/api/v1/map/grids?level=micro&bbox=113.5,34.7,113.52,34.72&zoom=17")
    features = body.get_json()["features"]
    assert [f["properties"]["code"] for f in features] == ["41010200100100101", "41010200100100102"]
    assert all(f["properties"]["uncovered"] for f in features)  # ~7 km from the station
    coords = [c for f in features for ring in f["geometry"]["coordinates"] for c in ring]
    assert all(round(v, 6) == v for c in coords for v in c)


def test_amap_tiles_shift_everything_to_gcj02(api, with_stations):
    html = api.get("/?tiles=amap").get_data(as_text=True)
    assert "webrd0{s}.is.autonavi.com" in html
    x, _ = from_wgs84(113.575, 34.725, "gcj02")
    assert f"{float(x):.6f}" in html  # the station, shifted ~580 m
    gx, gy = from_wgs84(113.505, 34.705, "gcj02")
    box = f"{float(gx) - 0.001},{float(gy) - 0.001},{float(gx) + 0.001},{float(gy) + 0.001}"
    body = api.get(f"/api/v1/map/grids?level=micro&bbox={box}&zoom=17&crs=gcj02").get_json()
    assert [f["properties"]["code"] for f in body["features"]] == ["41010200100100101"]


def test_event_text_on_the_map_only_for_readers(api, tokens):
    api.post(
        "/api/v1/events",
        data=json.dumps(
            {"lon": 113.507, "lat": 34.707, "category": "noise", "description": "秘密"}
        ),
        headers=tokens["rep"],
        content_type="application/json",
    )
    url = "/api/v1/map/events?bbox=113.5,34.7,113.52,34.72"
    assert api.get(url).get_json()["events"][0]["description"] is None
    assert api.get(url, headers=tokens["view"]).get_json()["events"][0]["description"] == "秘密"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("/?code=41010200100100101", "code: expected a street, community or grid code, got micro"),
        (
            "/?from=2026-07-02T00:00:00%2B08:00&to=2026-07-01T00:00:00%2B08:00",
            "to: must be later than 'from'",
        ),
        ("/?tiles=google", "tiles: expected one of none, osm, tianditu, amap, got 'google'"),
        ("/api/v1/map/grids?level=grid", "bbox: is required: min_lon,min_lat,max_lon,max_lat"),
    ],
)
def test_bad_map_parameters(api, query, message):
    response = api.get(query)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith(message)


def test_filters_narrow_the_panel(api, tokens):
    api.post(
        "/api/v1/events",
        data=json.dumps(
            [
                {"lon": 113.507, "lat": 34.707, "category": "noise"},
                {"lon": 113.59, "lat": 34.75, "category": "sanitation"},
            ]
        ),
        headers=tokens["rep"],
        content_type="application/json",
    )
    whole = api.get("/").get_data(as_text=True)
    one = api.get("/?code=410102002&category=sanitation").get_data(as_text=True)
    big = '<td class="n big" data-stat="reported">{}</td>'
    assert big.format(2) in whole and big.format(1) in one


def test_stations_api(api, with_stations, tokens):
    listed = api.get("/api/v1/stations").get_json()
    assert [f["properties"]["name"] for f in listed["features"]] == [s.name for s in STATIONS]
    only = api.get("/api/v1/stations?kind=daycare").get_json()
    assert len(only["features"]) == 1
    near = api.get("/api/v1/stations/nearest?lon=113.576&lat=34.725").get_json()
    assert near["properties"]["name"] == "市场街社区清凉驿站"
    assert near["properties"]["distance_m"] == pytest.approx(91.4, abs=1.0)
    x, y = from_wgs84(113.576, 34.725, "gcj02")
    shifted = api.get(f"/api/v1/stations/nearest?lon={float(x)}&lat={float(y)}&crs=gcj02")
    assert shifted.get_json()["properties"]["distance_m"] == pytest.approx(91.4, abs=1.0)


def test_station_upload_is_for_admins_and_validated(api, store, tokens):
    good = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "新驿站", "capacity": "12", "amenities": "空调, 饮用水"},
                "geometry": {"type": "Point", "coordinates": [113.52, 34.72]},
            }
        ],
    }

    def upload(body, who, name="s.geojson"):
        data = {"file": (io.BytesIO(json.dumps(body).encode()), name)}
        return api.post(
            "/api/v1/stations",
            data=data,
            headers=tokens.get(who, {}),
            content_type="multipart/form-data",
        )

    assert upload(good, None).status_code == 401
    assert upload(good, "op1").status_code == 403
    response = upload(good, "adm")
    assert response.status_code == 201 and response.get_json() == {"imported": 1}
    stored = api.get("/api/v1/stations").get_json()["features"][0]["properties"]
    assert stored["capacity"] == 12 and stored["amenities"] == ["空调", "饮用水"]
    bad = json.loads(json.dumps(good))
    bad["features"].append(
        {
            "type": "Feature",
            "properties": {"name": "x"},
            "geometry": {"type": "Point", "coordinates": [34.72, 113.52]},
        }
    )
    refused = upload(bad, "adm")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["message"].startswith(
        "1 bad stations; first: feature 1: lat=113.52 is out of range"
    )
    assert len(api.get("/api/v1/stations").get_json()["features"]) == 1  # unchanged
    assert (
        upload(good, "adm", "s.txt")
        .get_json()["error"]["message"]
        .startswith("file: expected a .geojson or .csv file")
    )


def _csrf(api) -> str:
    page = api.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_login_needs_the_csrf_token_and_the_right_password(api, store):
    from geogrid.auth import create_user

    create_user(store, "chief", "operator", "410102001", password="a long password")
    no_token = api.post("/login", data={"username": "chief", "password": "a long password"})
    assert no_token.status_code == 400
    wrong = api.post(
        "/login", data={"username": "chief", "password": "nope nope nope", "csrf_token": _csrf(api)}
    )
    assert wrong.status_code == 401
    ok = api.post(
        "/login",
        data={
            "username": "chief",
            "password": "a long password",
            "csrf_token": _csrf(api),
            "next": "//evil.example/",
        },
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert "chief" in api.get("/").get_data(as_text=True)
    # the session reads, but never writes through the API (no cross-site writes)
    assert api.get("/api/v1/events").status_code == 200
    post = api.post(
        "/api/v1/events",
        data=json.dumps({"lon": 113.507, "lat": 34.707, "category": "noise"}),
        content_type="application/json",
    )
    assert post.status_code == 401


def test_standalone_map_has_everything_inline(tmp_path, store, small_geojson):
    from click.testing import CliRunner

    from geogrid.cli import main

    out = tmp_path / "map.html"
    result = CliRunner(env={"GEOGRID_DATABASE_URL": store.url}).invoke(
        main, ["map", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert not [u for u in _urls(html) if u.startswith(("http", "//", "/static"))]
    assert html.count("<script>") >= 4 and "Leaflet" in html
    assert "410102001001001" in html  # grids embedded: nothing to fetch


def test_junk_parameters_do_not_rebuild_the_page(api, monkeypatch):
    built = _counting_builds(monkeypatch)
    first = api.get("/?category=noise&status=reported")
    assert first.status_code == 200
    for url in (
        "/?status=reported&category=noise",  # the same filters in another order
        "/?category=noise&status=reported&utm_source=wechat",
        "/?category=noise&status=reported&x=1&y=2&code=",
    ):
        again = api.get(url)
        assert again.status_code == 200 and again.data == first.data
    assert len(built) == 1
    assert "utm_source" not in first.get_data(as_text=True)


def _counting_builds(monkeypatch) -> list:
    import web.pages.mapview as mapview

    built = []
    page = mapview._page

    def counting(standalone, seq=None):
        built.append(standalone)
        return page(standalone, seq)

    monkeypatch.setattr(mapview, "_page", counting)
    return built


def test_equal_filters_in_other_spellings_share_one_page(api, monkeypatch):
    built = _counting_builds(monkeypatch)
    first = api.get("/?from=2026-06-01T08:00:00%2B08:00&lang=zh")
    assert first.status_code == 200
    for url in ("/?from=2026-06-01T00:00:00Z", "/?from=2026-06-01T00:00:00%2B00:00&lang=zh"):
        assert api.get(url).data == first.data
    assert len(built) == 1
    api.get("/?from=2026-06-01T00:00:01Z")
    assert len(built) == 2


def test_the_page_is_rebuilt_after_a_write_or_a_deadline_not_with_the_clock(
    api, tokens, clock, monkeypatch
):
    from datetime import timedelta

    built = _counting_builds(monkeypatch)
    api.get("/")
    clock.now += timedelta(minutes=30)  # no write, no deadline passed: the same page
    api.get("/")
    assert len(built) == 1
    event = {"lon": 113.5712, "lat": 34.7251, "category": "noise", "description": "x"}
    posted = api.post("/api/v1/events", json=event, headers=tokens["rep"])
    assert posted.status_code == 201
    api.get("/")
    assert len(built) == 2
    clock.now += timedelta(hours=2, minutes=1)  # the new case is now overdue for acceptance
    api.get("/")
    assert len(built) == 3


def test_the_page_follows_closure_deadlines_and_ignores_failed_logins(
    api, store, tokens, clock, monkeypatch
):
    from datetime import timedelta

    from geogrid.auth import record_login_failure

    event = {"lon": 113.5712, "lat": 34.7251, "category": "noise", "description": "x"}
    assert api.post("/api/v1/events", json=event, headers=tokens["rep"]).status_code == 201
    built = _counting_builds(monkeypatch)
    clock.now += timedelta(hours=3)  # past the stage deadline (2 h): overdue now
    api.get("/")
    seq = store.change_seq()
    record_login_failure(store, ["user:nobody"], clock.now, 5, timedelta(minutes=15))  # unseen
    assert store.change_seq() == seq
    clock.now += timedelta(hours=40)  # no deadline passed since: the same page
    api.get("/")
    assert len(built) == 1
    clock.now += timedelta(hours=10)  # past the closure deadline (52 h): due to close now
    api.get("/")
    assert len(built) == 2


def test_a_restarted_server_answers_from_the_pages_on_disk(store, clock, tmp_path, monkeypatch):
    from web import create_app

    config = {"TESTING": True, "DATABASE_URL": store.url, "CLOCK": clock}
    first = create_app(config | {"PAGE_CACHE_DIR": str(tmp_path)}).test_client().get("/?lang=en")
    built = _counting_builds(monkeypatch)
    again = create_app(config | {"PAGE_CACHE_DIR": str(tmp_path)}).test_client().get("/?lang=en")
    assert again.data == first.data and built == []
    with store.write():
        pass  # any write: the disk copy is stale
    create_app(config | {"PAGE_CACHE_DIR": str(tmp_path)}).test_client().get("/?lang=en")
    assert built == [False]
    assert list(tmp_path.iterdir()) and not list(tmp_path.glob("*.tmp"))


def test_the_pages_on_disk_are_bounded(tmp_path):
    from datetime import UTC, datetime

    from web.pagecache import PageCache

    cache = PageCache(tmp_path, "sqlite:///x", capacity=2)
    for k in range(40):  # forty different filters, as a crawler could ask
        cache.put(f"key{k}", 1, None, "<html>")
    assert len(list(tmp_path.glob("*.html"))) == 16
    assert cache.get("key39", 1, datetime.now(UTC)) == "<html>"


def test_the_wall_is_its_own_page(api):
    plain = api.get("/").get_data(as_text=True)  # cached first, then the wall is asked
    wall = api.get("/?wall=1").get_data(as_text=True)
    assert '<body class="wall">' in wall and '<body class="wall">' not in plain
    assert api.get("/?wall=2").status_code == 400


def test_pages_on_disk_belong_to_the_code_that_drew_them(app, monkeypatch):
    """A checkout that changes the map's code between releases never serves an old page."""
    from web.pages import mapview

    with app.test_request_context("/"):
        before = mapview._page_salt()
        monkeypatch.setattr(mapview, "drawing_code", lambda: "other code")
        assert mapview._page_salt() != before
