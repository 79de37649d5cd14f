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
"""

from __future__ import annotations

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
        self.tiled = {
            key: _is_coverage(self.geoms[members]) for key, members in self.groups.items()
        }

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


def _is_coverage(geoms: np.ndarray) -> bool:
    """Whether ``geoms`` form a valid coverage: no overlap, matched edges (exact)."""
    if len(geoms) < 2:
        return True
    return _COVERAGE and bool(shapely.coverage_is_valid(geoms))


def _union(geoms: np.ndarray, tiled: bool):
    """The union of ``geoms``: one polygon as it is, a coverage by its edges, else by overlay."""
    if len(geoms) == 1:
        return geoms[0]
    return shapely.coverage_union_all(geoms) if tiled else shapely.union_all(geoms)


def _mappings(pieces: list) -> list[dict]:
    """GeoJSON of lon/lat ``pieces``, coordinates rounded to 7 places (~1 cm)."""
    rounded = shapely.transform(np.array(pieces, dtype=object), lambda xy: np.round(xy, 7))
    return [shapely.geometry.mapping(piece) for piece in rounded]


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
    unions = np.empty(len(keys), dtype=object)
    unions[:] = [_union(frame.geoms[frame.groups[key]], frame.tiled[key]) for key in keys]
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
