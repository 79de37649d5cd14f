"""The layout of a cell table: one named tuple the kernels take whole or unpacked."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["BLOCK", "CellGrid", "blocks"]

#: Cells per side of the table's blocks (``geogrid.engine.kernels._value`` shifts by 2)
BLOCK = 4


def blocks(nx: int, ny: int) -> tuple[int, int]:
    """The blocks across and up of a table of ``nx`` by ``ny`` cells (the last ones cut)."""
    return -(-nx // BLOCK), -(-ny // BLOCK)


class CellGrid(NamedTuple):
    """The layout of a cell table, and the tolerance of the tests.

    Cells are ``dx`` by ``dy`` degrees, ``nx`` across and ``ny`` up from the corner
    (``x0``, ``y0``), held in blocks of 4 x 4 (see ``geogrid.engine.kernels._value``).
    A point nearer than ``near`` degrees to an edge is left to GEOS, and an edge
    marks as boundary cells those within ``near`` of it.
    """

    x0: float
    y0: float
    dx: float
    dy: float
    nx: int
    ny: int
    near: float
