"""Gi* on small grids where the answer is known."""

import numpy as np
import pytest
from shapely import box

from geogrid.reports.hotspots import Z95, Z99, hot_grids


def _lattice(n: int):
    codes = [f"g{y:02d}{x:02d}" for y in range(n) for x in range(n)]
    geoms = [box(x, y, x + 1, y + 1) for y in range(n) for x in range(n)]
    return codes, geoms


def test_a_hot_block_is_significant_at_99_and_the_far_corner_is_not():
    codes, geoms = _lattice(9)
    counts = [40 if 3 <= x <= 5 and 3 <= y <= 5 else 2 for y in range(9) for x in range(9)]
    result = {r["code"]: r for r in hot_grids(codes, geoms, counts)}
    assert result["g0404"]["class"] == "hot99" and result["g0404"]["z"] > Z99
    assert result["g0404"]["p"] < 0.01
    hot = {c for c, r in result.items() if r["class"].startswith("hot")}
    assert "g0404" in hot and hot <= {f"g{y:02d}{x:02d}" for y in range(2, 7) for x in range(2, 7)}
    assert result["g0000"]["class"] == "ns"


def test_a_cold_block_is_cold():
    codes, geoms = _lattice(9)
    counts = [
        0 if x <= 2 and y <= 2 else 10 + (x * 7 + y * 3) % 5 for y in range(9) for x in range(9)
    ]
    result = {r["code"]: r for r in hot_grids(codes, geoms, counts)}
    assert result["g0101"]["class"] in ("cold95", "cold99") and result["g0101"]["z"] < -Z95


def test_z_scores_match_the_textbook_formula():
    codes, geoms = _lattice(5)
    rng = np.random.default_rng(4)
    counts = rng.poisson(6, 25).astype(float)
    result = hot_grids(codes, geoms, counts)
    # Gi* with binary weights, the focal cell included (Getis & Ord 1992, Ord & Getis 1995)
    n, mean, s = 25, counts.mean(), np.sqrt((counts**2).mean() - counts.mean() ** 2)
    for i, r in enumerate(result):
        y0, x0 = divmod(i, 5)
        near = [j for j in range(25) if abs(j // 5 - y0) <= 1 and abs(j % 5 - x0) <= 1]
        w = len(near)
        z = (counts[near].sum() - mean * w) / (s * np.sqrt((n * w - w**2) / (n - 1)))
        assert r["z"] == pytest.approx(z, abs=2e-3)


def test_flat_or_tiny_inputs_have_no_hot_spot():
    codes, geoms = _lattice(3)
    assert {r["class"] for r in hot_grids(codes, geoms, [5] * 9)} == {"ns"}
    with pytest.raises(ValueError, match="same length"):
        hot_grids(codes, geoms, [1, 2])
