"""The exception hierarchy of geogrid.

The core knows nothing about HTTP; ``web`` maps these to status codes.
Every error carries an optional ``details`` list of dicts, one per problem,
naming the feature index, CSV line or field concerned.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "ForbiddenError",
    "GeoGridError",
    "InvalidCRSError",
    "InvalidCodeError",
    "InvalidCoordinatesError",
    "InvalidGeometryError",
    "InvalidInputError",
    "NotFoundError",
    "TopologyError",
]


class GeoGridError(Exception):
    """Base class of every error raised by geogrid."""

    def __init__(self, message: str, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])


class InvalidInputError(GeoGridError, ValueError):
    """Input that cannot be accepted as it is."""


class InvalidGeometryError(InvalidInputError):
    """A geometry that is not a valid polygon or multipolygon."""


class InvalidCoordinatesError(InvalidInputError):
    """Coordinates that are not finite lon/lat degrees in range."""


class InvalidCRSError(InvalidInputError):
    """A coordinate reference system geogrid does not know."""


class InvalidCodeError(InvalidInputError):
    """A grid code that does not follow the national grid coding practice."""


class TopologyError(InvalidInputError):
    """Grids that do not nest or tile as their levels require."""


class NotFoundError(GeoGridError, LookupError):
    """A grid, generation or record that does not exist."""


class ConflictError(GeoGridError):
    """A request that contradicts the current state of the store."""


class ForbiddenError(GeoGridError, PermissionError):
    """A step the access policy does not allow this user (outside their scope or cases)."""
