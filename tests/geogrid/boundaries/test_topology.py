"""Topology checks: the coverage path and the general path report the same faults.

Siblings that form a valid polygonal coverage skip the pairwise overlays and
take the coverage union; the others go the general way. Each case here is
checked against a reference that always goes the general way (overlay of every
sibling pair, union of every parent's children, difference of every child).
"""

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geogrid.boundaries.topology import Tolerances, check_topology
from geogrid.coords import metric_transformer, to_metric
from geogrid.grid import Grid

COMMUNITY = "410102001001"
PARENT = shapely.box(113.50, 34.70, 113.51, 34.71)


def _reference(grids: list[Grid]) -> list[tuple]:
    """(kind, severity, codes, m²) of every fault, each found the general way."""
    tol = Tolerances()
    geoms = {g.code: g.geometry for g in grids}
    forward = metric_transformer(list(geoms.values()))

    def area(piece) -> float:
        return float(shapely.area(to_metric(piece, forward)))

    def thin(piece) -> bool:
        metric = to_metric(piece, forward)
        perimeter = shapely.length(metric)
        return perimeter > 0 and 2 * shapely.area(metric) / perimeter < tol.sliver_width_m

    found = []
    siblings: dict = {}
    for g in grids:
        if g.level in ("street", "community", "grid", "micro"):
            parent = g.parent if g.parent in geoms else None
            siblings.setdefault((g.level, parent), []).append(g.code)
    for (_, parent), group in siblings.items():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                piece = shapely.intersection(geoms[a], geoms[b])
                if area(piece) > tol.overlap_m2:
                    found.append(("overlap", "error", [a, b], area(piece), piece))
        if parent is not None:
            piece = shapely.difference(geoms[parent], shapely.union_all([geoms[c] for c in group]))
            if area(piece) > tol.gap_m2:
                severity = "warning" if group and len(group[0]) == 17 else "error"
                found.append(("gap", severity, [parent], area(piece), piece))
    for g in grids:
        if g.parent in geoms:
            piece = shapely.difference(g.geometry, geoms[g.parent])
            if area(piece) > tol.outside_m2:
                found.append(("outside_parent", "error", [g.code, g.parent], area(piece), piece))
    return sorted(
        ("sliver" if thin(piece) else kind, severity, codes, m2)
        for kind, severity, codes, m2, piece in found
    )


def _reported(grids: list[Grid]) -> list[tuple]:
    return sorted((p.kind, p.severity, p.codes, p.area_m2) for p in check_topology(grids))


def _assert_same(grids: list[Grid]) -> None:
    reported, reference = _reported(grids), _reference(grids)
    assert [r[:3] for r in reported] == [r[:3] for r in reference]
    for (*_, got), (*_, expected) in zip(reported, reference, strict=True):
        assert got == pytest.approx(expected, abs=0.01)


def _tiling(seed: int, cells: int) -> list:
    """Voronoi cells of random points, clipped to the parent: edges meet vertex for vertex."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = PARENT.bounds
    points = shapely.multipoints(
        np.column_stack([rng.uniform(x0, x1, cells), rng.uniform(y0, y1, cells)])
    )
    cells_ = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=PARENT))
    return [c for c in shapely.intersection(cells_, PARENT) if not c.is_empty]


def _grids(cells: list) -> list[Grid]:
    community = Grid(COMMUNITY, "社区", PARENT)
    return [community] + [
        Grid(f"{COMMUNITY}{k:03d}", f"网格{k}", c) for k, c in enumerate(cells, 1)
    ]


def _perturbed(cells: list, how: str) -> list:
    cells = list(cells)
    if how == "gap":
        cells.pop(0)
    elif how == "overlap":
        cells[0] = cells[0].buffer(0.0002, join_style="mitre")  # also out of the parent
    elif how == "duplicate":
        cells.append(cells[0])
    elif how == "t-junction":  # vertices on one cell's edges that its neighbours lack
        cells[0] = shapely.segmentize(cells[0], 0.0005)
    elif how == "sliver":
        cells[0] = cells[0].buffer(-0.00001, join_style="mitre")
    return cells


@pytest.mark.parametrize(
    ("how", "tiled", "kinds"),
    [
        ("none", True, set()),
        ("gap", True, {"gap"}),
        ("sliver", True, {"sliver"}),
        ("overlap", False, {"overlap", "outside_parent"}),
        ("duplicate", False, {"overlap"}),
        ("t-junction", False, set()),
    ],
)
def test_both_paths_report_what_the_general_way_finds(how, tiled, kinds):
    cells = _perturbed(_tiling(7, 12), how)
    # which path the siblings take: a valid coverage, or not
    assert bool(shapely.coverage_is_valid(np.array(cells, dtype=object))) is tiled
    grids = _grids(cells)
    assert {kind for kind, *_ in _reported(grids)} == kinds
    _assert_same(grids)


@given(
    st.integers(0, 10**6),
    st.integers(2, 25),
    st.sampled_from(["none", "gap", "sliver", "overlap", "duplicate", "t-junction"]),
)
def test_random_tilings_report_what_the_general_way_finds(seed, cells, how):
    _assert_same(_grids(_perturbed(_tiling(seed, cells), how)))


def test_micro_grids_gaps_are_warnings_on_either_path():
    cells = _tiling(3, 6)
    grid = Grid(f"{COMMUNITY}001", "网格", PARENT)
    micros = [Grid(f"{COMMUNITY}001{k:02d}", f"{k}号楼", c) for k, c in enumerate(cells[1:], 1)]
    for siblings in (micros, [*micros, micros[0].__class__(f"{COMMUNITY}00199", "重", cells[1])]):
        reported = _reported([grid, *siblings])
        assert ("gap", "warning", [grid.code]) in [r[:3] for r in reported]
        _assert_same([grid, *siblings])


# as drawn; in the western hemisphere; near 0°, where no slot is exact
@pytest.mark.parametrize("lon", [0.0, -230.0, -113.0])
def test_groups_of_a_level_are_validated_each_on_its_own(lon):
    """Side by side, a valid tiling and a faulty one: each group keeps its own verdict.

    The groups are validated in one call, each moved into a slot of its own; a
    group moved onto another, or a fault blamed on a neighbour, would show here.
    """
    from geogrid.boundaries.topology import _TILING, _Frame, _slotted

    west = shapely.affinity.translate(PARENT, xoff=lon)
    east = shapely.affinity.translate(west, xoff=0.01)
    grids = [Grid(COMMUNITY, "社区", shapely.union_all([west, east]))]
    verdicts = {}
    for k, (box, how) in enumerate([(west, "none"), (east, "t-junction")], 1):
        grid = f"{COMMUNITY}{k:03d}"
        cells = _tiling(11 + k, 9)
        shift = box.bounds[0] - PARENT.bounds[0]
        cells = _perturbed([shapely.affinity.translate(c, xoff=shift) for c in cells], how)
        grids.append(Grid(grid, f"网格{k}", box))
        grids += [Grid(f"{grid}{j:02d}", f"{j}号楼", c) for j, c in enumerate(cells, 1)]
        verdicts[grid] = bool(shapely.coverage_is_valid(np.array(cells, dtype=object)))
    assert verdicts == {f"{COMMUNITY}001": True, f"{COMMUNITY}002": False}
    frame = _Frame(grids)
    got = {
        str(frame.codes[parent]): tiled
        for (level, parent), tiled in frame.tiled.items()
        if level == "micro"
    }
    assert got == verdicts
    assert "micro" in _TILING
    micro = [m for (level, _), m in frame.groups.items() if level == "micro"]
    starts = np.cumsum([0] + [len(m) for m in micro[:-1]])
    assert (_slotted(frame.geoms, micro, starts) is None) == (lon == -113.0)
    _assert_same(grids)
