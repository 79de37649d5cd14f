"""The offline basemap: tiles served from an MBTiles file, and the map page choosing them."""

import json
import os
import re

import pytest
from tiles_inline import make_mbtiles

from web import create_app


@pytest.fixture
def mbtiles(tmp_path):
    path = tmp_path / "district.mbtiles"
    return path, make_mbtiles(path)


@pytest.fixture
def tiles_app(store, mbtiles):
    path, _ = mbtiles
    return create_app({"TESTING": True, "DATABASE_URL": store.url, "MAP_TILES": f"mbtiles:{path}"})


@pytest.fixture
def tiles_client(tiles_app):
    return tiles_app.test_client()


def _some_tile(written, zoom=13):
    return next((k, v) for k, v in sorted(written.items()) if k[0] == zoom)


def test_a_tile_is_served_with_its_type_and_caching_headers(tiles_client, mbtiles):
    _, written = mbtiles
    (z, x, y), data = _some_tile(written)
    response = tiles_client.get(f"/tiles/{z}/{x}/{y}")
    assert response.status_code == 200
    assert response.content_type == "image/png"
    assert response.data == data
    assert response.cache_control.public and response.cache_control.max_age == 86400
    etag, weak = response.get_etag()
    assert etag.endswith(f"-{z}-{x}-{y}") and not weak
    other = tiles_client.get("/tiles/{}/{}/{}".format(*_some_tile(written, 14)[0]))
    assert other.get_etag()[0] != etag


def test_a_tile_the_browser_has_is_not_sent_again(tiles_client, mbtiles):
    _, written = mbtiles
    (z, x, y), _ = _some_tile(written)
    etag = tiles_client.get(f"/tiles/{z}/{x}/{y}").headers["ETag"]
    again = tiles_client.get(f"/tiles/{z}/{x}/{y}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    changed = tiles_client.get(f"/tiles/{z}/{x}/{y}", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


def test_the_etag_changes_when_the_file_is_replaced(tiles_client, mbtiles):
    path, written = mbtiles
    (z, x, y), _ = _some_tile(written)
    etag = tiles_client.get(f"/tiles/{z}/{x}/{y}").headers["ETag"]
    path.unlink()
    make_mbtiles(path)
    os.utime(path, ns=(1, 1))
    again = tiles_client.get(f"/tiles/{z}/{x}/{y}", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag


@pytest.mark.parametrize("address", ["12/0/0", "15/26780/13011", "0/0/0"])
def test_a_tile_the_file_does_not_have_is_a_404(tiles_client, address):
    response = tiles_client.get(f"/tiles/{address}")
    assert response.status_code == 404 and response.data == b""


@pytest.mark.parametrize(
    ("address", "field", "message"),
    [
        ("-1/0/0", "z", "z: expected an integer from 0 to 30, got '-1'"),
        ("31/0/0", "z", "z: expected an integer from 0 to 30, got '31'"),
        ("12/4096/0", "x", "x: expected an integer from 0 to 4095 at zoom 12, got '4096'"),
        ("12/0/-3", "y", "y: expected an integer from 0 to 4095 at zoom 12, got '-3'"),
        ("12/0/1.png", "y", "y: expected an integer from 0 to 4095 at zoom 12, got '1.png'"),
    ],
)
def test_a_bad_tile_address_is_a_400_naming_the_field(tiles_client, address, field, message):
    response = tiles_client.get(f"/tiles/{address}")
    assert response.status_code == 400
    assert response.get_json() == {
        "error": {
            "type": "InvalidInputError",
            "message": message,
            "details": [{"field": field, "message": message.split(": ", 1)[1]}],
        }
    }


def test_without_an_mbtiles_file_there_are_no_tiles(client, store, tmp_path):
    assert client.get("/tiles/12/3339/1626").status_code == 404
    assert client.get("/tiles/-1/0/0").status_code == 404
    gone = create_app(
        {"TESTING": True, "DATABASE_URL": store.url, "MAP_TILES": f"mbtiles:{tmp_path}/no.mbtiles"}
    )
    assert gone.test_client().get("/tiles/12/3339/1626").status_code == 404
    page = gone.test_client().get("/")  # the map goes on without its basemap
    assert page.status_code == 200 and "/tiles/{z}/{x}/{y}" not in page.get_data(as_text=True)


def _tile_layer(html: str) -> dict:
    found = re.search(r'L\.tileLayer\(\s*"([^"]+)",\s*(\{.*?\})\s*\);', html, re.S)
    assert found, "no tile layer on the page"
    options = re.sub(r",(\s*[\]}])", r"\1", found.group(2))  # folium's trailing commas
    return {"url": found.group(1), **json.loads(options)}


def test_the_map_page_uses_the_mbtiles_file_by_default(tiles_client):
    html = tiles_client.get("/").get_data(as_text=True)
    layer = _tile_layer(html)
    assert layer["url"] == "/tiles/{z}/{x}/{y}"
    assert (layer["minZoom"], layer["maxNativeZoom"], layer["maxZoom"]) == (12, 14, 19)
    assert layer["bounds"] == [[34.70, 113.50], [34.76, 113.60]]
    # Leaflet writes the attribution as HTML: the file's markup arrives as text
    assert layer["attribution"] == "测试 &lt;b&gt;底图&lt;/b&gt;"
    assert '<option value="mbtiles" selected>' in html
    assert _tile_layer(tiles_client.get("/?tiles=mbtiles").get_data(as_text=True)) == layer
    assert "L.tileLayer" not in tiles_client.get("/?tiles=none").get_data(as_text=True)


def test_mbtiles_is_a_bad_choice_when_no_file_is_configured(client):
    response = client.get("/?tiles=mbtiles")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == (
        "tiles: expected one of none, osm, tianditu, amap, got 'mbtiles'"
    )
    assert '"mbtiles"' not in client.get("/").get_data(as_text=True)


def test_the_page_cache_keeps_the_tiles_and_the_file_apart(tiles_client, mbtiles):
    path, _ = mbtiles
    with_tiles = tiles_client.get("/?tiles=mbtiles").get_data(as_text=True)
    assert "L.tileLayer" not in tiles_client.get("/?tiles=none").get_data(as_text=True)
    assert tiles_client.get("/?tiles=mbtiles").get_data(as_text=True) == with_tiles
    path.unlink()
    make_mbtiles(path, zooms=(11, 12))  # a new file: other zooms on the page
    os.utime(path, ns=(1, 1))
    layer = _tile_layer(tiles_client.get("/?tiles=mbtiles").get_data(as_text=True))
    assert (layer["minZoom"], layer["maxNativeZoom"]) == (11, 12)
