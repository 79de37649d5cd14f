"""geogrid: grid registry, exact event-to-grid assignment and boundary generations.

The core library. It imports neither Flask nor folium: ``maps`` and ``web``
build on it.
"""

from geogrid.boundaries.grids import read_grids
from geogrid.engine.assign import Assignment, GridIndex
from geogrid.errors import (
    ConflictError,
    GeoGridError,
    InvalidInputError,
    NotFoundError,
)
from geogrid.grid import Grid
from geogrid.storage.store import Store

__version__ = "0.1.0"

__all__ = [
    "Assignment",
    "ConflictError",
    "GeoGridError",
    "Grid",
    "GridIndex",
    "InvalidInputError",
    "NotFoundError",
    "Store",
    "__version__",
    "read_grids",
]
