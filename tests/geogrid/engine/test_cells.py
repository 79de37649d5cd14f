"""The cell engine against the GEOS reference (STRtreeEngine), point for point."""

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon

from geogrid.engine.cells import CellEngine
from geogrid.engine.reference import STRtreeEngine

ORIGIN = np.array([113.6, 34.78])


def _tiling(seed: int, n: int, size_deg: float):
    """A Voronoi tiling of a square: neighbours share edges and vertices exactly."""
    rng = np.random.default_rng(seed)
    pts = ORIGIN + rng.uniform(0, size_deg, (n, 2))
    box = shapely.box(*ORIGIN, *(ORIGIN + size_deg))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box))
    cells = shapely.intersection(cells, box)
    return np.array([c for c in cells if c.geom_type == "Polygon" and not c.is_empty], dtype=object)


def _compare(geoms, x, y, **engine_args):
    ours = CellEngine(geoms, **engine_args).owners(x, y)
    reference = STRtreeEngine(geoms).owners(x, y)
    np.testing.assert_array_equal(ours[0], reference[0])
    np.testing.assert_array_equal(ours[1], reference[1])


def _points_on(geoms, rng, n):
    """Vertices, and points interpolated along edges (on them up to rounding)."""
    rings = shapely.get_exterior_ring(shapely.get_parts(np.asarray(geoms)))
    vertices = shapely.get_coordinates(rings)
    along = shapely.get_coordinates(
        shapely.line_interpolate_point(
            rings[rng.integers(len(rings), size=n)], rng.uniform(0, 1, n), normalized=True
        )
    )
    return np.vstack([vertices, along])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(3, 60), st.sampled_from([0.0005, 0.01, 0.2]))
def test_random_tilings_random_points_edges_and_vertices(seed, n, size_deg):
    geoms = _tiling(seed, n, size_deg)
    rng = np.random.default_rng(seed + 1)
    inside = ORIGIN + rng.uniform(-0.1 * size_deg, 1.1 * size_deg, (3000, 2))
    xy = np.vstack([inside, _points_on(geoms, rng, 500)])
    _compare(geoms, xy[:, 0], xy[:, 1])


def test_holes_and_multipolygons():
    outer = Polygon(
        [(113.60, 34.70), (113.62, 34.70), (113.62, 34.72), (113.60, 34.72)],
        [[(113.605, 34.705), (113.615, 34.705), (113.615, 34.715), (113.605, 34.715)]],
    )
    island = Polygon([(113.607, 34.707), (113.613, 34.707), (113.613, 34.713), (113.607, 34.713)])
    multi = MultiPolygon(
        [
            Polygon([(113.63, 34.70), (113.64, 34.70), (113.64, 34.71)]),
            Polygon([(113.65, 34.70), (113.66, 34.70), (113.66, 34.71)]),
        ]
    )
    geoms = np.array([outer, island, multi], dtype=object)
    rng = np.random.default_rng(3)
    xy = np.vstack(
        [np.array([113.59, 34.69]) + rng.uniform(0, 0.08, (20000, 2)), _points_on(geoms, rng, 2000)]
    )
    _compare(geoms, xy[:, 0], xy[:, 1])
    owner, _ = CellEngine(geoms).owners([113.61, 113.601, 113.635], [34.71, 34.701, 34.702])
    assert list(owner) == [1, 0, 2]  # the island in the hole, the ring, a part of the multi


def test_grids_far_smaller_than_a_cell():
    rng = np.random.default_rng(5)
    tiny = _tiling(11, 40, 0.00005)  # 40 grids in a ~5 m square
    big = _tiling(12, 10, 0.05)
    geoms = np.concatenate([tiny, big])
    xy = np.vstack(
        [
            ORIGIN + rng.uniform(0, 0.00006, (5000, 2)),
            ORIGIN + rng.uniform(0, 0.05, (5000, 2)),
            _points_on(geoms, rng, 1000),
        ]
    )
    _compare(geoms, xy[:, 0], xy[:, 1], cell_m=50.0)  # cells 10x the tiny grids


def test_single_points_match_arrays():
    geoms = _tiling(7, 30, 0.01)
    engine = CellEngine(geoms)
    rng = np.random.default_rng(8)
    xy = np.vstack([ORIGIN + rng.uniform(-0.001, 0.011, (300, 2)), _points_on(geoms, rng, 50)])
    owners, edges = engine.owners(xy[:, 0], xy[:, 1])
    for (x, y), o, e in zip(xy, owners, edges, strict=True):
        assert engine.owner(x, y) == (o, e)


def test_nan_and_far_away_points_have_no_owner():
    engine = CellEngine(_tiling(9, 5, 0.01))
    owner, edge = engine.owners([np.nan, 0.0, 200.0], [34.7, 0.0, 34.7])
    assert list(owner) == [-1, -1, -1] and not edge.any()


def test_points_on_edges_are_settled_by_their_cells_candidates_as_geos_would():
    """Vertices, points along edges, off the table and not finite; built and mapped engines."""
    from geogrid.engine import settle

    geoms = _tiling(11, 60, 0.02)
    holed = Polygon(
        [(113.63, 34.81), (113.64, 34.81), (113.64, 34.82), (113.63, 34.82)],
        [[(113.633, 34.813), (113.637, 34.813), (113.637, 34.817), (113.633, 34.817)]],
    )
    geoms = np.array([*geoms, holed, MultiPolygon([shapely.box(113.65, 34.8, 113.66, 34.81)])])
    rings = shapely.get_exterior_ring(shapely.get_parts(geoms))
    vertices = shapely.get_coordinates(rings)
    along = shapely.get_coordinates(
        shapely.line_interpolate_point(rings, np.linspace(0.05, 0.95, len(rings)), normalized=True)
    )
    xy = np.vstack([vertices, along, [[0.0, 0.0], [np.nan, 34.8], [113.6, np.inf]]])
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    built = CellEngine(geoms)
    mapped = CellEngine.from_arrays(built.arrays(), built.layout())
    reference = STRtreeEngine(geoms).owners(x, y)
    assert reference[1].sum() > 300  # every vertex is on an edge; points along, near one
    for engine in (built, mapped):
        owner, on_edge = settle.settle(engine, x, y)
        np.testing.assert_array_equal(owner, reference[0])
        np.testing.assert_array_equal(on_edge, reference[1])
        np.testing.assert_array_equal(engine.owners(x, y)[0], reference[0])
    assert mapped._geometries is None  # it built only the candidates it needed
    assert len(mapped._settled) == len(geoms)  # each asked for, none built twice


def test_a_polygon_cache_cleared_by_another_thread_meanwhile_loses_nothing(monkeypatch):
    from geogrid.engine import settle

    geoms = _tiling(3, 12, 0.01)
    built = CellEngine(geoms)
    mapped = CellEngine.from_arrays(built.arrays(), built.layout())
    real = settle._polygon

    def clearing(engine, i):
        engine.__dict__.setdefault("_settled", {}).clear()  # another request, meanwhile
        return real(engine, i)

    monkeypatch.setattr(settle, "_polygon", clearing)
    ids = np.array([1, 2, 3, 1])
    found = settle._polygons(mapped, ids)
    assert shapely.equals(found, geoms[ids]).all()


def test_compacted_lists_keep_each_useful_candidate_with_exactly_its_edges():
    """The stream (headers, then edges) against the lists as built, boundary cell by cell."""
    from geogrid.engine import build
    from geogrid.engine.cells import _compact

    engine = CellEngine(_tiling(3, 60, 0.02), cell_m=40.0)
    polygons = (engine.coords, engine.ring_offsets, engine.poly_rings)
    raw = build.build_tables(*polygons, shapely.bounds(engine.geometries), engine.grid)
    built_table, bstart, entries, edges = (a.copy() for a in raw)
    table, stream = _compact(*raw)
    assert stream.dtype == np.int32 and stream[-1] == -1
    assert (stream < 0).sum() - 1 < len(entries)  # the useless candidates are gone
    assert np.array_equal(table[built_table >= -1], built_table[built_table >= -1])
    for cell in np.flatnonzero(built_table < -1):
        s = -built_table[cell] - 2
        built = [
            (p, state, edges[e0:e1].tolist())
            for p, state, e0, e1 in entries[bstart[s] : bstart[s + 1]]
            if e0 < e1 or state != 0
        ]
        kept, j = [], -table[cell] - 2
        while j >= 0:  # a cell left with no candidate is owned by none: -1, j = -1
            h = -stream[j] - 1
            run = j + 1 + np.argmax(stream[j + 1 :] < 0)
            kept.append((h >> 3, h & 3, stream[j + 1 : run].tolist()))
            j = -1 if h & 4 else run
        assert kept == built, cell
        assert (table[cell] == -1) == (not built), cell


def test_a_cell_whose_candidates_are_all_pruned_is_owned_by_none():
    """Hand-made lists: slot 0 keeps nothing, slot 1 keeps two candidates (one without edges)."""
    from geogrid.engine.cells import _compact

    table = np.array([-2, -3, 0], dtype=np.int32)
    bstart = np.array([0, 1, 3])
    # polygon, centre state (0 outside, 1 inside), edge run [start, stop)
    entries = np.array([[5, 0, 0, 0], [6, 1, 0, 2], [7, 0, 2, 2]], dtype=np.int32)
    table, stream = _compact(table, bstart, entries, np.array([10, 12], dtype=np.int32))
    assert table.tolist() == [-1, -2, 0]
    # polygon 6, last, inside: -(6 << 3 | 1 << 2 | 1) - 1 = -54; then its two edges
    assert stream.tolist() == [-54, 10, 12, -1]
    nothing = np.zeros((0, 4), dtype=np.int32)
    table, stream = _compact(np.array([3], dtype=np.int32), np.array([0]), nothing, nothing[:, 0])
    assert table.tolist() == [3] and stream.tolist() == [-1]
