"""Open311 GeoReport v2, driven with the PyPI ``georeport`` client against a served app.

georeport 0.3.1 reads (services, requests, one request) but has no call for
posting, so posts go out form-encoded exactly as the spec describes, and are
read back through georeport.
"""

from __future__ import annotations

import pytest
import requests
from georeport import GeoReport

from devtools.served import served
from geogrid.auth import create_token, create_user
from geogrid.storage.store import Store

SPEC_ERROR = {"code", "description"}


@pytest.fixture(scope="module")
def site(module_store_url):

    from grids_inline import collection, small_features

    from geogrid.boundaries.grids import read_grids

    url = module_store_url
    store = Store(url)
    store.migrate()
    store.import_grids(read_grids(collection(small_features())))
    create_user(store, "hotline", "reporter")
    create_user(store, "watcher", "viewer")
    keys = {"reporter": create_token(store, "hotline"), "viewer": create_token(store, "watcher")}
    with served(url) as base:
        yield base, keys


def _post(base, **form):
    return requests.post(f"{base}/open311/v2/requests.json", data=form, timeout=30)


def test_services_and_discovery(site):
    base, _ = site
    client = GeoReport(f"{base}/open311/v2")
    services = client.get_service_list()
    noise = next(s for s in services if s["service_code"] == "noise")
    assert noise["service_name"] == "噪音扰民" and noise["metadata"] is False
    xml = GeoReport(f"{base}/open311/v2", output_format="xml").get_service_list()
    assert {s["service_code"] for s in xml} == {s["service_code"] for s in services}
    found = requests.get(f"{base}/open311/v2/discovery.json", timeout=30).json()
    assert found["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"


def test_post_then_read_back_through_the_client(site):
    base, keys = site
    posted = _post(
        base,
        api_key=keys["reporter"],
        service_code="noise",
        lat="34.707",
        long="113.507",
        description="广场舞音响 <b>太吵</b>",
        first_name="王",
        last_name="芳",
        phone="13812341234",
    )
    assert posted.status_code == 201
    request_id = posted.json()[0]["service_request_id"]
    client = GeoReport(f"{base}/open311/v2")
    one = client.get_service_request(request_id)
    assert one["status"] == "open" and one["service_code"] == "noise"
    assert one["description"] == ""  # the public view (PUBLIC_EVENTS = "summary")
    assert one["agency_responsible"] == "示例区 / 林山寨街道 / 甲社区 / 甲社区第1网格"
    assert (one["lat"], one["long"]) == (34.707, 113.507)  # to 0.001°, as given here
    read = requests.get(
        f"{base}/open311/v2/requests/{request_id}.json",
        params={"api_key": keys["viewer"]},  # a key that may read: the whole request
        timeout=30,
    ).json()[0]
    assert read["description"] == "广场舞音响 <b>太吵</b>"
    assert "13812341234" not in str(one) and "王" not in str(one)
    listed = client.get_service_requests(service_code="noise", status="open")
    assert request_id in [r["service_request_id"] for r in listed]
    assert client.get_service_requests(status="closed") == []
    xml = GeoReport(f"{base}/open311/v2", output_format="xml").get_service_request(request_id)
    assert xml["service_request_id"] == request_id
    token = requests.get(f"{base}/open311/v2/tokens/{request_id}.json", timeout=30).json()
    assert token == [{"service_request_id": request_id, "token": request_id}]


def test_gcj02_posts_land_in_the_right_grid(site):
    from geogrid.coords import from_wgs84

    base, keys = site
    x, y = from_wgs84(113.575, 34.745, "gcj02")
    posted = _post(
        base,
        api_key=keys["reporter"],
        service_code="sanitation",
        crs="gcj02",
        lat=f"{float(y):.8f}",
        long=f"{float(x):.8f}",
    )
    one = GeoReport(f"{base}/open311/v2").get_service_request(
        posted.json()[0]["service_request_id"]
    )
    assert one["agency_responsible"].endswith("市场街第2网格")


@pytest.mark.parametrize(
    ("method", "path", "form", "status", "description"),
    [
        (
            "post",
            "requests.json",
            {"service_code": "noise", "lat": "34.7", "long": "113.5"},
            403,
            "api_key is required",
        ),
        (
            "post",
            "requests.json",
            {"api_key": "viewer", "service_code": "noise", "lat": "34.7", "long": "113.5"},
            403,
            "api_key is not valid for posting requests",
        ),
        (
            "post",
            "requests.json",
            {"api_key": "reporter", "service_code": "ufo", "lat": "34.7", "long": "113.5"},
            400,
            "service_code 'ufo' does not exist",
        ),
        (
            "post",
            "requests.json",
            {"api_key": "reporter", "service_code": "noise"},
            400,
            "lat and long are required (addresses are not geocoded here)",
        ),
        (
            "post",
            "requests.json",
            {"api_key": "reporter", "service_code": "noise", "lat": "113.5", "long": "34.7"},
            400,
            "lon,lat: lat=113.5 is out of range [-90, 90]; lon and lat look swapped "
            "(lon comes first)",
        ),
        ("get", "requests.json?service_code=ufo", {}, 400, "service_code 'ufo' does not exist"),
        (
            "get",
            "requests.json?start_date=yesterday",
            {},
            400,
            "start_date: expected ISO 8601 with a zone, e.g. 2026-07-01T21:30:00+08:00, "
            "got 'yesterday'",
        ),
        (
            "get",
            "requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
            {},
            400,
            "start_date to end_date may not span more than 90 days",
        ),
        (
            "get",
            "requests.json?status=pending",
            {},
            400,
            "status must be open or closed, got 'pending'",
        ),
        ("get", "requests/999999.json", {}, 404, "service_request_id '999999' does not exist"),
        (
            "get",
            "services/noise.json",
            {},
            404,
            "service_code 'noise' has no metadata (metadata is false)",
        ),
        ("get", "services/ufo.json", {}, 404, "service_code 'ufo' does not exist"),
        ("get", "tokens/abc.json", {}, 404, "token 'abc' does not exist"),
    ],
)
def test_errors_in_the_spec_format(site, method, path, form, status, description):
    base, keys = site
    if "api_key" in form:
        form = {**form, "api_key": keys.get(form["api_key"], form["api_key"])}
    response = getattr(requests, method)(f"{base}/open311/v2/{path}", data=form or None, timeout=30)
    assert response.status_code == status
    assert response.json() == [{"code": status, "description": description}]


def test_errors_in_xml_too(site):
    base, _ = site
    response = requests.get(f"{base}/open311/v2/requests/999999.xml", timeout=30)
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/xml")
    assert "<errors><error><code>404</code>" in response.text
