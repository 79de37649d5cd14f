"""Every code an index answers, as integer ids, and each grid's chain of them.

The engine works on integers; strings appear only when a column is read
(:class:`~geogrid.engine.assign.Assignment`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from geogrid.engine.assign import GridIndex

__all__ = ["Chains", "same_codes", "text", "texts"]


def text(code: str | bytes) -> str:
    """One code as str.

    A layer read from an index file keeps its codes as the file's mapped ASCII
    (``S17``): a worker holds no copy of its own (13.6 MB as ``U17`` at 200,000
    micro grids) and decodes a code where one is read.
    """
    return code.decode("ascii") if isinstance(code, bytes) else str(code)


def texts(codes: np.ndarray) -> list[str]:
    """Every code of a layer as str, in order (see :func:`text`)."""
    return np.asarray(codes, dtype="U17").tolist()


def same_codes(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two layers' codes are the same, in the same order, as str or ASCII."""
    return np.array_equal(np.asarray(a, dtype="S17"), np.asarray(b, dtype="S17"))


class Chains:
    """Every code an index can answer as an integer id, and each grid's chain of them.

    ``words[0]`` is ''. ``table[c]`` is column ``c`` of the chains (district,
    street, community, grid, micro: ids, 0 above a grid's level): row 0 for a
    point outside every grid, then the grids of each layer from ``offsets[k]``.
    """

    def __init__(self, index: GridIndex) -> None:
        layers = [texts(layer.codes) for _, layer in index.layers]
        dedicated = texts(index.dedicated.codes)
        every = {""} | set(dedicated)
        for codes_ in layers:
            for code in codes_:
                every.update(code[:n] for n in (6, 9, 12, 15, 17) if len(code) >= n)
        every.update(index.districts)
        self.words = np.array(sorted(every), dtype=object)
        ids = {word: i for i, word in enumerate(self.words.tolist())}
        outside = ids[index.districts[0]] if len(index.districts) == 1 else 0
        rows = [[outside, 0, 0, 0, 0]]
        self.offsets = []
        for codes_ in layers:
            self.offsets.append(len(rows))
            rows.extend(
                [ids[c[:n]] if len(c) >= n else 0 for n in (6, 9, 12, 15)]
                + [ids[c] if len(c) == 17 else 0]
                for c in codes_
            )
        self.table = np.ascontiguousarray(np.array(rows, dtype=np.int32).T)
        #: the id of each dedicated grid, after 0 for none
        self.dedicated = np.array([0] + [ids[c] for c in dedicated], dtype=np.int32)
