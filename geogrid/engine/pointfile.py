"""Assigning a CSV file of events to grids, row by row, losing none.

Good rows are assigned and written with every input column plus the codes;
bad rows are reported with their line numbers (the header is line 1) and
written to a separate errors file, so every input row ends up somewhere.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geogrid.coords import check_crs, lonlat_problems
from geogrid.engine.assign import GridIndex
from geogrid.errors import InvalidInputError

__all__ = ["OUTPUT_COLUMNS", "CsvResult", "assign_csv", "read_points"]

OUTPUT_COLUMNS = ("street", "community", "grid", "micro", "dedicated", "method")
_CHUNK = 20_000


@dataclass
class CsvResult:
    """What :func:`assign_csv` did: counts, the bad rows and the files written."""

    assigned: int = 0
    methods: dict[str, int] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    out: Path | None = None
    errors_out: Path | None = None


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    x: np.ndarray
    y: np.ndarray


def read_points(path: str | os.PathLike, lon_col: str = "lon", lat_col: str = "lat"):
    """Read an events CSV; return the good rows as a table and the bad ones as errors."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise InvalidInputError(f"{path}: file is empty; expected a CSV header line")
        for needed in ("id", lon_col, lat_col):
            if needed not in header:
                raise InvalidInputError(
                    f"{path}: line 1: no {needed!r} column; columns are {', '.join(header)}"
                )
        at = {name: header.index(name) for name in ("id", lon_col, lat_col)}
        rows, lines, xs, ys, errors = [], [], [], [], []
        for row in reader:
            line = reader.line_num
            problem, x, y = _parse(row, header, at, lon_col, lat_col)
            if problem:
                errors.append({"line": line, "id": _get(row, at["id"]), "error": problem})
                continue
            rows.append(row)
            lines.append(line)
            xs.append(x)
            ys.append(y)
    return _Table(header, rows, lines, np.array(xs, dtype=float), np.array(ys, dtype=float)), errors


def _get(row: list[str], i: int) -> str:
    return row[i].strip() if i < len(row) else ""


def _parse(row, header, at, lon_col, lat_col) -> tuple[str | None, float, float]:
    if len(row) != len(header):
        return f"expected {len(header)} fields as in the header, got {len(row)}", 0.0, 0.0
    if not _get(row, at["id"]):
        return "'id' is empty", 0.0, 0.0
    values = []
    for name in (lon_col, lat_col):
        text = _get(row, at[name])
        try:
            values.append(float(text))
        except ValueError:
            return f"{name} {text!r} is not a number", 0.0, 0.0
    problem = lonlat_problems(values[0], values[1])[0]
    return problem, values[0], values[1]


def assign_csv(
    index: GridIndex,
    events: str | os.PathLike,
    out: str | os.PathLike,
    *,
    crs: str = "wgs84",
    lon_col: str = "lon",
    lat_col: str = "lat",
    progress: Callable[[int, int], None] | None = None,
) -> CsvResult:
    """Assign every good row of ``events`` and write ``out`` (and the errors file).

    The coordinate columns are read in ``crs``; the codes columns are replaced
    if the input already has them. ``progress(done, total)`` is called after each chunk.
    """
    crs = check_crs(crs)
    table, errors = read_points(events, lon_col, lat_col)
    out = Path(out)
    header = [c for c in table.header if c not in OUTPUT_COLUMNS] + list(OUTPUT_COLUMNS)
    keep = [i for i, c in enumerate(table.header) if c not in OUTPUT_COLUMNS]
    result = CsvResult(errors=errors, out=out)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for start in range(0, len(table.rows), _CHUNK):
            stop = min(start + _CHUNK, len(table.rows))
            found = index.assign(table.x[start:stop], table.y[start:stop], crs)
            columns = [getattr(found, c) for c in OUTPUT_COLUMNS]
            for k, row in enumerate(table.rows[start:stop]):
                writer.writerow([row[i] for i in keep] + [str(col[k]) for col in columns])
            for method, n in zip(*np.unique(found.method, return_counts=True), strict=True):
                result.methods[str(method)] = result.methods.get(str(method), 0) + int(n)
            result.assigned += stop - start
            if progress:
                progress(stop - start, len(table.rows))
    if errors:
        result.errors_out = out.with_name(out.stem + ".errors.csv")
        with open(result.errors_out, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["line", "id", "error"])
            writer.writeheader()
            writer.writerows(errors)
    return result
