"""Logging in and out: no open redirect, no cross-site logout."""

import re

import pytest

from geogrid.auth import create_user


def _csrf(api, path="/login") -> str:
    page = api.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _login(api, next_=""):
    return api.post(
        "/login",
        data={
            "username": "chief",
            "password": "a long password",
            "csrf_token": _csrf(api),
            "next": next_,
        },
    )


@pytest.fixture
def chief(store):
    create_user(store, "chief", "operator", "410102001", password="a long password")


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "https://evil.example/",
        "http:/evil.example",
        "evil.example",
        "/ /evil.example".replace(" ", "\x7f"),
    ],
)
def test_next_never_leaves_the_site(api, chief, target):
    answer = _login(api, target)
    if "\x7f" in target:  # refused outright by the request layer: no login, no redirect
        assert answer.status_code == 400
        return
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"  # the map, not a way off the site


@pytest.mark.parametrize("target", ["/?code=410102001", "/cases?status=reported", "/streets"])
def test_next_keeps_a_path_on_this_site(api, chief, target):
    assert _login(api, target).headers["Location"] == target


def test_logout_takes_a_csrf_protected_post(api, chief):
    _login(api)
    assert "chief" in api.get("/").get_data(as_text=True)
    page = api.get("/logout")  # another site's link or <img> lands here: it only asks
    assert page.status_code == 200 and 'method="post"' in page.get_data(as_text=True)
    assert "chief" in api.get("/").get_data(as_text=True)
    assert api.post("/logout").status_code == 400  # no token: refused
    assert "chief" in api.get("/").get_data(as_text=True)
    done = api.post("/logout", data={"csrf_token": _csrf(api, "/logout")})
    assert done.status_code == 302
    assert "chief" not in api.get("/").get_data(as_text=True)
