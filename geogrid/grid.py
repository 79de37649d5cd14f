"""The grid record every layer passes around: code, name, geometry and attributes.

Level and parent follow from the code (see :mod:`geogrid.codes`), so they are
derived, never stored twice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry

from geogrid import codes

__all__ = ["Grid"]


@dataclass(frozen=True)
class Grid:
    """One grid boundary: its code (identity), level, parent, name, geometry, attributes."""

    code: str
    name: str
    geometry: BaseGeometry
    attributes: dict[str, Any] = field(default_factory=dict)

    # cached: a district has ~22,000 grids and every pass over them asks again
    @functools.cached_property
    def level(self) -> str:
        """The level the code says (district … micro, dedicated)."""
        return codes.level_of(self.code)

    @functools.cached_property
    def parent(self) -> str | None:
        """The parent's code, or None for the district."""
        return codes.parent_of(self.code)
