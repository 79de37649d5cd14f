"""Topology of a generation: overlaps, children outside parents, gaps — measured in metres.

Overlays run in lon/lat, where the edges are straight as drawn (projected to a
metric CRS, an edge with a vertex of another polygon on it bends: a T-junction
would look like a fault); only the faults found are projected to be measured.
Each problem carries the geometry of the fault (lon/lat) so a page can draw it.
Regular levels tile their parent: siblings may not overlap and children may not
stick out; a gap inside a parent is an error for grids and above and a warning
for micro grids, which need not cover their grid. A thin fault is a sliver.

The siblings of one parent are first checked as a polygonal coverage (GEOS's
coverage validator, exact: no overlap, edges that meet match vertex for
vertex). Siblings that form one have no overlap to measure, and their union is
the cheap coverage union; the pairwise overlays and the general union are left
for the groups that do not. A child that its parent covers has nothing outside it.

A district has thousands of sibling groups, and a GEOS call per group must
take Python's lock back each time, which a redraw's other thread holds for
up to 5 ms: so all groups of a level are validated in one call (each moved,
exactly, into a slot of its own where it touches no other) and the coverage
unions are made a few calls at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import shapely

from geogrid.coords import metric_transformer, to_metric
from geogrid.grid import Grid

__all__ = ["Problem", "Tolerances", "check_topology"]


@dataclass(frozen=True)
class Tolerances:
    """Square metres a fault may have before it is reported."""

    overlap_m2: float = 1.0
    outside_m2: float = 1.0
    gap_m2: float = 10.0
    sliver_width_m: float = 2.0  # a fault narrower than this on average is a sliver
    geometries: int = 500  # problems that carry their geometry (all are counted)


@dataclass
class Problem:
    """One fault found in a generation."""

    kind: str
    severity: str
    message: str
    codes: list[str]
    area_m2: float | None = None
    index: int | None = None
    geometry: dict | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """The problem as JSON, with its geometry as GeoJSON."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "codes": self.codes,
            "area_m2": self.area_m2,
            "index": self.index,
            "geometry": self.geometry,
        }


#: the levels whose siblings tile their parent (the district's siblings are not checked)
_TILING = ("street", "community", "grid", "micro")
#: GEOS's coverage functions (3.12); without them every group takes the general path
_COVERAGE = shapely.geos_version >= (3, 12, 0)


class _Frame:
    """Codes, levels, parents and lon/lat geometries of a generation; metric measures.

    ``groups`` are the siblings (one tiling level, one parent, -1 for none) as
    arrays of positions, in order of first appearance; ``tiled`` says, per
    group, whether its members form a valid polygonal coverage.
    """

    def __init__(self, grids: list[Grid]) -> None:
        self.codes = np.array([g.code for g in grids])
        self.levels = np.array([g.level for g in grids])
        self.position = {c: i for i, c in enumerate(self.codes)}
        self.parents = np.array(
            [self.position.get(g.parent, -1) if g.parent else -1 for g in grids]
        )
        self.geoms = np.array([g.geometry for g in grids], dtype=object)
        shapely.prepare(self.geoms)
        self._forward = metric_transformer(self.geoms)
        self.groups = _sibling_groups(self.levels, self.parents)
        self.tiled = _coverages(self.geoms, self.groups)

    def metric(self, pieces):
        """``pieces`` (lon/lat) in the UTM zone of the data, for measuring."""
        return to_metric(pieces, self._forward)


def _sibling_groups(levels: np.ndarray, parents: np.ndarray) -> dict[tuple, np.ndarray]:
    """Positions of the grids of each (tiling level, parent), in order of first appearance."""
    tiling = np.flatnonzero(np.isin(levels, _TILING))
    groups: dict[tuple, list[int]] = {}
    for i, level, parent in zip(
        tiling.tolist(), levels[tiling].tolist(), parents[tiling].tolist(), strict=True
    ):
        groups.setdefault((level, parent), []).append(i)
    return {key: np.array(members, dtype=np.intp) for key, members in groups.items()}


def _coverages(geoms: np.ndarray, groups: dict[tuple, np.ndarray]) -> dict[tuple, bool]:
    """For each group of ``geoms``, whether it forms a valid coverage (exact).

    The groups of a level are validated together, each translated into a slot
    of its own (:func:`_slotted`), where no group touches another: a polygon
    then has an invalid edge exactly when it has one among its own siblings.
    """
    tiled = {key: len(members) < 2 for key, members in groups.items()}
    if not _COVERAGE:
        return tiled
    for level in _TILING:
        keys = [key for key in groups if key[0] == level and not tiled[key]]
        if not keys:
            continue
        members = [groups[key] for key in keys]
        starts = np.cumsum([0] + [len(m) for m in members[:-1]])
        slotted = _slotted(geoms, members, starts)
        if slotted is None:  # no room for exact slots: one call per group
            tiled.update(
                {
                    key: bool(shapely.coverage_is_valid(geoms[m]))
                    for key, m in zip(keys, members, strict=True)
                }
            )
            continue
        invalid = ~shapely.is_empty(shapely.coverage_invalid_edges(slotted))
        tiled.update(zip(keys, (~np.logical_or.reduceat(invalid, starts)).tolist(), strict=True))
    return tiled


_STEP = 2.0**-10  # slot offsets are multiples of this (about 100 m of longitude)


def _slotted(geoms: np.ndarray, members: list[np.ndarray], starts: np.ndarray) -> np.ndarray | None:
    """The ``members`` groups of ``geoms``, one after the other, each moved into its own slot.

    The moves are exact, so every relation within a group is kept bit for
    bit: an offset is a multiple of ``_STEP`` (of every coordinate's unit in
    the last place), and no moved coordinate grows in magnitude past the
    power of two below the smallest original one, so no digit is lost.
    ``starts`` are where each group begins among them. None if the level's
    coordinates leave no such room for its groups.
    """
    flat = np.concatenate(members)
    bounds = shapely.bounds(geoms[flat])
    low = np.minimum.reduceat(bounds[:, :2], starts)
    size = np.maximum.reduceat(bounds[:, 2:], starts) - low
    smallest = np.abs(shapely.get_coordinates(geoms[flat])).min(axis=0)  # not at a bound
    if not (
        np.all(np.isfinite(bounds)) and np.all(smallest >= 1.0) and np.abs(bounds).max() < 2**40
    ):
        return None
    room = 2.0 ** np.floor(np.log2(smallest))  # slots within [-room, room] on each axis
    step = (np.ceil(size.max(axis=0) / _STEP) + 2) * _STEP
    across, down = np.floor(2 * room / step).astype(int)
    if across * down < len(members):
        return None
    k = np.arange(len(members))
    corner = np.column_stack([k % across, k // across]) * step - room
    offset = np.floor(low / _STEP) * _STEP - corner
    counts = shapely.get_num_coordinates(geoms[flat])
    moves = np.repeat(np.repeat(offset, [len(m) for m in members], axis=0), counts, axis=0)
    return shapely.transform(geoms[flat], lambda xy: xy - moves)


def _unions(geoms: np.ndarray, groups: list[np.ndarray], tiled: list[bool]) -> np.ndarray:
    """The union of each group: one polygon as it is, a coverage by its edges, else by overlay.

    Coverage unions go a few calls at a time, groups of like size padded with None.
    """
    out = np.empty(len(groups), dtype=object)
    width = np.array([1 << max(len(m) - 1, 0).bit_length() for m in groups])
    for k, members in enumerate(groups):
        if len(members) == 1:
            out[k] = geoms[members[0]]
        elif not tiled[k]:
            out[k] = shapely.union_all(geoms[members])
    for w in np.unique(width[width > 1]):
        picked = [k for k in np.flatnonzero(width == w) if tiled[k]]
        if not picked:
            continue
        padded = np.full((len(picked), w), None, dtype=object)
        for row, k in enumerate(picked):
            padded[row, : len(groups[k])] = geoms[groups[k]]
        out[picked] = shapely.coverage_union_all(padded, axis=1)
    return out


def _mappings(pieces: list) -> list[dict]:
    """GeoJSON of lon/lat ``pieces``, coordinates rounded to 7 places (~1 cm)."""
    rounded = shapely.transform(np.array(pieces, dtype=object), lambda xy: np.round(xy, 7))
    return [json.loads(text) for text in shapely.to_geojson(rounded)]


def _thin(metric_geom, tolerances: Tolerances) -> bool:
    """A sliver: mean width (2 x area / perimeter) below the tolerance."""
    perimeter = shapely.length(metric_geom)
    return perimeter > 0 and 2 * shapely.area(metric_geom) / perimeter < tolerances.sliver_width_m


def check_topology(grids: list[Grid], tolerances: Tolerances = Tolerances()) -> list[Problem]:
    """Every topology fault of ``grids`` (one whole generation), errors first."""
    if not grids:
        return []
    frame = _Frame(grids)
    found: list[tuple[Problem, object, object]] = []
    found += _overlaps(frame, tolerances)
    found += _outside(frame, tolerances)
    found += _gaps(frame, tolerances)
    found.sort(key=lambda f: (f[0].severity != "error", -(f[0].area_m2 or 0)))
    problems = []
    for problem, _, metric in found:
        if _thin(metric, tolerances):
            problem.kind = "sliver"
            problem.message = "sliver: " + problem.message
        problems.append(problem)
    drawn = found[: tolerances.geometries]
    if drawn:
        for (problem, _, _), geometry in zip(drawn, _mappings([f[1] for f in drawn]), strict=True):
            problem.geometry = geometry
    return problems


def _measured(frame: _Frame, pieces, limit: float):
    """(index, lon/lat piece, metric piece, m²) of the pieces larger than ``limit``."""
    pieces = np.asarray(pieces, dtype=object)
    metric = frame.metric(pieces)
    areas = shapely.area(metric)
    for k in np.flatnonzero(areas > limit):
        yield k, pieces[k], metric[k], float(areas[k])


def _overlaps(frame: _Frame, tol: Tolerances):
    """Overlaps of siblings; a group that is a valid coverage has none."""
    out = []
    for level in _TILING:
        untiled = [m for key, m in frame.groups.items() if key[0] == level and not frame.tiled[key]]
        idx = np.sort(np.concatenate(untiled)) if untiled else np.empty(0, dtype=np.intp)
        if len(idx) < 2:
            continue
        tree = shapely.STRtree(frame.geoms[idx])
        a, b = tree.query(frame.geoms[idx], predicate="intersects")
        keep = (a < b) & (frame.parents[idx[a]] == frame.parents[idx[b]])
        a, b = idx[a[keep]], idx[b[keep]]
        if not len(a):
            continue
        pieces = shapely.intersection(frame.geoms[a], frame.geoms[b])
        for k, piece, metric, area in _measured(frame, pieces, tol.overlap_m2):
            i, j = frame.codes[a[k]], frame.codes[b[k]]
            out.append(
                (
                    Problem(
                        "overlap",
                        "error",
                        f"{level} {i} and {j} overlap by {area:.1f} m²",
                        [i, j],
                        round(area, 2),
                    ),
                    piece,
                    metric,
                )
            )
    return out


def _outside(frame: _Frame, tol: Tolerances):
    """Children reaching outside their parent; one the parent covers has nothing outside."""
    child = np.flatnonzero(frame.parents >= 0)
    child = child[~shapely.covers(frame.geoms[frame.parents[child]], frame.geoms[child])]
    if not len(child):
        return []
    pieces = shapely.difference(frame.geoms[child], frame.geoms[frame.parents[child]])
    out = []
    for k, piece, metric, area in _measured(frame, pieces, tol.outside_m2):
        i = child[k]
        parent = frame.codes[frame.parents[i]]
        out.append(
            (
                Problem(
                    "outside_parent",
                    "error",
                    f"{frame.levels[i]} {frame.codes[i]} "
                    f"reaches {area:.1f} m² outside its parent {parent}",
                    [frame.codes[i], parent],
                    round(area, 2),
                ),
                piece,
                metric,
            )
        )
    return out


def _gaps(frame: _Frame, tol: Tolerances):
    """What of each parent none of its regular children covers."""
    keys = [key for key in frame.groups if key[1] >= 0]  # in order of first appearance
    children = {parent: frame.groups[level, parent] for level, parent in keys}
    parents = list(children)
    unions = _unions(frame.geoms, [frame.groups[k] for k in keys], [frame.tiled[k] for k in keys])
    pieces = shapely.difference(frame.geoms[parents], unions)
    out = []
    for k, piece, metric, area in _measured(frame, pieces, tol.gap_m2):
        parent = parents[k]
        level = frame.levels[children[parent][0]]
        severity = "warning" if level == "micro" else "error"
        code = frame.codes[parent]
        out.append(
            (
                Problem(
                    "gap",
                    severity,
                    f"{area:.1f} m² of {frame.levels[parent]} {code} "
                    f"is in none of its {level} grids",
                    [code],
                    round(area, 2),
                ),
                piece,
                metric,
            )
        )
    return out
