"""Every code an index answers, as integer ids, and each grid's chain of them.

The engine works on integers; strings appear only when a column is read
(:class:`~geogrid.engine.assign.Assignment`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from geogrid.engine.assign import GridIndex

__all__ = ["Chains"]


class Chains:
    """Every code an index can answer as an integer id, and each grid's chain of them.

    ``words[0]`` is ''. ``table[c]`` is column ``c`` of the chains (district,
    street, community, grid, micro: ids, 0 above a grid's level): row 0 for a
    point outside every grid, then the grids of each layer from ``offsets[k]``.
    """

    def __init__(self, index: GridIndex) -> None:
        layers = [layer.codes.tolist() for _, layer in index.layers]
        dedicated = index.dedicated.codes.tolist()
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
