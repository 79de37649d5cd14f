"""HTML pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.state import state

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """The streets of the active generation with their grid counts."""
    store = state().store
    generation = store.active_generation() if store.is_initialized() else None
    streets = store.summary(generation) if generation else []
    return render_template("index.html", streets=streets, generation=generation)
