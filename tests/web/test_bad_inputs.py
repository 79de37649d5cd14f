"""A catalogue of bad input across every surface and the CLI: each a clear 4xx (or exit
status) naming what was wrong, and nothing stored.

Every case runs on both backends; after each, the store's row counts are as before.
"""

import io
import json
import zipfile

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from grids_inline import collection, small_features

from geogrid.cli import main as cli
from geogrid.storage.schema import (
    api_tokens,
    event_history,
    events,
    generations,
    grids,
    stations,
    users,
)

TABLES = (events, event_history, grids, generations, stations, users, api_tokens)
GOOD = {"lon": 113.507, "lat": 34.707, "category": "noise"}
DEEP = "[" * 100_000 + "]" * 100_000


def _counts(store):
    with store.engine.connect() as conn:
        return [conn.scalar(sa.select(sa.func.count()).select_from(t)) for t in TABLES]


def _fc(**change) -> bytes:
    fc = collection(small_features())
    fc.update(change.get("top", {}))
    if "coordinates" in change:
        fc["features"][0]["geometry"]["coordinates"] = change["coordinates"]
    return json.dumps(fc).encode()


def _nested(depth):
    value = [113.5, 34.7]
    for _ in range(depth):
        value = [value]
    return value


def _zip(name: str, data: bytes, corrupt: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(name, data)
    raw = bytearray(buf.getvalue())
    if corrupt:
        raw[raw.find(data[:8]) + 3] ^= 0x01
    return bytes(raw)


def _json(body) -> dict:
    data = body if isinstance(body, str) else json.dumps(body)
    return {"data": data, "content_type": "application/json"}


def _file(data: bytes, name: str, **form):
    """Request arguments with a fresh file object each time (a stream is read once)."""
    return lambda: {
        "data": {"file": (io.BytesIO(data), name), **form},
        "content_type": "multipart/form-data",
    }


# (id, role, method, path, request kwargs, status, a fragment of the message)
HTTP = [
    # ids out of range, or not ASCII digits
    ("event-id-huge", "adm", "GET", "/api/v1/events/99999999999999999999", {}, 404, "not found"),
    ("event-id-pg-range", "adm", "GET", "/api/v1/events/3000000000", {}, 404, "not found"),
    ("event-id-zero", "adm", "GET", "/api/v1/events/0", {}, 404, "not found"),
    ("event-id-superscript", "adm", "GET", "/api/v1/events/²", {}, 404, "not found"),
    (
        "patch-id-huge",
        "adm",
        "PATCH",
        "/api/v1/events/99999999999999999999",
        _json({"status": "accepted"}),
        404,
        "not found",
    ),
    (
        "activate-huge",
        "adm",
        "POST",
        "/api/v1/generations/99999999999999999999/activate",
        {},
        404,
        "not found",
    ),
    (
        "activate-missing",
        "adm",
        "POST",
        "/api/v1/generations/77/activate",
        {},
        404,
        "generation 77",
    ),
    (
        "ogc-item-huge",
        None,
        "GET",
        "/ogc/collections/events/items/99999999999999999999",
        {},
        404,
        "does not exist",
    ),
    (
        "ogc-item-superscript",
        None,
        "GET",
        "/ogc/collections/events/items/²",
        {},
        404,
        "does not exist",
    ),
    (
        "ogc-station-superscript",
        None,
        "GET",
        "/ogc/collections/cooling_stations/items/²",
        {},
        404,
        "does not exist",
    ),
    (
        "open311-id-huge",
        None,
        "GET",
        "/open311/v2/requests/99999999999999999999.json",
        {},
        404,
        "Not Found",
    ),
    (
        "open311-id-list",
        None,
        "GET",
        "/open311/v2/requests.json?service_request_id=1,²",
        {},
        400,
        "service_request_id: expected an integer id",
    ),
    (
        "open311-id-list-huge",
        None,
        "GET",
        "/open311/v2/requests.json?service_request_id=9999999999",
        {},
        400,
        "service_request_id: expected an integer id",
    ),
    (
        "open311-token-huge",
        None,
        "GET",
        "/open311/v2/tokens/99999999999999999999.json",
        {},
        404,
        "does not exist",
    ),
    (
        "merge-into-float",
        "adm",
        "PATCH",
        "/api/v1/events/1",
        _json({"status": "merged", "merge_into": 1e30}),
        400,
        "merge_into: is required",
    ),
    (
        "merge-into-huge",
        "adm",
        "PATCH",
        "/api/v1/events/1",
        _json('{"status": "merged", "merge_into": 100000000000000000000}'),
        400,
        "merge_into: expected an integer id",
    ),
    (
        "merge-into-bool",
        "adm",
        "PATCH",
        "/api/v1/events/1",
        _json({"status": "merged", "merge_into": True}),
        400,
        "merge_into: is required",
    ),
    (
        "merge-into-self",
        "adm",
        "PATCH",
        "/api/v1/events/1",
        _json({"status": "merged", "merge_into": 1}),
        400,
        "merged into itself",
    ),
    (
        "merge-into-missing",
        "adm",
        "PATCH",
        "/api/v1/events/1",
        _json({"status": "merged", "merge_into": 999}),
        400,
        "no event with id 999",
    ),
    # times at the calendar's edges, and zones
    (
        "from-year-1",
        "adm",
        "GET",
        "/api/v1/events?from=0001-01-01T00:00:00%2B14:00",
        {},
        400,
        "from: expected a time from 1900 to 2200",
    ),
    (
        "to-year-9999",
        "adm",
        "GET",
        "/api/v1/events?to=9999-12-31T23:59:59-14:00",
        {},
        400,
        "to: expected a time from 1900 to 2200",
    ),
    (
        "from-no-zone",
        "adm",
        "GET",
        "/api/v1/events?from=2026-07-01T00:00:00",
        {},
        400,
        "from: needs a time zone",
    ),
    (
        "from-garbage",
        "adm",
        "GET",
        "/api/v1/events?from=yesterday",
        {},
        400,
        "from: expected ISO 8601",
    ),
    (
        "open311-start-9999",
        None,
        "GET",
        "/open311/v2/requests.json?start_date=9999-12-01T00:00:00Z",
        {},
        400,
        "start_date: expected a time from 1900 to 2200",
    ),
    (
        "open311-start-garbage",
        None,
        "GET",
        "/open311/v2/requests.json?start_date=soon",
        {},
        400,
        "start_date: expected ISO 8601",
    ),
    (
        "open311-end-before-start",
        None,
        "GET",
        "/open311/v2/requests.json?start_date=2026-07-02T00:00:00Z&end_date=2026-07-01T00:00:00Z",
        {},
        400,
        "start_date must be before end_date",
    ),
    (
        "ogc-datetime-year-1",
        None,
        "GET",
        "/ogc/collections/events/items?datetime=0001-01-01T00:00:00%2B14:00/..",
        {},
        400,
        "datetime: expected a time from 1900 to 2200",
    ),
    (
        "ogc-datetime-garbage",
        None,
        "GET",
        "/ogc/collections/events/items?datetime=last-week",
        {},
        400,
        "datetime: expected ISO 8601",
    ),
    (
        "reported-at-year-1",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "reported_at": "0001-01-01T00:00:00+14:00"}),
        400,
        "reported_at: expected a time from 1900 to 2200",
    ),
    (
        "reported-at-future",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "reported_at": "2199-01-01T00:00:00+08:00"}),
        400,
        "is in the future",
    ),
    # bodies
    ("body-deep", "rep", "POST", "/api/v1/events", _json(DEEP), 400, "body: is nested too deeply"),
    ("body-empty", "rep", "POST", "/api/v1/events", _json(""), 400, "body: is empty"),
    (
        "body-nan",
        "rep",
        "POST",
        "/api/v1/events",
        _json('{"lon": NaN, "lat": 34.7, "category": "noise"}'),
        400,
        "NaN is not a number JSON allows",
    ),
    (
        "body-not-json",
        "rep",
        "POST",
        "/api/v1/events",
        _json("{lon: 1"),
        400,
        "invalid JSON at line 1",
    ),
    ("body-scalar", "rep", "POST", "/api/v1/events", _json("42"), 400, "events: expected an array"),
    (
        "lone-surrogate",
        "rep",
        "POST",
        "/api/v1/events",
        _json('{"lon": 113.507, "lat": 34.707, "category": "noise", "description": "\\ud800"}'),
        400,
        "description: contains a lone surrogate U+D800",
    ),
    (
        "nul-description",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "description": "a\u0000b"}),
        400,
        "description: contains the control character U+0000",
    ),
    (
        "nul-reporter-name",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "reporter_name": "x\u0000"}),
        400,
        "reporter_name: contains the control character U+0000",
    ),
    (
        "escape-in-key",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "idempotency_key": "k\u001b[2J"}),
        400,
        "idempotency_key: contains the control character U+001B",
    ),
    (
        "nul-note",
        "adm",
        "PATCH",
        "/api/v1/events/1",
        _json({"status": "accepted", "note": "ok\u0000"}),
        400,
        "note: contains the control character U+0000",
    ),
    (
        "unknown-field",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "colour": "red"}),
        400,
        "colour: unknown field",
    ),
    (
        "lon-string",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "lon": "east"}),
        400,
        "lon: expected a number",
    ),
    (
        "lat-out-of-range",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "lat": 134.7}),
        400,
        "lat=134.7 out of range",
    ),
    (
        "category-unknown",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "category": "ufo"}),
        400,
        "category: expected one of",
    ),
    (
        "crs-unknown",
        "rep",
        "POST",
        "/api/v1/events",
        _json({**GOOD, "crs": "epsg:3857"}),
        400,
        "crs: expected one of",
    ),
    (
        "patch-status-unknown",
        "adm",
        "PATCH",
        "/api/v1/events/1",
        _json({"status": "done"}),
        400,
        "status: expected one of",
    ),
    (
        "patch-illegal-step",
        "adm",
        "PATCH",
        "/api/v1/events/1",
        _json({"status": "closed"}),
        409,
        "cannot go from 'reported' to 'closed'",
    ),
    # query parameters with NUL and control characters, on every surface
    (
        "ogc-status-nul",
        None,
        "GET",
        "/ogc/collections/events/items?status=%00",
        {},
        400,
        "status: contains the control character U+0000",
    ),
    (
        "api-code-nul",
        "adm",
        "GET",
        "/api/v1/events?code=%00",
        {},
        400,
        "code: contains the control character U+0000",
    ),
    (
        "locate-crs-nul",
        None,
        "GET",
        "/api/v1/locate?lon=113.5&lat=34.7&crs=%00",
        {},
        400,
        "crs: contains the control character U+0000",
    ),
    (
        "open311-code-nul",
        None,
        "GET",
        "/open311/v2/requests.json?service_code=%00",
        {},
        400,
        "service_code: contains the control character U+0000",
    ),
    (
        "map-nul",
        None,
        "GET",
        "/?category=%1b",
        {},
        400,
        "category: contains the control character U+001B",
    ),
    (
        "limit-superscript",
        "adm",
        "GET",
        "/api/v1/events?limit=²",
        {},
        400,
        "limit: expected an integer from 1 to 1000",
    ),
    (
        "limit-huge",
        "adm",
        "GET",
        "/api/v1/events?limit=1000000",
        {},
        400,
        "limit: expected an integer from 1 to 1000",
    ),
    (
        "ogc-limit-superscript",
        None,
        "GET",
        "/ogc/collections/events/items?limit=²",
        {},
        400,
        "limit must be an integer",
    ),
    (
        "bbox-short",
        "adm",
        "GET",
        "/api/v1/events?bbox=1,2,3",
        {},
        400,
        "bbox: expected min_lon,min_lat,max_lon,max_lat",
    ),
    (
        "ogc-bbox-nan",
        None,
        "GET",
        "/ogc/collections/events/items?bbox=nan,1,2,3",
        {},
        400,
        "bbox must be minLon,minLat,maxLon,maxLat",
    ),
    (
        "locate-lon-inf",
        None,
        "GET",
        "/api/v1/locate?lon=inf&lat=34.7",
        {},
        400,
        "lon: expected a finite number",
    ),
    ("grid-code-bad", None, "GET", "/api/v1/grids/41010X", {}, 400, "is not a grid code"),
    (
        "ogc-unknown-filter",
        None,
        "GET",
        "/ogc/collections/events/items?colour=red",
        {},
        400,
        "unknown parameter 'colour'",
    ),
    # uploads
    (
        "upload-zip-crc",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(_zip("g.shp", b"0123456789abcdef" * 64, corrupt=True), "g.zip"),
        400,
        "the zip is damaged",
    ),
    (
        "upload-crs-string",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(_fc(top={"crs": "EPSG:4326"}), "g.geojson"),
        400,
        "crs: expected",
    ),
    (
        "upload-crs-projected",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(_fc(top={"crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}), "g.geojson"),
        400,
        "GeoJSON must be lon/lat",
    ),
    (
        "upload-coordinates-object",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(_fc(coordinates={"a": 1}), "g.geojson"),
        400,
        "geometry.coordinates must be an array, got dict",
    ),
    (
        "upload-coordinates-deep",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(_fc(coordinates=_nested(900)), "g.geojson"),
        400,
        "feature 0: coordinates nested deeper",
    ),
    (
        "upload-suffix-long",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(_fc(), "g." + "x" * 300),
        400,
        "file: expected one of .geojson",
    ),
    (
        "upload-suffix-nul",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(_fc(), "g.geo\x00json"),
        400,
        "file: expected one of .geojson",
    ),
    (
        "upload-not-zip",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(b"PK-not-really", "g.zip"),
        400,
        "not a zip file",
    ),
    (
        "upload-json-deep",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(DEEP.encode(), "g.geojson"),
        400,
        "nested too deeply",
    ),
    (
        "upload-not-utf8",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(b"\xff\xfe{}", "g.geojson"),
        400,
        "file is not UTF-8 text",
    ),
    (
        "upload-empty-collection",
        "adm",
        "POST",
        "/api/v1/boundaries",
        _file(b'{"type": "FeatureCollection", "features": []}', "g.geojson"),
        400,
        "has no features",
    ),
    (
        "stations-not-utf8",
        "adm",
        "POST",
        "/api/v1/stations",
        _file("name,lon,lat\n\xe9t\xe9,113.5,34.7\n".encode("latin-1"), "s.csv"),
        400,
        "line 2: not UTF-8 text",
    ),
    (
        "stations-nul",
        "adm",
        "POST",
        "/api/v1/stations",
        _file(b"name,lon,lat\nx\x00y,113.5,34.7\n", "s.csv"),
        400,
        "line 2: name: contains the control character U+0000",
    ),
    (
        "stations-suffix",
        "adm",
        "POST",
        "/api/v1/stations",
        _file(b"x", "s.exe"),
        400,
        "expected a .geojson or .csv file",
    ),
    # login
    (
        "login-next-tab",
        None,
        "POST",
        "/login",
        {"data": {"username": "nobody", "password": "x", "next": "/\t/evil.example"}},
        400,
        "CSRF",
    ),
]


@pytest.fixture
def seeded(api, tokens, store):
    answer = api.post("/api/v1/events", headers=tokens["adm"], **_json(GOOD))
    assert answer.status_code == 201
    return store


@pytest.mark.parametrize(
    ("role", "method", "path", "kwargs", "status", "message"),
    [case[1:] for case in HTTP],
    ids=[case[0] for case in HTTP],
)
def test_bad_http_input_is_a_clear_4xx_and_stores_nothing(
    api, tokens, seeded, role, method, path, kwargs, status, message
):
    before = _counts(seeded)
    headers = tokens[role] if role else {}
    kwargs = kwargs() if callable(kwargs) else kwargs
    answer = api.open(path, method=method, headers=headers, **(kwargs or {}))
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    assert message in answer.get_data(as_text=True).replace("\\u0000", "\u0000") or message in (
        json.dumps(answer.get_json()) if answer.is_json else ""
    ), answer.get_data(as_text=True)[:300]
    assert _counts(seeded) == before


CLI = [
    ("locate-lon", ["locate", "east", "34.7"], "lon"),
    ("locate-lat", ["locate", "113.5", "134.7"], "lat=134.7 out of range"),
    ("locate-crs", ["locate", "113.5", "34.7", "--crs", "epsg3857"], "Invalid value for '--crs'"),
    ("user-role", ["user", "add", "x", "--role", "king"], "Invalid value for '--role'"),
    (
        "user-scope",
        ["user", "add", "x", "--role", "operator", "--scope", "41010200100"],
        "is not a grid code",
    ),
    ("token-unknown-user", ["user", "token", "nobody"], "no user 'nobody'"),
    ("import-grids-missing", ["import-grids", "/nonexistent.geojson"], "does not exist"),
]


@pytest.mark.parametrize(("args", "message"), [c[1:] for c in CLI], ids=[c[0] for c in CLI])
def test_bad_cli_input_exits_non_zero_with_a_message_and_stores_nothing(seeded, args, message):
    before = _counts(seeded)
    result = CliRunner().invoke(cli, ["--database", seeded.url, *args])
    assert result.exit_code != 0
    assert message in result.output + (result.stderr if result.stderr_bytes else "")
    assert _counts(seeded) == before


def test_bad_cli_files_are_named_by_line_and_nothing_is_stored(seeded, tmp_path):
    bad_events = tmp_path / "events.csv"
    bad_events.write_bytes(b"lon,lat,category,description\n113.507,34.707,noise,ok\x00no\n")
    before = _counts(seeded)
    result = CliRunner().invoke(cli, ["--database", seeded.url, "import-events", str(bad_events)])
    assert result.exit_code == 1
    assert "line 2" in result.output and "U+0000" in result.output
    assert _counts(seeded) == before
    stations_file = tmp_path / "s.csv"
    stations_file.write_bytes("name,lon,lat\n\xe9,113.5,34.7\n".encode("latin-1"))
    result = CliRunner().invoke(
        cli, ["--database", seeded.url, "import-stations", str(stations_file)]
    )
    assert result.exit_code == 2 and "line 2: not UTF-8 text" in result.output
    assert _counts(seeded) == before
