"""Points taken block by block over a cell table, and their answers put back where they were."""

import numpy as np
import pytest

from geogrid.engine import assign as assign_module
from geogrid.engine import cells as cells_module
from geogrid.engine.assign import GridIndex
from geogrid.engine.kernels import CellGrid
from geogrid.engine.order import BLOCK, MIN_POINTS, put, spatial_order, take

GRID = CellGrid(x0=10.0, y0=20.0, dx=0.01, dy=0.02, nx=100, ny=70, near=1e-9)


def _points(n, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(9.5, 11.5, n)  # some off the table on every side
    y = rng.uniform(19.5, 21.9, n)
    x[::997], y[::1009] = np.nan, np.inf
    return x, y


def test_points_come_block_by_block_in_their_order_and_off_the_table_last():
    x, y = _points(MIN_POINTS)
    order = spatial_order(x, y, GRID)
    assert np.array_equal(np.sort(order), np.arange(len(x)))  # each point once
    fx, fy = (x[order] - GRID.x0) / (GRID.dx * BLOCK), (y[order] - GRID.y0) / (GRID.dy * BLOCK)
    across, up = -(-GRID.nx // BLOCK), -(-GRID.ny // BLOCK)
    on = (fx >= 0) & (fx < across) & (fy >= 0) & (fy < up)
    block = np.where(on, np.floor(fy).clip(0, up) * across + np.floor(fx).clip(0, across), 1e9)
    assert np.all(np.diff(block) >= 0)  # blocks in turn, the points off the table last
    same = np.diff(block) == 0
    assert np.all(np.diff(order)[same] > 0)  # within a block, as they came
    assert spatial_order(x[: MIN_POINTS - 1], y[: MIN_POINTS - 1], GRID) is None


def test_answers_are_put_back_where_their_points_came_from():
    x, _ = _points(MIN_POINTS)
    order = spatial_order(*_points(MIN_POINTS), GRID)
    owner = take(np.arange(len(x), dtype=np.int32), order)
    flags = take(x > 10.5, order)
    back, flags_back, codes_back = put(owner, flags, owner.astype(np.int8), order)
    assert np.array_equal(back, np.arange(len(x)))
    assert np.array_equal(flags_back, x > 10.5)
    assert np.array_equal(codes_back, np.arange(len(x), dtype=np.int32).astype(np.int8))


@pytest.fixture
def unordered(monkeypatch):
    """Turn the ordering off, as for a small batch."""

    def off():
        monkeypatch.setattr(cells_module, "spatial_order", lambda *a: None)
        monkeypatch.setattr(assign_module, "spatial_order", lambda *a: None)

    return off


def test_ordered_batches_get_the_answers_of_points_taken_as_they_come(demo_grids, unordered):
    index = GridIndex(demo_grids)
    x0, y0, x1, y1 = index.bounds
    rng = np.random.default_rng(8)
    n = 2 * MIN_POINTS
    x, y = rng.uniform(x0 - 0.01, x1 + 0.01, n), rng.uniform(y0 - 0.01, y1 + 0.01, n)
    x[::501] = np.nan
    micro = index.layers[0][1].engine
    ordered, owners = index.assign(x, y).joined(), micro.owners(x, y)
    unordered()
    assert index.assign(x, y).joined().tolist() == ordered.tolist()
    as_they_come = micro.owners(x, y)
    assert np.array_equal(as_they_come[0], owners[0])
    assert np.array_equal(as_they_come[1], owners[1])
