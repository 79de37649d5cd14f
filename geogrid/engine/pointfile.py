"""Assigning a file of points to grids, streamed in batches, losing no row.

Inputs: CSV (read by Arrow's streaming reader, every column as text, kept
exactly as it was), Parquet with lon/lat columns, GeoParquet and GeoPackage
(point geometries). Outputs, by the suffix of the output file: ``.csv``,
``.parquet`` (GeoParquet when the input had geometries), ``.geoparquet`` and
``.gpkg`` (points built from lon/lat when the input had none). Every input
column is kept, and the codes columns are added (replacing any of the same name).

Good rows are assigned batch by batch and written in input order, so a file
of ten million rows runs in bounded memory. Bad rows are reported with where
they are (the CSV line, the header being line 1 and a quoted field spanning
lines counting once; else the 1-based row or feature number) and written to a
separate errors file beside the output, so every input row ends up somewhere.
Coordinates are checked for the whole batch at once.
"""

from __future__ import annotations

import csv
import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geogrid.coords import check_crs, lonlat_problems, to_wgs84
from geogrid.engine.assign import GridIndex
from geogrid.errors import InvalidInputError

__all__ = ["INPUTS", "OUTPUTS", "OUTPUT_COLUMNS", "FileResult", "assign_file"]

OUTPUT_COLUMNS = ("street", "community", "grid", "micro", "dedicated", "method")
INPUTS = (".csv", ".parquet", ".geoparquet", ".gpkg")
OUTPUTS = (".csv", ".parquet", ".geoparquet", ".gpkg")
BATCH_ROWS = 262_144
_GEO_VERSION = "1.1.0"


@dataclass
class FileResult:
    """What :func:`assign_file` did: counts, the bad rows and the files written."""

    assigned: int = 0
    methods: dict[str, int] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    out: Path | None = None
    errors_out: Path | None = None
    where: str = "line"  # how errors locate a row: CSV line, else row or feature number


@dataclass
class _Batch:
    table: object  # pyarrow.Table of the input columns (geometry as WKB, if any)
    numbers: np.ndarray  # where each row is (line, row or feature number)
    x: np.ndarray
    y: np.ndarray
    problems: list  # (number, id, message) of the bad rows
    geometry: str | None = None  # the WKB point column, if the input has one


def _suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise InvalidInputError(
            f"{path}: {what} must be one of {', '.join(allowed)} (by its suffix), got {suffix!r}"
        )
    return suffix


def _numbers_from_text(column, name: str):
    """Floats of a text column, and for each row a message if it is not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(column)
    try:
        values = pc.cast(trimmed, pa.float64()).to_numpy(zero_copy_only=False)
        return values, None
    except pa.ArrowInvalid:
        pass
    texts = trimmed.to_pylist()
    values = np.empty(len(texts))
    messages: list[str | None] = [None] * len(texts)
    for i, text in enumerate(texts):  # only a batch with a bad value comes here
        try:
            values[i] = float(text)
        except (TypeError, ValueError):
            values[i] = np.nan
            messages[i] = f"{name} {text!r} is not a number"
    return values, messages


def _checked(table, numbers, lon_col, lat_col, id_col, problems) -> _Batch:
    """A batch of text columns: lon/lat parsed, ids required, coordinates checked."""
    x, bad_x = _numbers_from_text(table.column(lon_col), lon_col)
    y, bad_y = _numbers_from_text(table.column(lat_col), lat_col)
    return _finish(table, numbers, x, y, problems, [bad_x, bad_y], id_col)


def _finish(table, numbers, x, y, problems, messages, id_col) -> _Batch:
    """Drop the rows with a problem (added to ``problems``) and check the coordinates."""
    import pyarrow.compute as pc

    reasons: dict[int, str] = {}
    for found in messages:
        if found is not None:
            for i, message in enumerate(found):
                if message is not None:
                    reasons.setdefault(i, message)
    ids = None
    if id_col is not None:
        ids = table.column(id_col)
        empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(pc.cast(ids, "string"))), 0)
        for i in np.flatnonzero(empty.fill_null(True).to_numpy(zero_copy_only=False)).tolist():
            reasons.setdefault(i, f"{id_col!r} is empty")
    checked = np.ones(len(x), dtype=bool)
    checked[list(reasons)] = False
    checked = np.flatnonzero(checked)
    for i, problem in zip(checked.tolist(), lonlat_problems(x[checked], y[checked]), strict=True):
        if problem:
            reasons[i] = problem
    if reasons:
        bad = sorted(reasons)
        id_text = ids.take(bad).to_pylist() if ids is not None else [None] * len(bad)
        for i, ident in zip(bad, id_text, strict=True):
            problems.append((int(numbers[i]), "" if ident is None else str(ident), reasons[i]))
        keep = np.ones(len(x), dtype=bool)
        keep[bad] = False
        keep = np.flatnonzero(keep)
        table, numbers, x, y = table.take(keep), numbers[keep], x[keep], y[keep]
    return _Batch(table, numbers, x, y, problems)


def _read_csv(
    path: Path, lon_col: str, lat_col: str, batch_rows: int, sequential: bool
) -> Iterator[_Batch]:
    """The CSV's batches, parsed in parallel unless ``sequential``.

    In parallel, a malformed row raises ``ArrowInvalid`` (the reader cannot
    number it): the caller then reads the file again in sequence, which numbers
    and skips such rows.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise InvalidInputError(f"{path}: file is empty; expected a CSV header line")
    for needed in ("id", lon_col, lat_col):
        if needed not in header:
            raise InvalidInputError(
                f"{path}: line 1: no {needed!r} column; columns are {', '.join(header)}"
            )
    skipped: list[tuple[int, str, str]] = []
    at_id = header.index("id")

    def invalid(row) -> str:
        if not sequential:
            return "error"
        fields = next(csv.reader([row.text or ""]), [])
        skipped.append(
            (
                row.number,
                fields[at_id].strip() if at_id < len(fields) else "",
                f"expected {row.expected_columns} fields as in the header, "
                f"got {row.actual_columns}",
            )
        )
        return "skip"

    reader = pa_csv.open_csv(
        path,
        # only sequential parsing numbers the skipped rows; lines = records, header first
        read_options=pa_csv.ReadOptions(block_size=batch_rows * 24, use_threads=not sequential),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
        ),
    )
    next_number, pending = 2, []  # the first record after the header; skipped numbers ahead
    for record_batch in reader:
        table = pa.Table.from_batches([record_batch])
        pending = sorted(pending + [number for number, _, _ in skipped])
        numbers = _skipping(next_number, table.num_rows, pending)
        problems = list(skipped)
        skipped.clear()
        if len(numbers):
            next_number = int(numbers[-1]) + 1
            pending = [number for number in pending if number >= next_number]
        yield _checked(table, numbers, lon_col, lat_col, "id", problems)
    if skipped:  # invalid rows after the last good one
        yield _Batch(None, np.empty(0, dtype=np.int64), np.empty(0), np.empty(0), list(skipped))


def _skipping(start: int, n: int, gone: list[int]) -> np.ndarray:
    """``n`` consecutive numbers from ``start``, leaving out those in ``gone``."""
    candidates = np.arange(start, start + n + len(gone), dtype=np.int64)
    return candidates[~np.isin(candidates, gone)][:n]


def _geometry_column(schema) -> str | None:
    meta = (schema.metadata or {}).get(b"geo")
    if meta:
        return json.loads(meta)["primary_column"]
    return None


def _points(table, column: str, numbers, problems, id_col) -> _Batch:
    """x, y of the WKB points in ``column``; anything else is a bad row."""
    import shapely

    geoms = shapely.from_wkb(table.column(column).to_numpy(zero_copy_only=False))
    kinds = shapely.get_type_id(geoms)
    x = np.where(kinds == 0, shapely.get_x(geoms), np.nan)
    y = np.where(kinds == 0, shapely.get_y(geoms), np.nan)
    message = [
        None if k == 0 else f"geometry: expected a Point, got {_kind(g)}"
        for k, g in zip(kinds.tolist(), geoms, strict=True)
    ]
    batch = _finish(table, numbers, x, y, problems, [message], id_col)
    batch.geometry = column
    return batch


def _kind(geom) -> str:
    return "nothing" if geom is None else geom.geom_type


def _read_parquet(path: Path, lon_col: str, lat_col: str, batch_rows: int) -> Iterator[_Batch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    geometry = _geometry_column(source.schema_arrow)
    names = source.schema_arrow.names
    id_col = "id" if "id" in names else None
    if geometry is None:
        for needed in (lon_col, lat_col):
            if needed not in names:
                raise InvalidInputError(
                    f"{path}: no {needed!r} column and no GeoParquet geometry; "
                    f"columns are {', '.join(names)}"
                )
    start = 1
    for record_batch in source.iter_batches(batch_size=batch_rows):
        table = pa.Table.from_batches([record_batch])
        numbers = np.arange(start, start + table.num_rows, dtype=np.int64)
        start += table.num_rows
        if geometry is not None:
            yield _points(table, geometry, numbers, [], id_col)
            continue
        lon, lat = table.column(lon_col), table.column(lat_col)
        if pa.types.is_string(lon.type) or pa.types.is_large_string(lon.type):
            yield _checked(table, numbers, lon_col, lat_col, id_col, [])
            continue
        x = lon.to_numpy(zero_copy_only=False).astype(float)
        y = lat.to_numpy(zero_copy_only=False).astype(float)
        yield _finish(table, numbers, x, y, [], [], id_col)


def _read_gpkg(path: Path, batch_rows: int) -> Iterator[_Batch]:
    import pyarrow as pa
    import pyogrio

    info = pyogrio.read_info(path)
    crs = info.get("crs")
    if crs and crs.upper() not in ("EPSG:4326", "EPSG:4490", "OGC:CRS84"):
        raise InvalidInputError(
            f"{path}: layer CRS is {crs}; expected lon/lat (EPSG:4326 or EPSG:4490)"
        )
    start = 1
    with pyogrio.open_arrow(path, batch_size=batch_rows, use_pyarrow=True) as (meta, reader):
        geometry = meta["geometry_name"] or "wkb_geometry"
        for record_batch in reader:
            table = pa.Table.from_batches([record_batch])
            numbers = np.arange(start, start + table.num_rows, dtype=np.int64)
            start += table.num_rows
            id_col = "id" if "id" in table.column_names else None
            yield _points(table, geometry, numbers, [], id_col)


class _Writer:
    """Writes batches of input columns plus codes to ``out`` in its format."""

    def __init__(self, out: Path, kind: str, geometry: str | None) -> None:
        self.out, self.kind, self.geometry = out, kind, geometry
        # no geometry in the input: every batch gets its points, made from lon/lat
        self._make_points = kind in (".geoparquet", ".gpkg") and geometry is None
        if self._make_points:
            self.geometry = "geometry"
        self._words: dict[int, tuple] = {}  # id → (words, the same as an Arrow array)
        self._sink = None
        self._gpkg_started = False

    def write(self, table, x, y, found, crs: str = "wgs84") -> None:
        import pyarrow as pa

        keep = [c for c in table.column_names if c not in OUTPUT_COLUMNS]
        table = table.select(keep)
        for name in OUTPUT_COLUMNS:
            ids, words = found.ids(name)
            # the codes as Arrow strings straight from the integer ids: no Python str per row
            if id(words) not in self._words:
                self._words[id(words)] = (words, pa.array(words.tolist(), type=pa.string()))
            column = pa.DictionaryArray.from_arrays(
                pa.array(ids, mask=None if self.kind == ".csv" or name == "method" else ids == 0),
                self._words[id(words)][1],
            ).cast(pa.string())
            table = table.append_column(name, column)
        if self.kind == ".csv" and self.geometry is not None:
            # text has no place for WKB: the point goes out as lon and lat
            table = table.drop_columns([self.geometry])
            for name, values in (("lon", x), ("lat", y)):
                if name not in table.column_names:
                    table = table.append_column(name, pa.array(values))
        elif self._make_points:
            import shapely

            lon, lat = to_wgs84(x, y, crs)  # the file says CRS84: the points must be
            table = table.append_column(
                "geometry", pa.array(shapely.to_wkb(shapely.points(lon, lat)), type=pa.binary())
            )
        self._emit(table)

    def _emit(self, table) -> None:
        import pyarrow as pa

        if self.kind == ".csv":
            import pyarrow.csv as pa_csv

            if self._sink is None:
                options = pa_csv.WriteOptions(quoting_style="needed")
                self._sink = pa_csv.CSVWriter(self.out, table.schema, write_options=options)
            self._sink.write_table(table)
        elif self.kind == ".gpkg":
            import pyogrio

            pyogrio.write_arrow(
                table,
                self.out,
                driver="GPKG",
                geometry_name=self.geometry,
                geometry_type="Point",
                crs="EPSG:4326",
                append=self._gpkg_started,
                layer=self.out.stem,
            )
            self._gpkg_started = True
        else:
            import pyarrow.parquet as pq

            if self._sink is None:
                schema = table.schema.remove_metadata()
                if self.geometry is not None:
                    geo = {
                        "version": _GEO_VERSION,
                        "primary_column": self.geometry,
                        "columns": {self.geometry: {"encoding": "WKB", "geometry_types": []}},
                    }
                    schema = schema.with_metadata({b"geo": json.dumps(geo).encode()})
                self._schema = schema
                self._sink = pq.ParquetWriter(self.out, schema)
            self._sink.write_table(pa.Table.from_arrays(table.columns, schema=self._schema))

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()


class _Tally:
    """The rows read so far, passed on to a progress callback (which may be None)."""

    def __init__(self, callback: Callable[[int], None] | None) -> None:
        self.callback, self.rows = callback, 0

    def add(self, rows: int) -> None:
        self.rows += rows
        if self.callback:
            self.callback(rows)

    def restart(self) -> None:
        self.add(-self.rows)


def _run(index, out: Path, kind_out: str, crs: str, tally, batches, where: str) -> FileResult:
    """Assign and write every batch; the result without its errors file."""
    import pyarrow as pa

    result = FileResult(out=out, where=where)
    out.unlink(missing_ok=True)  # a GeoPackage would otherwise be appended to
    writer = None
    try:
        for batch in batches:
            result.errors.extend(
                {where: number, "id": ident, "error": message}
                for number, ident, message in batch.problems
            )
            if batch.table is not None and len(batch.x):
                if writer is None:
                    writer = _Writer(out, kind_out, batch.geometry)
                found = index.assign(batch.x, batch.y, crs)
                writer.write(batch.table, batch.x, batch.y, found, crs)
                for method, n in found.counts("method").items():
                    result.methods[method] = result.methods.get(method, 0) + n
                result.assigned += len(batch.x)
            tally.add((0 if batch.table is None else batch.table.num_rows) + len(batch.problems))
            pa.default_memory_pool().release_unused()  # memory stays flat over any file size
    finally:
        if writer is not None:
            writer.close()
    return result


def assign_file(
    index: GridIndex,
    events: str | os.PathLike,
    out: str | os.PathLike,
    *,
    crs: str = "wgs84",
    lon_col: str = "lon",
    lat_col: str = "lat",
    progress: Callable[[int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> FileResult:
    """Assign every good row of ``events`` and write ``out`` (and the errors file).

    The coordinates are read in ``crs`` (CSV and Parquet columns, or point
    geometries). ``progress(rows)`` is called after each batch with the rows
    it read.
    """
    crs = check_crs(crs)
    events, out = Path(events), Path(out)
    kind_in = _suffix(events, INPUTS, "the events file")
    kind_out = _suffix(out, OUTPUTS, "the output file")
    tally = _Tally(progress)
    run = functools.partial(_run, index, out, kind_out, crs, tally)
    if kind_in == ".csv":
        import pyarrow as pa

        try:
            result = run(_read_csv(events, lon_col, lat_col, batch_rows, False), "line")
        except pa.ArrowInvalid:
            tally.restart()  # the bar starts again with the file
            try:
                result = run(_read_csv(events, lon_col, lat_col, batch_rows, True), "line")
            except pa.ArrowInvalid as err:
                raise InvalidInputError(f"{events}: {err}") from err
    elif kind_in == ".gpkg":
        result = run(_read_gpkg(events, batch_rows), "feature")
    else:
        result = run(_read_parquet(events, lon_col, lat_col, batch_rows), "row")
    where = result.where
    result.errors.sort(key=lambda e: e[where])
    if result.errors:
        result.errors_out = out.with_name(out.stem + ".errors.csv")
        with open(result.errors_out, "w", newline="", encoding="utf-8") as f:
            errors = csv.DictWriter(f, fieldnames=[where, "id", "error"])
            errors.writeheader()
            errors.writerows(result.errors)
    return result
