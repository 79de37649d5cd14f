"""The grid record every layer passes around: code, name, geometry and attributes.

Level and parent follow from the code (see :mod:`geogrid.codes`), so they are
derived, never stored twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry

from geogrid import codes

__all__ = ["Grid"]


class _FromCode:
    """A value derived from the grid's code, computed on first use and kept.

    As :func:`functools.cached_property`, without the lock that Python 3.11
    takes on every first use: the value is the same whichever thread computes
    it, and a redraw derives it for some 44,000 grids.
    """

    def __init__(self, derive: Callable[[str], Any]) -> None:
        self.derive = derive
        self.__doc__ = derive.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, grid: Grid | None, owner: type | None = None) -> Any:
        if grid is None:
            return self
        value = grid.__dict__[self.name] = self.derive(grid.code)
        return value


@dataclass(frozen=True)
class Grid:
    """One grid boundary: its code (identity), level, parent, name, geometry, attributes."""

    code: str
    name: str
    geometry: BaseGeometry
    attributes: dict[str, Any] = field(default_factory=dict)

    # not fields (no annotation): derived from the code, kept once asked
    level = _FromCode(codes.level_of)  #: The level the code says (district … micro, dedicated).
    parent = _FromCode(codes.parent_of)  #: The parent's code, or None for the district.
