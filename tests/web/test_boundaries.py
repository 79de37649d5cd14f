"""Boundary uploads over HTTP: the API (tokens) and the admin page (session + CSRF)."""

import io
import re
from pathlib import Path

import pytest

from geogrid.boundaries.staging import discard, stage, staged

DATA = Path(__file__).resolve().parents[1] / "data"


def _file(name: str, filename: str | None = None):
    return (io.BytesIO((DATA / f"{name}.geojson").read_bytes()), filename or f"{name}.geojson")


def _upload(api, who, name="redraw_split_scope", **form):
    data = {"file": _file(name), **form}
    return api.post(
        "/api/v1/boundaries", data=data, headers=who, content_type="multipart/form-data"
    )


def test_only_admins_upload(api, tokens):
    assert _upload(api, {}).status_code == 401
    assert _upload(api, tokens["opd"]).status_code == 403


def test_dry_run_by_default_then_commit_then_rollback(api, tokens, store):
    dry = _upload(api, tokens["adm"], scope="410102002001")
    assert dry.status_code == 200
    body = dry.get_json()
    assert body["ok"] and not body["committed"] and body["diff"]["added"] == ["410102002001003"]
    assert store.active_generation() == 1
    done = _upload(api, tokens["adm"], scope="410102002001", commit="true")
    assert done.status_code == 201
    assert (done.get_json()["generation"], done.get_json()["committed"]) == (2, True)
    located = api.get("/api/v1/locate?lon=113.575&lat=34.745").get_json()
    assert (located["grid"], located["generation"]) == ("410102002001003", 2)
    listed = api.get("/api/v1/generations", headers=tokens["view"]).get_json()["generations"]
    assert [(g["id"], g["active"], g["scope"]) for g in listed] == [
        (1, False, None),
        (2, True, "410102002001"),
    ]
    assert api.post("/api/v1/generations/1/activate", headers=tokens["opd"]).status_code == 403
    back = api.post("/api/v1/generations/1/activate", headers=tokens["adm"])
    assert back.status_code == 200 and store.active_generation() == 1
    assert api.get("/api/v1/locate?lon=113.575&lat=34.745").get_json()["grid"] == "410102002001002"


def test_a_refused_upload_changes_nothing(api, tokens, store):
    before = store.generations()
    response = _upload(api, tokens["adm"], name="redraw_overlap", commit="true")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["message"] == "the upload has errors; nothing was changed"
    assert error["details"][0]["kind"] == "overlap"
    assert store.generations() == before


@pytest.mark.parametrize(
    ("name", "form", "message"),
    [
        (
            "redraw_orphan",
            {},
            "1 problem in the grids; first: feature 7: parent '410102001002' "
            "of grid '410102001002001' is missing",
        ),
        ("redraw_crs_3857", {}, "crs 'EPSG:3857': GeoJSON must be lon/lat (RFC 7946)"),
        (
            "redraw_split_scope",
            {"scope": "410102001"},
            "scope '410102001' does not match the codes inside",
        ),
        ("redraw_valid", {"commit": "maybe"}, "commit: expected true or false, got 'maybe'"),
    ],
)
def test_bad_uploads_get_400_with_the_reason(api, tokens, name, form, message):
    response = _upload(api, tokens["adm"], name=name, **form)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith(message)


def test_missing_file_and_oversize(store, tokens):
    from web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": store.url, "MAX_CONTENT_LENGTH": 2000})
    client = app.test_client()
    missing = client.post(
        "/api/v1/boundaries", data={}, headers=tokens["adm"], content_type="multipart/form-data"
    )
    assert missing.get_json()["error"]["message"].startswith("file: is required")
    big = client.post(
        "/api/v1/boundaries",
        data={"file": _file("redraw_valid")},
        headers=tokens["adm"],
        content_type="multipart/form-data",
    )
    assert big.status_code == 413
    assert big.get_json()["error"]["message"] == (
        "the request is larger than the limit of 2,000 bytes"
    )


def _login(api, store, name, role):
    from geogrid.auth import create_user

    create_user(store, name, role, password="password-" + name)
    page = api.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    api.post("/login", data={"username": name, "password": "password-" + name, "csrf_token": token})


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_admin_page_needs_an_admin_session(api, store):
    assert api.get("/admin/boundaries").status_code == 401
    _login(api, store, "watcher", "viewer")
    assert api.get("/admin/boundaries").status_code == 403


def test_admin_page_preview_commit_and_rollback(api, store):
    _login(api, store, "boss", "admin")
    page = api.get("/admin/boundaries").get_data(as_text=True)
    no_csrf = api.post(
        "/admin/boundaries",
        data={"file": _file("redraw_split_scope"), "scope": "410102002001"},
        content_type="multipart/form-data",
    )
    assert no_csrf.status_code == 400
    preview = api.post(
        "/admin/boundaries",
        data={
            "file": _file("redraw_split_scope"),
            "scope": "410102002001",
            "csrf_token": _csrf(page),
        },
        content_type="multipart/form-data",
    )
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "预览 / Preview ✓" in text
    assert 'sandbox="allow-scripts" srcdoc=' in text and "/static/vendor/leaflet" in text
    assert store.active_generation() == 1
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', text).group(1)
    # staged in the store, where any worker on any host can commit it
    assert staged(store, sha)[0] == ".geojson"
    done = api.post(
        "/admin/boundaries/commit",
        data={
            "sha256": sha,
            "suffix": ".geojson",
            "scope": "410102002001",
            "csrf_token": _csrf(text),
        },
    )
    assert done.status_code == 302 and store.active_generation() == 2
    assert staged(store, sha) is None
    page = api.get("/admin/boundaries").get_data(as_text=True)
    assert "generation 2 active" in page
    back = api.post("/admin/generations/1/activate", data={"csrf_token": _csrf(page)})
    assert back.status_code == 302 and store.active_generation() == 1


def test_admin_page_shows_a_refused_file(api, store):
    _login(api, store, "boss", "admin")
    page = api.get("/admin/boundaries").get_data(as_text=True)
    bad = api.post(
        "/admin/boundaries",
        data={"file": _file("redraw_orphan"), "csrf_token": _csrf(page)},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400
    assert "parent &#39;410102001002&#39; of grid" in bad.get_data(as_text=True)


def test_staging_replaces_the_same_file_and_prunes_old_ones(store, clock):
    from datetime import timedelta

    stage(store, "a" * 64, ".geojson", b"old", "boss", clock.now - timedelta(days=8))
    stage(store, "b" * 64, ".zip", b"first", "boss", clock.now)
    stage(store, "b" * 64, ".zip", b"again", "boss", clock.now)
    assert staged(store, "a" * 64) is None  # older than a week: pruned
    assert staged(store, "b" * 64) == (".zip", b"again")
    discard(store, "b" * 64)
    assert staged(store, "b" * 64) is None
