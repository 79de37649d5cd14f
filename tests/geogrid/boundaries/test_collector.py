"""A dry run and a commit hold Python's garbage collector off, and leave it as they found it."""

import dataclasses
import gc
from datetime import UTC, datetime

import pytest
from grids_inline import small_features

from geogrid.boundaries import redraw
from geogrid.errors import InvalidInputError

NOW = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def collector():
    was = gc.isenabled()
    yield
    _switch(was)


def _switch(on: bool) -> None:
    if on:
        gc.enable()
    else:
        gc.disable()


def _spied(monkeypatch, name: str) -> list[bool]:
    """Whether the collector was on, each time ``redraw.<name>`` is called."""
    seen, original = [], getattr(redraw, name)

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(redraw, name, spy)
    return seen


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_off_during_a_dry_run_and_as_it_was_after(
    store, monkeypatch, collector, enabled
):
    seen = _spied(monkeypatch, "check_topology")
    _switch(enabled)
    assert redraw.plan(store, small_features()).ok
    assert seen == [False]
    assert gc.isenabled() is enabled
    with pytest.raises(InvalidInputError, match="feature has no 'code'"):
        redraw.plan(store, [{"type": "Feature", "properties": {}, "geometry": None}])
    assert gc.isenabled() is enabled


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_off_during_a_commit_and_as_it_was_after(
    store, monkeypatch, collector, enabled
):
    seen = _spied(monkeypatch, "reassign")
    the_plan = redraw.plan(store, small_features())
    _switch(enabled)
    redraw.commit(store, the_plan, "t", NOW)
    assert seen == [False]
    assert gc.isenabled() is enabled
    stale = dataclasses.replace(the_plan, base_generation=None)
    with pytest.raises(InvalidInputError, match="the active generation changed"):
        redraw.commit(store, stale, "t", NOW)
    assert gc.isenabled() is enabled
