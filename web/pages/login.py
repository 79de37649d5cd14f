"""HTML pages besides the map: the street list, log in and log out."""

from __future__ import annotations

import math
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from geogrid.auth import (
    clear_login_failures,
    login_lockout,
    record_login_failure,
    user_for_password,
)
from web.auth import client_address
from web.state import state

bp = Blueprint("pages", __name__)


@bp.get("/streets")
def streets():
    """The streets of the active generation with their grid counts."""
    store = state().store
    generation = store.active_generation() if store.is_initialized() else None
    rows = store.summary(generation) if generation else []
    return render_template("index.html", streets=rows, generation=generation)


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the map: never another host.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    a ``next`` of slash, tab, slash, ``evil.com`` would leave the site: any control
    character or backslash sends the user to the map instead.
    """
    if (
        not target
        or not target.startswith("/")
        or "\\" in target
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        return url_for("map.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return url_for("map.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Username and password (CSRF-protected form); the session then carries the user."""
    if request.method == "GET":
        return render_template("login.html", error=None, next=request.args.get("next", ""))
    config, store = current_app.config, state().store
    now = config["CLOCK"]()
    username = request.form.get("username", "")
    keys = [f"user:{username[:150]}", f"addr:{client_address()}"]
    wait = login_lockout(store, keys, now)
    if wait:
        minutes = math.ceil(wait / 60)
        error = (
            f"尝试次数过多，请 {minutes} 分钟后再试 / too many failed logins: wait {minutes} min"
        )
        page = render_template("login.html", error=error, next=request.form.get("next", ""))
        return page, 429, {"Retry-After": str(wait)}
    user = user_for_password(store, username, request.form.get("password", ""))
    if user is None:
        lockout = timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
        record_login_failure(store, keys, now, config["LOGIN_MAX_FAILURES"], lockout)
        error = "用户名或密码错误 / wrong username or password"
        return render_template("login.html", error=error, next=request.form.get("next", "")), 401
    clear_login_failures(store, keys[:1])
    session.clear()
    session["user_id"] = user.id
    return redirect(safe_next(request.form.get("next")))


@bp.get("/favicon.ico")
def favicon():
    """No icon (and no 404 in the log)."""
    return "", 204


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """End the session (POST, CSRF-protected) and go back to the map; GET asks first.

    A GET never logs out: a link or image on another site must not end a session.
    """
    if request.method == "GET":
        return render_template("logout.html")
    session.clear()
    return redirect(url_for("map.index"))
