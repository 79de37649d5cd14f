"""The JSON API: grids, one grid, locate; exact error bodies."""

import pytest

from geogrid.coords import from_wgs84


def test_grids_is_a_feature_collection_of_the_active_generation(client):
    body = client.get("/api/v1/grids").get_json()
    assert body["type"] == "FeatureCollection" and body["generation"] == 1
    assert body["numberMatched"] == body["numberReturned"] == 14
    feature = body["features"][0]
    assert feature["properties"]["code"] == "410102" and feature["geometry"]["type"] == "Polygon"


def test_grids_filters_level_code_bbox_limit(client):
    body = client.get("/api/v1/grids?level=grid&code=410102001").get_json()
    assert [f["id"] for f in body["features"]] == [
        "410102001001001",
        "410102001001002",
        "410102001002001",
    ]
    body = client.get("/api/v1/grids?level=grid&bbox=113.56,34.74,113.57,34.75").get_json()
    assert [f["id"] for f in body["features"]] == ["410102002001002"]
    body = client.get("/api/v1/grids?limit=2&offset=1").get_json()
    assert body["numberReturned"] == 2 and body["numberMatched"] == 14
    assert [f["id"] for f in body["features"]] == ["410102001", "410102001001"]


def test_phone_numbers_are_masked(client):
    body = client.get("/api/v1/grids/410102001001001").get_json()
    assert body["properties"]["phone"] == "138****1234"
    assert body["properties"]["leader"] == "王芳"
    assert "13812341234" not in client.get("/api/v1/grids").get_data(as_text=True)


def test_one_grid(client):
    body = client.get("/api/v1/grids/41010200100100102").get_json()
    assert body["id"] == "41010200100100102"
    assert body["properties"]["parent"] == "410102001001001"
    assert body["properties"]["level"] == "micro"


def _error(field, message, kind="InvalidInputError"):
    text = message if message.startswith(f"{field} ") else f"{field}: {message}"
    return {
        "error": {"type": kind, "message": text, "details": [{"field": field, "message": message}]}
    }


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "level=block",
            "level",
            "expected one of district, street, community, grid, micro, dedicated, got 'block'",
        ),
        (
            "code=4101",
            "code",
            "code '4101' is not a grid code: expected 6 digits (district), "
            "9 (street), 12 (community), 15 (grid), 17 (micro) or 12 digits + 'Z' + 2 digits "
            "(dedicated)",
        ),
        (
            "bbox=1,2,3",
            "bbox",
            "expected min_lon,min_lat,max_lon,max_lat in WGS-84 degrees, got '1,2,3'",
        ),
        (
            "bbox=113.6,34.7,113.5,34.8",
            "bbox",
            "expected min_lon,min_lat,max_lon,max_lat in "
            "WGS-84 degrees with min <= max and in range, got '113.6,34.7,113.5,34.8'",
        ),
        (
            "bbox=a,b,c,d",
            "bbox",
            "expected min_lon,min_lat,max_lon,max_lat in WGS-84 degrees, got 'a,b,c,d'",
        ),
        ("limit=0", "limit", "expected an integer from 1 to 10000, got 0"),
        ("limit=ten", "limit", "expected an integer from 1 to 10000, got 'ten'"),
        ("offset=-1", "offset", "expected an integer from 0 to 1000000000, got -1"),
    ],
)
def test_bad_grid_parameters_get_400_naming_the_field(client, query, field, message):
    response = client.get(f"/api/v1/grids?{query}")
    assert response.status_code == 400
    assert response.get_json() == _error(field, message)


def test_unknown_grid_is_404(client):
    response = client.get("/api/v1/grids/410102009")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": {
            "type": "NotFoundError",
            "details": [],
            "message": "no grid with code '410102009' in the active generation",
        }
    }


def test_locate_answers_the_chain_and_stores_nothing(client, store):
    body = client.get("/api/v1/locate?lon=113.507&lat=34.707").get_json()
    assert body == {
        "district": "410102",
        "street": "410102001",
        "community": "410102001001",
        "grid": "410102001001001",
        "micro": "41010200100100101",
        "dedicated": None,
        "method": "inside",
        "generation": 1,
        "lon": 113.507,
        "lat": 34.707,
        "crs": "wgs84",
    }


def test_locate_converts_gcj02(client):
    x, y = from_wgs84(113.575, 34.725, "gcj02")
    body = client.get(f"/api/v1/locate?lon={float(x)}&lat={float(y)}&crs=gcj02").get_json()
    assert body["dedicated"] == "410102002001Z01" and body["crs"] == "gcj02"


def test_locate_outside_is_answered_not_refused(client):
    body = client.get("/api/v1/locate?lon=113.3&lat=34.7").get_json()
    assert body["method"] == "outside" and body["district"] == "410102"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("lat=34.7", "lon", "is required (a number)"),
        ("lon=abc&lat=34.7", "lon", "expected a number, got 'abc'"),
        ("lon=nan&lat=34.7", "lon", "expected a finite number, got 'nan'"),
        (
            "lon=113.5&lat=34.7&crs=epsg3857",
            "crs",
            "expected one of wgs84, cgcs2000, gcj02, bd09, got 'epsg3857'",
        ),
        (
            "lon=34.7&lat=113.5",
            "lon,lat",
            "lat=113.5 is out of range [-90, 90]; lon and lat look swapped (lon comes first)",
        ),
        (
            "lon=500000&lat=3850000",
            "lon,lat",
            "lon=500000.0, lat=3850000.0 look like projected "
            "metres; expected lon/lat degrees (WGS-84, CGCS2000, GCJ-02 or BD-09)",
        ),
    ],
)
def test_bad_locate_parameters_get_400_naming_the_field(client, query, field, message):
    response = client.get(f"/api/v1/locate?{query}")
    assert response.status_code == 400
    assert response.get_json() == _error(field, message)


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"]["type"] == "NotFound"


def test_a_new_generation_is_picked_up_without_restart(client, store, small_grids):
    assert client.get("/api/v1/locate?lon=113.575&lat=34.725").get_json()["generation"] == 1
    store.import_grids([g for g in small_grids if g.level != "dedicated"])
    body = client.get("/api/v1/locate?lon=113.575&lat=34.725").get_json()
    assert body["generation"] == 2 and body["dedicated"] is None


def test_health_says_whether_the_database_answers(client, store):
    assert client.get("/api/v1/health").get_json() == {
        "status": "ok",
        "database": store.backend,
        "generation": 1,
    }
    from web import create_app

    nowhere = "postgresql+psycopg://geogrid@127.0.0.1:9/geogrid"  # nothing listens on port 9
    down = create_app({"TESTING": True, "DATABASE_URL": nowhere}).test_client()
    response = down.get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
