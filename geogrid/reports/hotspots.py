"""Hot grids that hold up: Getis-Ord Gi* with false-discovery control, and emerging hot spots.

What a spatial statistician would do, with esda/libpysal and scipy doing the
statistics (nothing hand-rolled):

- **Measure**: events per 100 households, smoothed by Empirical Bayes
  (``esda.smoothing.Empirical_Bayes``: a grid with few households is pulled
  towards the district's rate), where every grid's households are known;
  raw counts otherwise, or when asked.
- **Inference**: Gi* (the focal grid included, binary queen contiguity) with
  analytical two-sided p-values, or conditional permutations (9,999 by
  default). Across all grids the Benjamini–Hochberg false-discovery rate is
  controlled (``esda.fdr``): a grid is hot or cold at 95 % when its p passes
  the cut-off for alpha = 0.05, at 99 % for alpha = 0.01 — as ArcGIS's Hot Spot
  Analysis does with FDR correction. On sparse counts (a few events per grid)
  the normal approximation is too generous; the permutation test is not.
- **Emerging hot spots**, as ArcGIS Pro's Emerging Hot Spot Analysis: Gi* per
  week, FDR per week, a Mann-Kendall trend test on each grid's weekly z
  series (Kendall's τ against time, ``scipy.stats.kendalltau``), and the
  categories new, consecutive, intensifying, persistent, diminishing,
  sporadic, oscillating and historical, hot and cold.

Examples
--------
A 5 x 5 block of square grids with a hot 2 x 2 corner:

>>> from shapely import box
>>> codes = [f"g{i:02d}" for i in range(25)]
>>> geoms = [box(x, y, x + 1, y + 1) for y in range(5) for x in range(5)]
>>> counts = [20 if x < 2 and y < 2 else 1 for y in range(5) for x in range(5)]
>>> result = hot_grids(codes, geoms, counts)
>>> sorted(r["code"] for r in result if r["class"].startswith("hot"))
['g00', 'g01', 'g05', 'g06']
>>> emerging_category([True] * 7 + [True], [False] * 8, tau=0.6, p=0.01)
'intensifying_hot'
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence

import esda
import libpysal
import numpy as np
from scipy import stats
from shapely.geometry.base import BaseGeometry

__all__ = [
    "ALPHA",
    "EMERGING",
    "PERMUTATIONS",
    "Z95",
    "Z99",
    "classify",
    "contiguity",
    "describe",
    "eb_rates",
    "emerging",
    "emerging_category",
    "gi_star",
    "hot_grids",
]

#: the false-discovery rate controlled by default
ALPHA = 0.05
Z95 = 1.959964  # two-sided 95 % of the normal: a z past it, alone, is "significant"
Z99 = 2.575829  # two-sided 99 %
#: conditional permutations, when asked for: enough for a small cluster to pass the FDR cut
PERMUTATIONS = 9_999
_MEASURES = ("rate", "count")
_INFERENCES = ("analytical", "permutation")
#: the emerging categories, hot and cold, and "no_pattern"
EMERGING = (
    *(
        f"{kind}_{side}"
        for side in ("hot", "cold")
        for kind in (
            "new",
            "consecutive",
            "intensifying",
            "persistent",
            "diminishing",
            "sporadic",
            "oscillating",
            "historical",
        )
    ),
    "no_pattern",
)


def contiguity(codes: Sequence[str], geometries: Sequence[BaseGeometry]) -> libpysal.weights.W:
    """Queen contiguity of the grids: neighbours share an edge or a vertex.

    Depends on the boundaries only: build it once per generation and pass it on.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # islands are named by the caller's map
        return libpysal.weights.Queen.from_iterable(list(geometries), ids=list(codes))


def _measure(counts, households, measure: str | None) -> tuple[str, np.ndarray, np.ndarray | None]:
    """The measure used and its values: EB-smoothed events per 100 households, or counts."""
    y = np.asarray(counts, dtype=float)
    b = None if households is None else np.asarray(households, dtype=float)
    known = b is not None and len(b) == len(y) and bool(np.all(np.isfinite(b) & (b > 0)))
    if measure is None:
        measure = "rate" if known else "count"
    if measure not in _MEASURES:
        raise ValueError(f"measure must be one of {', '.join(_MEASURES)}, got {measure!r}")
    if measure == "count":
        return measure, y, None
    if not known:
        raise ValueError("measure 'rate' needs the households of every grid (all above 0)")
    smoothed = eb_rates(y, b)
    return measure, smoothed * 100.0, smoothed * 100.0


def eb_rates(events: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Marshall's global Empirical Bayes rates, as ``esda.smoothing.Empirical_Bayes``'s ``.r``.

    The same estimator, with the two guards esda lacks: a method-of-moments
    variance below zero (common on sparse counts) is taken as zero, so every
    grid shrinks to the district's rate instead of past it (esda's weights turn
    negative and reverse the ranking), and no events at all give rates of zero,
    not NaN. Where esda's variance is positive the two agree (tested).
    """
    e, b = np.asarray(events, dtype=float), np.asarray(population, dtype=float)
    if e.sum() == 0:
        return np.zeros(len(e))
    crude = e / b
    mean = e.sum() / b.sum()
    variance = max(0.0, float((b * (crude - mean) ** 2).sum() / b.sum() - mean / b.mean()))
    weight = variance / (variance + mean / b)
    return mean + weight * (crude - mean)


@functools.cache
def _cache_esda_kernels() -> int:
    """Have numba keep esda's permutation kernels on disk, as ``cache=True`` would.

    esda compiles them on first use (about 37 s here); cached, a new process
    loads most of them. The one that takes the statistic as a function argument
    is compiled again per process (about 10 s, once). Returns how many were set.
    """
    import importlib

    from numba.core.registry import CPUDispatcher

    found = 0
    for name in ("esda.crand", "esda.getisord", "esda.significance"):
        try:
            module = importlib.import_module(name)
        except ImportError:  # an esda without it
            continue
        for value in vars(module).values():
            if isinstance(value, CPUDispatcher) and type(value._cache).__name__ == "NullCache":
                value.enable_caching()  # what cache=True does at decoration
                found += 1
    return found


def _gi(values: np.ndarray, weights, inference: str, permutations: int, seed) -> tuple:
    """Gi* z-scores and two-sided p-values of ``values`` (NaN-free)."""
    if inference not in _INFERENCES:
        raise ValueError(f"inference must be one of {', '.join(_INFERENCES)}, got {inference!r}")
    if inference == "permutation":
        _cache_esda_kernels()
    n = len(values)
    if n < 3 or np.all(values == values[0]):
        return np.zeros(n), np.ones(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        gi = esda.G_Local(values, weights, transform="B", star=True, permutations=0)
    # a grid whose neighbourhood is the whole map has no variance: z is 0, not NaN
    zs = np.nan_to_num(gi.Zs, nan=0.0)
    if inference == "analytical":
        return zs, np.minimum(1.0, 2.0 * np.nan_to_num(gi.p_norm, nan=0.5))
    # Conditional permutations, two-sided: esda's default ("directed") counts ties as more
    # extreme and folds, which makes a zero grid among zeros p = 1/10,000 (a false hot spot)
    from esda.crand import crand
    from esda.getisord import _g_local_star_crand

    p_sim, _ = crand(
        values,
        gi.w,  # binary, with the focal grid: Gi*'s own weights
        gi.Gs,
        permutations,
        False,
        1,
        _g_local_star_crand,
        scaling=values.sum(),
        seed=seed,
        alternative="two-sided",
    )
    return zs, np.minimum(1.0, np.nan_to_num(p_sim, nan=1.0))


def _classes(zs: np.ndarray, ps: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Significance after Benjamini–Hochberg at ``alpha``, and the classes at 95 % and 99 %.

    The classes are fixed levels, as ArcGIS's Gi_Bin: FDR at 0.05 and at 0.01,
    whatever ``alpha`` the caller asks ``significant`` at.
    """
    if not len(ps):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=object)
    classes = np.full(len(zs), "ns", dtype=object)
    for level, label in ((0.05, "95"), (0.01, "99")):
        strong = ps <= esda.fdr(ps, level)
        classes[strong & (zs > 0)] = f"hot{label}"
        classes[strong & (zs < 0)] = f"cold{label}"
    return ps <= esda.fdr(ps, alpha), classes


def gi_star(
    counts: Sequence[float],
    weights: libpysal.weights.W,
    households: Sequence[float] | None = None,
    measure: str | None = None,
    inference: str = "analytical",
    permutations: int = PERMUTATIONS,
    seed: int | None = 20260601,
) -> dict:
    """Gi* of every grid before any significance level: measure, values, z and p as arrays.

    What does not depend on ``alpha``: keep it, and :func:`classify` it at any level.
    """
    measure, values, rates = _measure(counts, households, measure)
    zs, ps = _gi(values, weights, inference, permutations, seed)
    return {
        "measure": measure,
        "counts": np.asarray(counts, dtype=float),
        "households": None if households is None else np.asarray(households, dtype=float),
        "rates": rates,
        "z": zs,
        "p": ps,
    }


def classify(codes: Sequence[str], found: dict, alpha: float = ALPHA) -> list[dict]:
    """Per grid the answer of :func:`hot_grids` from :func:`gi_star`'s arrays, at ``alpha``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    significant, classes = _classes(found["z"], found["p"], alpha)
    counts, shown, rates = found["counts"], found["households"], found["rates"]
    return [
        {
            "code": c,
            "count": float(counts[i]),
            "households": None if shown is None or not np.isfinite(shown[i]) else float(shown[i]),
            "rate": None if rates is None else round(float(rates[i]), 4),
            "z": round(float(found["z"][i]), 3),
            "p": round(float(found["p"][i]), 6),
            "significant": bool(significant[i]),
            "class": str(classes[i]),
            "measure": found["measure"],
        }
        for i, c in enumerate(codes)
    ]


def hot_grids(
    codes: Sequence[str],
    geometries: Sequence[BaseGeometry] | None,
    counts: Sequence[float],
    weights: libpysal.weights.W | None = None,
    households: Sequence[float] | None = None,
    measure: str | None = None,
    alpha: float = ALPHA,
    inference: str = "analytical",
    permutations: int = PERMUTATIONS,
    seed: int | None = 20260601,
) -> list[dict]:
    """Per grid: ``count``, ``households``, ``rate``, Gi* ``z``, ``p``, ``significant``, ``class``.

    ``measure`` is ``rate`` (events per 100 households, Empirical Bayes) or
    ``count``; by default rates where every grid's households are known.
    ``significant`` is after false-discovery-rate control at ``alpha`` across
    all grids; ``class`` is hot or cold at 95 % or 99 % (FDR at 0.05 and 0.01), else ``ns``.
    """
    if len(codes) != len(counts) or (geometries is not None and len(geometries) != len(codes)):
        raise ValueError("codes, geometries and counts must have the same length")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    if weights is None:
        weights = contiguity(codes, geometries)
    found = gi_star(counts, weights, households, measure, inference, permutations, seed)
    return classify(codes, found, alpha)


def describe(measure: str, inference: str, alpha: float, permutations: int = PERMUTATIONS) -> dict:
    """How the hot grids were computed, in Chinese and English (for the map and the API)."""
    what_zh = "每百户事件率（经验贝叶斯平滑）" if measure == "rate" else "事件数"
    what_en = "events per 100 households (Empirical Bayes)" if measure == "rate" else "event counts"
    how_zh = f"{permutations} 次条件置换" if inference == "permutation" else "正态近似"
    how_en = (
        f"{permutations:,} conditional permutations"
        if inference == "permutation"
        else ("normal approximation")
    )
    return {
        "measure": measure,
        "inference": inference,
        "alpha": alpha,
        "correction": "fdr_bh",
        "zh": f"Gi* 热点分析：{what_zh}，{how_zh}，经错误发现率（FDR）校正，显著性水平 {alpha:g}",
        "en": f"Gi* hot spots of {what_en}, {how_en}, false discovery rate controlled "
        f"(alpha = {alpha:g})",
    }


# -- emerging hot spots ------------------------------------------------------------------


def _trend(zs: np.ndarray) -> tuple[float, float]:
    """Mann-Kendall: Kendall's τ of the series against time, and its two-sided p."""
    if len(zs) < 3 or np.all(zs == zs[0]):
        return 0.0, 1.0
    tau, p = stats.kendalltau(np.arange(len(zs)), zs)
    return float(np.nan_to_num(tau)), float(np.nan_to_num(p, nan=1.0))


def emerging_category(
    hot: Sequence[bool], cold: Sequence[bool], tau: float, p: float, alpha: float = ALPHA
) -> str:
    """ArcGIS's emerging category of one grid from its weekly hot and cold flags and trend.

    A side ("hot" or "cold") is judged from its own flags, the other side's
    flags telling oscillating from sporadic; a significant trend (p < alpha) up for
    hot spots, down for cold ones, intensifies, the other way diminishes.
    """
    for side, mine, other, sign in (("hot", hot, cold, 1), ("cold", cold, hot, -1)):
        mine, other = np.asarray(mine, bool), np.asarray(other, bool)
        n, k = len(mine), int(mine.sum())
        if k == 0:
            continue
        most = k >= 0.9 * n
        rising = p < alpha and sign * tau > 0
        falling = p < alpha and sign * tau < 0
        if not mine[-1]:
            if most:
                return f"historical_{side}"
            continue
        if most:
            kind = "intensifying" if rising else "diminishing" if falling else "persistent"
            return f"{kind}_{side}"
        if other.any():  # a history of the other side: oscillating, whatever else holds
            return f"oscillating_{side}"
        if k == 1:
            return f"new_{side}"
        run = n - int(np.flatnonzero(~mine)[-1]) - 1  # the uninterrupted run at the end
        return f"consecutive_{side}" if run == k and run >= 2 else f"sporadic_{side}"
    return "no_pattern"


def emerging(
    codes: Sequence[str],
    weekly: np.ndarray,
    weights: libpysal.weights.W,
    alpha: float = ALPHA,
) -> list[dict]:
    """Per grid: its emerging ``category`` and ``trend`` (τ, p) from ``weekly`` counts.

    ``weekly`` is grids × weeks, oldest week first. Each week's Gi* z-scores are
    judged with the false-discovery rate controlled across grids at ``alpha``.
    """
    weekly = np.asarray(weekly, dtype=float)
    if weekly.shape[0] != len(codes):
        raise ValueError("weekly must have one row per grid")
    zs = np.zeros(weekly.shape)
    hot = np.zeros(weekly.shape, dtype=bool)
    cold = np.zeros(weekly.shape, dtype=bool)
    for week in range(weekly.shape[1]):
        z, p = _gi(weekly[:, week], weights, "analytical", 0, None)
        significant = p <= esda.fdr(p, alpha)
        zs[:, week] = z
        hot[:, week] = significant & (z > 0)
        cold[:, week] = significant & (z < 0)
    out = []
    for i, code in enumerate(codes):
        tau, p = _trend(zs[i])
        out.append(
            {
                "code": code,
                "category": emerging_category(hot[i], cold[i], tau, p, alpha),
                "trend": {"tau": round(tau, 4), "p": round(p, 6)},
                "weeks": int(weekly.shape[1]),
                "events": float(weekly[i].sum()),
            }
        )
    return out
