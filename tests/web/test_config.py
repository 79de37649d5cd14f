"""Settings reach every command: instance/config.py and GEOGRID_* variables, in layers."""

import os
import urllib.request

import pytest

from devtools.served import served
from geogrid.errors import InvalidInputError
from web import create_app


def test_map_tiles_in_instance_config_reach_the_page_geogrid_serve_answers(store, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text('MAP_TILES = "amap"\n', encoding="utf-8")
    with (
        served(store.url, cwd=tmp_path) as base,
        urllib.request.urlopen(base + "/", timeout=60) as answer,
    ):
        page = answer.read().decode()
    assert "autonavi.com" in page  # Amap's GCJ-02 tiles, as the instance file says


def test_the_environment_overrides_the_instance_file_and_overrides_win(
    store, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text(
        'MAP_TILES = "amap"\nPUBLIC_EVENTS = "full"\nLOGIN_MAX_FAILURES = 9\n', encoding="utf-8"
    )
    monkeypatch.setenv("GEOGRID_SECRET_KEY", "config-test")
    monkeypatch.setenv("GEOGRID_MAP_TILES", "osm")
    monkeypatch.setenv("GEOGRID_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("GEOGRID_CATEGORIES", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("GEOGRID_DATABASE_URL", raising=False)
    with pytest.raises(
        InvalidInputError, match=r"missing\.toml: cannot read"
    ):  # the older variable still counts
        create_app(overrides={"DATABASE_URL": store.url})
    monkeypatch.delenv("GEOGRID_CATEGORIES")
    app = create_app(overrides={"DATABASE_URL": store.url})
    assert app.instance_path == os.path.join(str(tmp_path), "instance")
    assert app.config["MAP_TILES"] == "osm"  # environment over the instance file
    assert app.config["LOGIN_MAX_FAILURES"] == 3  # parsed as JSON: an integer
    assert app.config["PUBLIC_EVENTS"] == "full"  # the instance file over the defaults
    assert app.config["DATABASE_URL"] == store.url  # the command's override last


def test_a_bad_public_events_setting_is_refused(store):
    with pytest.raises(ValueError, match="PUBLIC_EVENTS must be summary, full or none"):
        create_app({"TESTING": True, "DATABASE_URL": store.url, "PUBLIC_EVENTS": "some"})


def test_public_url_builds_the_external_links_not_the_host_header(store):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": store.url, "PUBLIC_URL": "https://grid.example.cn/"}
    )
    client = app.test_client()
    landing = client.get("/ogc/", headers={"Host": "evil.example"}).get_json()
    assert {link["href"].split("/ogc")[0] for link in landing["links"]} == {
        "https://grid.example.cn"
    }
    discovery = client.get("/open311/v2/discovery.json", headers={"Host": "evil.example"})
    assert "evil.example" not in discovery.get_data(as_text=True)
    assert "https://grid.example.cn/open311/v2" in discovery.get_data(as_text=True)
