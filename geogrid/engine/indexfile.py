"""A built :class:`GridIndex` saved as a folder of arrays, memory-mapped when loaded.

Building the cell tables of a district takes seconds; loading them takes
milliseconds. Every worker of a host (and every ``geogrid assign`` over the
same grids file) maps the same files read-only, so the operating system keeps
one copy of them in memory however many processes use them. The polygons
themselves are rebuilt from the mapped coordinates only if a point falls
within 0.1 mm of an edge (or the nearest search runs).

A folder holds ``index.json`` (format, generation, tolerance, districts,
bounds, and per layer its level and cell layout) and one ``.npy`` file per
array. It is written under a temporary name and renamed into place, so a
reader sees a whole index or none; a folder of another :data:`FORMAT` is
ignored and rebuilt.

Examples
--------
>>> import tempfile, shapely
>>> from geogrid.grid import Grid
>>> from geogrid.engine.assign import GridIndex
>>> grids = [Grid("410102", "金水区", shapely.box(113.5, 34.7, 113.6, 34.8))]
>>> folder = save_index(GridIndex(grids, generation=3), tempfile.mkdtemp() + "/g3")
>>> load_index(folder).locate(113.55, 34.75)["district"]
'410102'
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from geogrid.engine.assign import GridIndex, _Layer
from geogrid.engine.cells import CellEngine

__all__ = ["FORMAT", "load_index", "save_index"]

#: Raised whenever the arrays or their meaning change: an older folder is rebuilt.
FORMAT = 6
_META = "index.json"


def save_index(index: GridIndex, folder: str | os.PathLike) -> Path:
    """Write ``index`` (built on :class:`CellEngine`) to ``folder``, replacing it whole."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    layers = [*index.layers, ("dedicated", index.dedicated)]
    work = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        described = []
        for i, (level, layer) in enumerate(layers):
            if not isinstance(layer.engine, CellEngine):
                raise TypeError("only an index built on CellEngine can be saved")
            np.save(work / f"{i}.codes.npy", layer.codes.astype("S17"))  # ASCII: a quarter
            for name, array in layer.engine.arrays().items():
                np.save(work / f"{i}.{name}.npy", np.ascontiguousarray(array))
            described.append({"level": level, **layer.engine.layout()})
        meta = {
            "format": FORMAT,
            "generation": index.generation,
            "tolerance_m": index.tolerance_m,
            "districts": index.districts,
            "bounds": list(index.bounds),
            "nearest_level": index._nearest_level,
            "layers": described,
        }
        (work / _META).write_text(json.dumps(meta), encoding="utf-8")
        if folder.exists():
            if _current(folder):  # another worker saved the same index meanwhile: keep theirs
                shutil.rmtree(work, ignore_errors=True)
                return folder
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return folder


def _current(folder: Path) -> dict | None:
    """The folder's description if it holds a whole index of this :data:`FORMAT`."""
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if meta.get("format") == FORMAT else None


def load_index(folder: str | os.PathLike) -> GridIndex | None:
    """The index saved in ``folder``, memory-mapped; None if there is none of this format."""
    folder = Path(folder)
    meta = _current(folder)
    if meta is None:
        return None
    layers = []
    for i, described in enumerate(meta["layers"]):
        try:
            arrays = {
                path.name.split(".")[1]: np.load(path, mmap_mode="r")
                for path in folder.glob(f"{i}.*.npy")
            }
        except (OSError, ValueError):  # replaced under us: the caller builds its own
            return None
        try:  # a folder torn while read (pruned, replaced): the caller builds its own
            codes = arrays.pop("codes")  # kept as mapped ASCII: decoded where read
            if codes.dtype.kind != "S":
                return None
            engine = CellEngine.from_arrays(arrays, described)
        except (KeyError, TypeError, ValueError):
            return None
        layers.append((described["level"], _Layer.loaded(codes, engine)))
    index = GridIndex.__new__(GridIndex)
    index.generation = meta["generation"]
    index.tolerance_m = float(meta["tolerance_m"])
    index.layers = layers[:-1]
    index.dedicated = layers[-1][1]
    index.districts = meta["districts"]
    index._scalar = True
    index._nearest_level = meta["nearest_level"]
    index._metric = None
    index.bounds = tuple(meta["bounds"])
    return index
