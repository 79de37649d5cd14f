"""HTML pages besides the map: the street list, log in and log out."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from geogrid.auth import user_for_password
from web.state import state

bp = Blueprint("pages", __name__)


@bp.get("/streets")
def streets():
    """The streets of the active generation with their grid counts."""
    store = state().store
    generation = store.active_generation() if store.is_initialized() else None
    rows = store.summary(generation) if generation else []
    return render_template("index.html", streets=rows, generation=generation)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an absolute or scheme-relative URL.
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("map.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Username and password (CSRF-protected form); the session then carries the user."""
    error = None
    if request.method == "POST":
        user = user_for_password(
            state().store, request.form.get("username", ""), request.form.get("password", "")
        )
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            return redirect(_safe_next(request.form.get("next")))
        error = "用户名或密码错误 / wrong username or password"
    return render_template("login.html", error=error, next=request.args.get("next", "")), (
        401 if error else 200
    )


@bp.get("/favicon.ico")
def favicon():
    return "", 204


@bp.get("/logout")
def logout():
    session.clear()
    return redirect(url_for("map.index"))
