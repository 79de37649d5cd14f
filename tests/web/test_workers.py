"""Several gunicorn workers on one store: a boundary commit reaches every worker, and
events posted by several processes while it commits are each stored once, wholly under
one generation, and the open ones end under the new one. Runs on SQLite and PostGIS."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import requests
import sqlalchemy as sa

from devtools.served import served
from geogrid.engine.assign import GridIndex
from geogrid.storage.schema import events

DATA = Path(__file__).parents[1] / "data"
POSTER = Path(__file__).with_name("poster.py")
CODES = ("district", "street", "community", "grid", "micro", "dedicated", "method")
SPLIT = {"scope": "410102002001", "commit": "true"}


def _token(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _commit_split(base: str, admin: dict) -> dict:
    with open(DATA / "redraw_split_scope.geojson", "rb") as upload:
        response = requests.post(
            f"{base}/api/v1/boundaries",
            headers=admin,
            data=SPLIT,
            files={"file": ("split.geojson", upload)},
            timeout=120,
        )
    assert response.status_code == 201, response.text
    return response.json()


def _locate(base: str) -> dict:
    # a new connection each time, so the kernel spreads requests over the workers
    url = f"{base}/api/v1/locate?lon=113.575&lat=34.745"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def test_a_commit_through_one_worker_is_used_by_all_from_their_next_request(store, tokens):
    with served(store.url, workers=3) as base:
        before = [_locate(base) for _ in range(30)]
        assert {(r["grid"], r["generation"]) for r in before} == {("410102002001002", 1)}
        assert _commit_split(base, tokens["adm"])["generation"] == 2
        after = [_locate(base) for _ in range(30)]
        assert {(r["grid"], r["generation"]) for r in after} == {("410102002001003", 2)}


def _codes(index: GridIndex, lon: float, lat: float) -> dict:
    found = index.locate(lon, lat)
    return {k: found[k] for k in CODES} | {"generation": index.generation}


def test_events_posted_by_several_processes_during_a_commit(store, tokens):
    posters, lines = [], []
    with served(store.url, workers=3) as base:
        for p in range(3):
            posters.append(
                subprocess.Popen(
                    [sys.executable, str(POSTER), base, _token(tokens["rep"]), f"p{p}", str(p)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        deadline = time.monotonic() + 120
        while True:  # let every poster get going under generation 1, then commit
            with store.engine.connect() as conn:
                stored = conn.scalar(sa.select(sa.func.count()).select_from(events))
            if stored >= 3 * 3 * 20 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        _commit_split(base, tokens["adm"])
        for proc in posters:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            lines += [json.loads(line) for line in out.splitlines()]

    index = {g: GridIndex(store.load_grids(g), generation=g) for g in (1, 2)}
    acked: dict[str, set[int]] = {}
    for line in lines:
        assert line["status"] == 200
        # a batch is assigned wholly under one generation, and each event wholly under it
        assert len({a["assignment"]["generation"] for a in line["events"]}) == 1
        for ack in line["events"]:
            assert ack["outcome"] == ("existing" if line["replay"] else "created")
            gen = ack["assignment"]["generation"]
            assert ack["assignment"] == _codes(index[gen], ack["lon"], ack["lat"])
            acked.setdefault(ack["key"], set()).add(ack["id"])
    generations = {line["events"][0]["assignment"]["generation"] for line in lines}
    assert generations == {1, 2}, "the commit did not land while events were posted"
    assert all(len(ids) == 1 for ids in acked.values()), "a replay got another event"

    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(events)).all()
    assert len(rows) == len(acked)  # every event stored once
    assert {r.idempotency_key: {r.id} for r in rows} == acked
    for row in rows:  # open events all end under the new generation, wholly
        assert row.status == "reported"
        assert {k: getattr(row, k) for k in CODES} | {"generation": row.generation_id} == (
            _codes(index[2], row.lon, row.lat)
        )


def test_a_preview_on_one_host_is_committed_on_another(store):
    """Two servers on one database, one secret (GEOGRID_SECRET_KEY), behind one name:
    the admin's session, CSRF token and staged upload all carry over. (Here they also
    share a file system; that the staging is in the database, test_boundaries checks.)"""
    import re

    from geogrid.auth import create_user

    def csrf(page: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    create_user(store, "boss", "admin", password="password-boss")
    with served(store.url) as host_a, served(store.url) as host_b:
        browser = requests.Session()  # cookies are per host name, not per port
        login = browser.get(f"{host_a}/login", timeout=30).text
        form = {"username": "boss", "password": "password-boss", "csrf_token": csrf(login)}
        browser.post(f"{host_a}/login", data=form, timeout=30)
        page = browser.get(f"{host_b}/admin/boundaries", timeout=30)
        assert page.status_code == 200
        with open(DATA / "redraw_split_scope.geojson", "rb") as upload:
            preview = browser.post(
                f"{host_a}/admin/boundaries",
                data={"scope": "410102002001", "csrf_token": csrf(page.text)},
                files={"file": ("split.geojson", upload)},
                timeout=120,
            )
        assert preview.status_code == 200, preview.text
        sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', preview.text).group(1)
        done = browser.post(
            f"{host_b}/admin/boundaries/commit",
            data={
                "sha256": sha,
                "suffix": ".geojson",
                "scope": "410102002001",
                "csrf_token": csrf(preview.text),
            },
            allow_redirects=False,
            timeout=120,
        )
        assert done.status_code == 302 and store.active_generation() == 2
        assert (_locate(host_a)["grid"], _locate(host_b)["grid"]) == ("410102002001003",) * 2
