"""OGC API – Features read by GDAL's own client (ogrinfo, ogr2ogr) and by hand."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pyogrio
import pytest
import requests
from grids_inline import collection, small_features

from devtools.served import served
from geogrid.auth import create_token, create_user
from geogrid.boundaries.grids import read_grids
from geogrid.cases.categories import load_categories
from geogrid.cases.intake import Intake
from geogrid.stations import Station, import_stations
from geogrid.storage.store import Store

COLLECTIONS = [
    "streets",
    "communities",
    "grids",
    "micro_grids",
    "dedicated_grids",
    "events",
    "cooling_stations",
]


@pytest.fixture(scope="module")
def site(module_store_url):
    url = module_store_url
    store = Store(url)
    store.migrate()
    store.import_grids(read_grids(collection(small_features())))
    import_stations(store, [Station("cooling", "市场街驿站", 113.575, 34.725, capacity=20)])
    items = [
        {
            "lon": 113.507 + 0.001 * i,
            "lat": 34.707,
            "category": "noise",
            "reporter_name": "李娜",
            "reporter_phone": "13912345678",
            "reported_at": f"2026-07-0{1 + i % 5}T10:00:00+08:00",
            "description": "<script>alert(1)</script>",
        }
        for i in range(25)
    ]
    Intake(store, load_categories()).submit(
        items, "t", store.index(), datetime(2026, 7, 10, tzinfo=UTC)
    )
    create_user(store, "op", "operator")
    token = create_token(store, "op")
    with served(url) as base:
        yield base, token


def test_ogrinfo_lists_every_collection(site):
    base, _ = site
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc"], capture_output=True, text=True, check=True
    ).stdout
    for name in COLLECTIONS:
        assert f": {name} (title:" in out, name


def test_ogrinfo_reads_features(site):
    base, _ = site
    out = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", f"OAPIF:{base}/ogc", "grids"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.count("OGRFeature(grids)") == 5
    assert "410102001001001" in out and "138****1234" in out and "13812341234" not in out


def test_ogr2ogr_copies_a_collection_to_a_geopackage(site, tmp_path):
    base, _ = site
    out = tmp_path / "events.gpkg"
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{base}/ogc", "events"],
        check=True,
        capture_output=True,
    )
    frame = pyogrio.read_dataframe(out)
    assert len(frame) == 25  # 3 pages of 10, followed through the next links
    # lon 113.507 + 0.001 i: i <= 18 reach the shared edge 113.525, which the lower code owns
    assert frame["grid"].value_counts().to_dict() == {"410102001001001": 19, "410102001001002": 6}
    assert "reporter_phone" not in frame.columns and "reporter_name" not in frame.columns


def test_paging_links_and_counts(site):
    base, _ = site
    page = requests.get(
        f"{base}/ogc/collections/events/items?limit=10&offset=10", timeout=30
    ).json()
    assert (page["numberMatched"], page["numberReturned"]) == (25, 10)
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert "offset=20" in rels["next"] and "offset=0" in rels["prev"]
    last = requests.get(rels["next"], timeout=30).json()
    assert last["numberReturned"] == 5 and "next" not in {x["rel"] for x in last["links"]}


def test_filters_datetime_and_bbox(site):
    base, _ = site

    def count(query):
        return requests.get(f"{base}/ogc/collections/{query}", timeout=30).json()["numberMatched"]

    assert (
        count("events/items?datetime=2026-07-01T00:00:00%2B08:00/2026-07-02T00:00:00%2B08:00") == 5
    )
    assert count("events/items?datetime=../2026-07-02T23:59:59Z") == 10
    assert count("events/items?category=noise&status=reported") == 25
    assert count("events/items?bbox=113.50,34.70,113.5105,34.71") == 4
    assert count("grids/items?parent=410102001001") == 2
    assert count("micro_grids/items?bbox=113.512,34.706,113.513,34.707") == 1


def test_one_item_and_personal_fields(site):
    base, token = site
    anonymous = requests.get(f"{base}/ogc/collections/events/items/1", timeout=30).json()
    assert "reporter_phone" not in anonymous["properties"]
    operator = requests.get(
        f"{base}/ogc/collections/events/items/1",
        timeout=30,
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert operator["properties"]["reporter_phone"] == "13912345678"
    grid = requests.get(f"{base}/ogc/collections/grids/items/410102002001002", timeout=30).json()
    assert grid["id"] == "410102002001002" and grid["geometry"]["type"] == "Polygon"


def test_html_is_escaped(site):
    base, token = site
    page = requests.get(
        f"{base}/ogc/collections/events/items?f=html",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert (
        requests.get(f"{base}/ogc/", headers={"Accept": "text/html"}, timeout=30)
        .headers["Content-Type"]
        .startswith("text/html")
    )


def test_landing_conformance_and_openapi(site):
    base, _ = site
    landing = requests.get(f"{base}/ogc/", timeout=30).json()
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= {
        link["rel"] for link in landing["links"]
    }
    conformance = requests.get(f"{base}/ogc/conformance", timeout=30).json()
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance["conformsTo"]
    )
    api = requests.get(f"{base}/ogc/api", timeout=30)
    assert api.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert "/collections/grids/items" in api.json()["paths"]


@pytest.mark.parametrize(
    ("path", "status", "code", "description"),
    [
        ("collections/nope/items", 404, "NotFound", "collection 'nope' does not exist"),
        (
            "collections/grids/items?bbox=1,2,3",
            400,
            "InvalidParameterValue",
            "bbox must be minLon,minLat,maxLon,maxLat in CRS84, got '1,2,3'",
        ),
        (
            "collections/grids/items?limit=0",
            400,
            "InvalidParameterValue",
            "limit must be an integer from 1 to 10000, got '0'",
        ),
        (
            "collections/grids/items?limit=10001",
            400,
            "InvalidParameterValue",
            "limit must be an integer from 1 to 10000, got '10001'",
        ),
        (
            "collections/events/items?datetime=last-week",
            400,
            "InvalidParameterValue",
            "datetime: expected ISO 8601 with a zone, e.g. 2026-07-01T21:30:00+08:00, "
            "got 'last-week'",
        ),
        (
            "collections/events/items?colour=red",
            400,
            "InvalidParameterValue",
            "unknown parameter 'colour'; filters here: category, status, street, community, "
            "grid, micro, source",
        ),
        (
            "collections/grids/items/410102999001001",
            404,
            "NotFound",
            "feature '410102999001001' does not exist in 'grids'",
        ),
        ("collections?f=xml", 400, "InvalidParameterValue", "f must be json or html, got 'xml'"),
    ],
)
def test_bad_requests(site, path, status, code, description):
    base, _ = site
    response = requests.get(f"{base}/ogc/{path}", timeout=30)
    assert response.status_code == status
    assert response.json() == {"code": code, "description": description}
