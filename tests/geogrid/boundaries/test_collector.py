"""A dry run holds Python's garbage collector off while it runs, and leaves it as it found it."""

import gc

import pytest
from grids_inline import small_features

from geogrid.boundaries import redraw
from geogrid.errors import InvalidInputError


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


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_off_during_a_dry_run_and_as_it_was_after(
    store, monkeypatch, collector, enabled
):
    seen = []
    original = redraw.check_topology

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(redraw, "check_topology", spy)
    _switch(enabled)
    assert redraw.plan(store, small_features()).ok
    assert seen == [False]
    assert gc.isenabled() is enabled
    with pytest.raises(InvalidInputError, match="feature has no 'code'"):
        redraw.plan(store, [{"type": "Feature", "properties": {}, "geometry": None}])
    assert gc.isenabled() is enabled
