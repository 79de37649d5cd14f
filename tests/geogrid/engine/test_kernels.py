"""The kernels of the cell engine, called directly with a hand-made CellGrid."""

import numpy as np
import shapely
from shapely.geometry import MultiPolygon

from geogrid.engine import build, kernels
from geogrid.engine.cells import CellEngine, _blocked, _compact
from geogrid.engine.kernels import CellGrid


def _two_squares():
    geoms = np.array([shapely.box(0.0, 0.0, 1.0, 1.0), shapely.box(1.0, 0.0, 2.0, 1.0)])
    multi = [MultiPolygon([g]) for g in geoms]
    _, coords, (rings, parts, polys) = shapely.to_ragged_array(multi)
    polygons = (coords, rings.astype(np.int64), parts[polys].astype(np.int64))
    return geoms, polygons


def test_build_and_query_with_a_hand_made_grid():
    geoms, polygons = _two_squares()
    grid = CellGrid(-0.5, -0.5, 0.25, 0.25, 12, 8, 1e-9)  # 3 x 2 degrees, 0.5 all round
    table, stream = _compact(*build.build_tables(*polygons, shapely.bounds(geoms), grid))
    assert table.shape == (grid.nx * grid.ny,)
    tables = (_blocked(table, grid.nx, grid.ny), stream)
    x = np.array([0.5, 1.5, 1.0, 0.0, 0.3, 2.5, np.nan])
    y = np.array([0.5, 0.5, 0.5, 0.0, 1e-12, 0.5, 0.5])
    owners, unsure, vertex = kernels.query(x, y, *tables, *polygons, grid)
    # inside, inside, on the shared edge (GEOS decides), a vertex, near an edge, outside, NaN
    assert list(owners) == [0, 1, -1, 0, -1, -1, -1]
    assert list(unsure) == [False, False, True, False, True, False, True]
    assert list(vertex) == [False, False, False, True, False, False, False]
    for k in range(len(x)):
        one = kernels.query_one(x[k], y[k], *tables, *polygons, *grid)
        assert one == (owners[k], unsure[k], vertex[k])


def test_a_table_of_blocks_gives_every_cell_its_value():
    nx, ny = 11, 7  # blocks cut at the edges
    rng = np.random.default_rng(4)
    dense = rng.choice(np.array([-1, 2, 5, -3, -8], dtype=np.int32), nx * ny).reshape(ny, nx)
    dense[:4, :4] = 5  # a block of one owner
    dense[4:, 8:] = -1  # a cut block of no owner
    dense[:4, 4:8] = -3  # sixteen boundary cells of one value: never one block value
    blocked = _blocked(dense.ravel(), nx, ny)
    assert blocked[:2].tolist() == [5, -2]  # one value for the first block; the next mixed
    assert blocked[3 * 2 - 1] == -1  # the last block: no owner, the cells past the edge too
    assert len(blocked) == 3 * 2 + 16 * 4  # six blocks, four of them mixed
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
    values = kernels.cell_values(blocked, ix.ravel(), iy.ravel(), nx, ny)
    assert np.array_equal(values, dense.ravel())


def test_engine_grid_is_typed_for_numba():
    engine = CellEngine(_two_squares()[0], cell_m=5000.0)
    grid = engine.grid
    assert isinstance(grid, CellGrid)
    assert [type(v) for v in grid] == [float] * 4 + [int] * 2 + [float]
    assert grid.x0 < 0.0 < 2.0 < grid.x0 + grid.nx * grid.dx
    assert grid.y0 < 0.0 < 1.0 < grid.y0 + grid.ny * grid.dy
    assert engine.nbytes == sum(a.nbytes for a in engine._arrays)
    assert CellEngine([]).nbytes == 0
