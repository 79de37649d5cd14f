"""Topology of a generation, measured in metres: overlaps, children outside parents, gaps.

Each problem carries the geometry of the fault (lon/lat) so a page can draw it.
Regular levels tile their parent: siblings may not overlap and children may not
stick out; a gap inside a parent is an error for grids and above and a warning
for micro grids, which need not cover their grid. A thin fault is a sliver.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely

from geogrid.assign import utm_crs_for
from geogrid.registry import Grid

__all__ = ["Tolerances", "Problem", "check_topology"]


@dataclass(frozen=True)
class Tolerances:
    """Square metres a fault may have before it is reported."""

    overlap_m2: float = 1.0
    outside_m2: float = 1.0
    gap_m2: float = 10.0
    sliver_thinness: float = 0.1  # 4*pi*area/perimeter**2 below this: a sliver
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
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "codes": self.codes,
            "area_m2": self.area_m2,
            "index": self.index,
            "geometry": self.geometry,
        }


class _Frame:
    """Codes, levels, parents and metric geometries of a generation."""

    def __init__(self, grids: list[Grid]) -> None:
        self.codes = np.array([g.code for g in grids])
        self.levels = np.array([g.level for g in grids])
        self.position = {c: i for i, c in enumerate(self.codes)}
        self.parents = np.array(
            [self.position.get(g.parent, -1) if g.parent else -1 for g in grids]
        )
        lonlat = np.array([g.geometry for g in grids], dtype=object)
        x0, y0, x1, y1 = shapely.total_bounds(lonlat)
        crs = utm_crs_for((x0 + x1) / 2, (y0 + y1) / 2)
        forward = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
        self.back = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
        self.metric = shapely.transform(
            lonlat, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1]))
        )

    def lonlat(self, geom) -> dict:
        back = shapely.transform(
            geom, lambda xy: np.round(np.column_stack(self.back.transform(xy[:, 0], xy[:, 1])), 7)
        )
        return shapely.geometry.mapping(back)


def _thin(geom, tolerances: Tolerances) -> bool:
    perimeter = shapely.length(geom)
    return (
        perimeter > 0 and 4 * np.pi * shapely.area(geom) / perimeter**2 < tolerances.sliver_thinness
    )


def check_topology(grids: list[Grid], tolerances: Tolerances = Tolerances()) -> list[Problem]:
    """Every topology fault of ``grids`` (one whole generation), errors first."""
    if not grids:
        return []
    frame = _Frame(grids)
    found: list[tuple[Problem, object]] = []
    found += _overlaps(frame, tolerances)
    found += _outside(frame, tolerances)
    found += _gaps(frame, tolerances)
    found.sort(key=lambda pg: (pg[0].severity != "error", -(pg[0].area_m2 or 0)))
    problems = []
    for k, (problem, geom) in enumerate(found):
        if geom is not None and _thin(geom, tolerances):
            problem.kind = "sliver"
            problem.message = "sliver: " + problem.message
        if geom is not None and k < tolerances.geometries:
            problem.geometry = frame.lonlat(geom)
        problems.append(problem)
    return problems


def _overlaps(frame: _Frame, tol: Tolerances):
    out = []
    for level in ("street", "community", "grid", "micro"):
        idx = np.flatnonzero(frame.levels == level)
        if len(idx) < 2:
            continue
        geoms = frame.metric[idx]
        tree = shapely.STRtree(geoms)
        a, b = tree.query(geoms, predicate="intersects")
        keep = (a < b) & (frame.parents[idx[a]] == frame.parents[idx[b]])
        a, b = idx[a[keep]], idx[b[keep]]
        if not len(a):
            continue
        pieces = shapely.intersection(frame.metric[a], frame.metric[b])
        areas = shapely.area(pieces)
        for i, j, piece, area in zip(a, b, pieces, areas, strict=True):
            if area > tol.overlap_m2:
                out.append(
                    (
                        Problem(
                            "overlap",
                            "error",
                            f"{level} {frame.codes[i]} and "
                            f"{frame.codes[j]} overlap by {area:.1f} m²",
                            [frame.codes[i], frame.codes[j]],
                            round(float(area), 2),
                        ),
                        piece,
                    )
                )
    return out


def _outside(frame: _Frame, tol: Tolerances):
    child = np.flatnonzero(frame.parents >= 0)
    if not len(child):
        return []
    pieces = shapely.difference(frame.metric[child], frame.metric[frame.parents[child]])
    areas = shapely.area(pieces)
    out = []
    for i, piece, area in zip(child, pieces, areas, strict=True):
        if area > tol.outside_m2:
            parent = frame.codes[frame.parents[i]]
            out.append(
                (
                    Problem(
                        "outside_parent",
                        "error",
                        f"{frame.levels[i]} "
                        f"{frame.codes[i]} reaches {area:.1f} m² outside its parent "
                        f"{parent}",
                        [frame.codes[i], parent],
                        round(float(area), 2),
                    ),
                    piece,
                )
            )
    return out


def _gaps(frame: _Frame, tol: Tolerances):
    children = defaultdict(list)
    for i in np.flatnonzero(frame.parents >= 0):
        if frame.levels[i] != "dedicated":
            children[int(frame.parents[i])].append(i)
    out = []
    for parent, kids in children.items():
        level = frame.levels[kids[0]]
        gap = shapely.difference(frame.metric[parent], shapely.union_all(frame.metric[kids]))
        area = shapely.area(gap)
        if area <= tol.gap_m2:
            continue
        severity = "warning" if level == "micro" else "error"
        code = frame.codes[parent]
        out.append(
            (
                Problem(
                    "gap",
                    severity,
                    f"{area:.1f} m² of {frame.levels[parent]} "
                    f"{code} is in none of its {level} grids",
                    [code],
                    round(float(area), 2),
                ),
                gap,
            )
        )
    return out
