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


# -- false discovery, rates, permutations, emerging hot spots ------------------------

import esda  # noqa: E402

from geogrid.reports.hotspots import (  # noqa: E402
    EMERGING,
    contiguity,
    describe,
    eb_rates,
    emerging,
    emerging_category,
)


@pytest.fixture(scope="module")
def district(demo_grids):
    """The demo's three-level grids: codes, queen weights, households."""
    grids = [g for g in demo_grids if g.level == "grid"]
    codes = [g.code for g in grids]
    weights = contiguity(codes, [g.geometry for g in grids])
    households = np.array([g.attributes["households"] for g in grids], dtype=float)
    return codes, weights, households


@pytest.mark.slow
def test_pure_noise_is_rarely_hot_after_the_fdr(district):
    codes, weights, _ = district
    rng = np.random.default_rng(20261201)
    with_any, raw = 0, 0
    for _ in range(200):
        result = hot_grids(codes, None, rng.poisson(20, len(codes)), weights, measure="count")
        with_any += any(r["significant"] for r in result)
        raw += any(r["p"] < 0.05 for r in result)  # each grid tested alone at 95 %
    assert raw == 200  # before: every noise map had "hot" grids (about 75 each)
    assert with_any <= 20  # after: at most 10 % of the maps show any


def test_events_that_follow_households_are_hot_by_count_not_by_rate(district):
    codes, weights, households = district
    crowded = households.copy()
    centre = 700
    block = [centre, *weights.neighbors[codes[centre]]]
    index = {c: i for i, c in enumerate(codes)}
    rows = [index[c] if isinstance(c, str) else c for c in block]
    crowded[rows] *= 6  # a block of tower estates: six times the households
    counts = np.random.default_rng(2).poisson(crowded * 0.2)  # one per five households
    by_count = {r["code"]: r for r in hot_grids(codes, None, counts, weights, crowded, "count")}
    by_rate = {r["code"]: r for r in hot_grids(codes, None, counts, weights, crowded, "rate")}
    assert by_count[codes[centre]]["class"] == "hot99"
    assert not any(by_rate[codes[i]]["significant"] for i in rows)
    assert by_rate[codes[centre]]["rate"] == pytest.approx(20.0, abs=2)  # per 100 households


def test_a_planted_cluster_of_five_grids_is_found_at_99(district):
    codes, weights, households = district
    rng = np.random.default_rng(5)
    counts = rng.poisson(households * 0.05)
    index = {c: i for i, c in enumerate(codes)}
    centre = codes[400]
    five = [centre, *list(weights.neighbors[centre])[:4]]
    for code in five:
        counts[index[code]] = rng.poisson(households[index[code]] * 0.25)
    result = {r["code"]: r for r in hot_grids(codes, None, counts, weights, households)}
    assert result[centre]["class"] == "hot99"
    assert sum(result[c]["class"] == "hot99" for c in five) >= 4
    hot = {c for c, r in result.items() if r["class"].startswith("hot")}
    near = set(five) | {n for c in five for n in weights.neighbors[c]}
    assert hot <= near  # nothing hot far from the planted cluster


def test_the_results_are_esdas_own(district):
    codes, weights, households = district
    rng = np.random.default_rng(9)
    # rates that truly vary between grids (over-dispersed): the EB variance is positive
    counts = rng.poisson(households * rng.gamma(4.0, 0.0125, len(codes))).astype(float)
    result = hot_grids(codes, None, counts, weights, households)
    rates = esda.smoothing.Empirical_Bayes(counts.reshape(-1, 1), households.reshape(-1, 1))
    direct = esda.G_Local(rates.r.ravel() * 100, weights, transform="B", star=True, permutations=0)
    p = 2 * direct.p_norm
    cut = esda.fdr(p, 0.05)
    for i, r in enumerate(result):
        assert r["z"] == pytest.approx(direct.Zs[i], abs=1e-3)
        assert r["p"] == pytest.approx(min(1.0, p[i]), abs=1e-6)
        assert r["significant"] == bool(p[i] <= cut)
        assert r["rate"] == pytest.approx(rates.r[i, 0] * 100, abs=1e-3)
    method = describe("rate", "analytical", 0.05)
    assert "经验贝叶斯" in method["zh"] and "Empirical Bayes" in method["en"]


def test_eb_shrinks_to_the_mean_where_esda_would_reverse_the_ranking(district):
    _, _, households = district
    counts = np.random.default_rng(0).poisson(households * 0.05).astype(float)  # pure Poisson
    esdas = esda.smoothing.Empirical_Bayes(counts.reshape(-1, 1), households.reshape(-1, 1))
    crude = counts / households
    assert np.corrcoef(esdas.r.ravel(), crude)[0, 1] < 0  # esda's negative variance at work
    ours = eb_rates(counts, households)
    assert np.allclose(ours, counts.sum() / households.sum())  # no signal: every grid the mean
    assert np.all(eb_rates(np.zeros(5), np.full(5, 300.0)) == 0)  # no events: zero, not NaN


def test_permutation_inference_finds_a_small_cluster(district):
    codes, weights, _households = district
    rng = np.random.default_rng(11)
    counts = rng.poisson(20, len(codes))
    centre = codes[800]
    for code in [centre, *weights.neighbors[centre]]:
        counts[codes.index(code)] = 60
    result = {
        r["code"]: r
        for r in hot_grids(codes, None, counts, weights, measure="count", inference="permutation")
    }
    assert result[centre]["significant"] and result[centre]["p"] <= 0.001
    assert sum(r["significant"] for r in result.values()) < 30


# one hand-made series per category: (hot flags, cold flags, tau, p)
_SERIES = {
    "new_hot": ([0, 0, 0, 0, 0, 0, 0, 1], [0] * 8, 0.3, 0.3),
    "consecutive_hot": ([0, 0, 0, 0, 0, 1, 1, 1], [0] * 8, 0.5, 0.1),
    "intensifying_hot": ([1] * 8, [0] * 8, 0.7, 0.01),
    "persistent_hot": ([1] * 8, [0] * 8, 0.1, 0.7),
    "diminishing_hot": ([1] * 8, [0] * 8, -0.7, 0.01),
    "sporadic_hot": ([0, 1, 0, 0, 1, 0, 1, 1], [0] * 8, 0.2, 0.5),
    "oscillating_hot": ([0, 1, 0, 0, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0, 0, 0], 0.1, 0.8),
    # 90 % of the weeks hot but not the last: needs ten weeks (with eight, 7/8 is 87.5 %)
    "historical_hot": ([1] * 9 + [0], [0] * 10, -0.2, 0.5),
    "no_pattern": ([0] * 8, [0] * 8, 0.0, 1.0),
}


@pytest.mark.parametrize("category", sorted(EMERGING))
def test_each_emerging_category_from_a_hand_made_series(category):
    side = "cold" if category.endswith("_cold") else "hot"
    hot, cold, tau, p = _SERIES[category.replace("_cold", "_hot")]
    if side == "cold":  # the mirror image: cold flags, the trend the other way
        hot, cold, tau = cold, hot, -tau
    assert emerging_category([bool(v) for v in hot], [bool(v) for v in cold], tau, p) == category


def test_emerging_hot_spots_of_a_growing_cluster(district):
    codes, weights, _ = district
    rng = np.random.default_rng(3)
    weekly = rng.poisson(10, (len(codes), 8)).astype(float)
    centre = codes[500]
    block = [codes.index(c) for c in [centre, *weights.neighbors[centre]]]
    weekly[block, :] += np.linspace(10, 60, 8)  # hot all along, ever hotter
    result = {r["code"]: r for r in emerging(codes, weekly, weights)}
    assert result[centre]["category"] == "intensifying_hot"
    assert result[centre]["trend"]["tau"] > 0.5 and result[centre]["trend"]["p"] < 0.05
    far = codes[10]
    assert result[far]["category"] == "no_pattern"


@pytest.mark.slow
def test_the_demo_stadium_on_match_evenings_is_an_emerging_hot_spot(demo_grids, demo_index):
    from datetime import datetime, timedelta, timezone

    import geodata
    from geogrid.cases.files import read_event_rows

    tiles = [g for g in demo_grids if g.level == "grid"]
    codes = [g.code for g in tiles]
    weights = contiguity(codes, [g.geometry for g in tiles])
    rows = [item for _, item in read_event_rows(geodata.EVENTS)]
    lon = np.array([float(r["lon"]) for r in rows])
    lat = np.array([float(r["lat"]) for r in rows])
    grid = np.asarray(demo_index.assign(lon, lat).grid)
    end = datetime(2026, 9, 2, tzinfo=timezone(timedelta(hours=8)))  # the demo's last day
    start = end - timedelta(weeks=8)
    index = {c: i for i, c in enumerate(codes)}
    weekly = np.zeros((len(codes), 8))
    for code, row in zip(grid, rows, strict=True):
        week = int((datetime.fromisoformat(row["reported_at"]) - start).total_seconds() // 604800)
        if code in index and 0 <= week < 8:
            weekly[index[code], week] += 1
    result = {r["code"]: r for r in emerging(codes, weekly, weights)}
    stadium = next(g for g in demo_grids if g.level == "dedicated" and "体育" in g.name)
    spot = stadium.geometry.representative_point()
    home = demo_index.locate(spot.x, spot.y, "wgs84")["grid"]
    assert result[home]["category"] in ("intensifying_hot", "sporadic_hot")
    patterned = [r for r in result.values() if r["category"] != "no_pattern"]
    assert len(patterned) < 30  # the district is not all "emerging"


def test_permutations_do_not_make_ties_significant(district):
    codes, weights, _ = district
    counts = np.zeros(len(codes))
    counts[np.random.default_rng(1).choice(len(codes), 150)] += 1  # sparse: mostly zeros
    result = hot_grids(codes, None, counts, weights, measure="count", inference="permutation")
    assert sum(r["significant"] for r in result) == 0  # esda's "directed" default gave ~800


def test_cold_weeks_then_a_hot_one_is_oscillating_not_new():
    hot = [False] * 7 + [True]
    cold = [False, True] + [False] * 6
    assert emerging_category(hot, cold, 0.2, 0.4) == "oscillating_hot"


def test_the_classes_are_fixed_levels_whatever_alpha(district):
    codes, weights, households = district
    counts = np.random.default_rng(5).poisson(households * 0.05)
    for code in [codes[400], *weights.neighbors[codes[400]]]:
        counts[codes.index(code)] *= 4
    loose = {r["code"]: r for r in hot_grids(codes, None, counts, weights, households, alpha=0.2)}
    strict = {r["code"]: r for r in hot_grids(codes, None, counts, weights, households)}
    assert {c: r["class"] for c, r in loose.items()} == {c: r["class"] for c, r in strict.items()}
    assert sum(r["significant"] for r in loose.values()) >= sum(
        r["significant"] for r in strict.values()
    )
