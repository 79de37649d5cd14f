"""geogrid: grid registry, exact event-to-grid assignment and boundary generations.

The core library. It imports neither Flask nor folium: ``maps`` and ``web``
build on it.
"""

from importlib import import_module

# Imported on first use (PEP 562): ``geogrid assign`` needs neither SQLAlchemy nor the
# boundary checks of a store, and a command's start-up is part of what its user waits for.
_WHERE = {
    "read_grids": "geogrid.boundaries.grids",
    "Assignment": "geogrid.engine.assign",
    "GridIndex": "geogrid.engine.assign",
    "ConflictError": "geogrid.errors",
    "GeoGridError": "geogrid.errors",
    "InvalidInputError": "geogrid.errors",
    "NotFoundError": "geogrid.errors",
    "Grid": "geogrid.grid",
    "Store": "geogrid.storage.store",
}


def __getattr__(name: str):
    """The public names, imported from their modules when first asked for."""
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'geogrid' has no attribute {name!r}")


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
