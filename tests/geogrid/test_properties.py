"""Properties of codes and of the bundled district that every layer relies on."""

import shapely
from hypothesis import given
from hypothesis import strategies as st
from strategies import grid_codes

from geogrid import codes

LEVEL_OF_DEPTH = ["district", "street", "community", "grid", "micro"]


@given(grid_codes())
def test_codes_round_trip_through_level_parent_and_chain(drawn):
    code, level, parts = drawn
    assert codes.validate_code(code) == code
    assert codes.level_of(code) == level
    parent = codes.parent_of(code)
    assert parent == ("".join(parts[:-1]) or None)
    assert (parent or "") + parts[-1] == code
    chain = codes.chain(code)
    if level == "dedicated":
        assert chain["dedicated"] == code and chain["community"] == parent
    else:
        assert chain[level] == code
        for depth, name in enumerate(LEVEL_OF_DEPTH):
            assert chain[name] == ("".join(parts[: depth + 1]) if depth < len(parts) else None)


@given(st.data())
def test_every_child_lies_within_its_parent(demo_grids, data):
    by_code = {g.code: g for g in demo_grids}
    children = [g for g in demo_grids if g.parent]
    child = children[data.draw(st.integers(0, len(children) - 1), label="child")]
    parent = by_code[child.parent]
    outside = shapely.difference(child.geometry, parent.geometry)
    # in square degrees: 1e-12 is about 0.01 m² at this latitude (edges shared to rounding)
    assert outside.area < 1e-12, (child.code, outside.area)
