"""JSON errors: ``{"error": {"type", "message", "details"}}`` with the right status."""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from geogrid.errors import (
    ConflictError,
    ForbiddenError,
    GeoGridError,
    InvalidInputError,
    NotFoundError,
)


def error_response(status: int, kind: str, message: str, details: list | None = None):
    """The JSON error body ``{"error": {type, message, details}}`` and its status."""
    body = {"error": {"type": kind, "message": message, "details": details or []}}
    return jsonify(body), status


def _status(err: GeoGridError) -> int:
    if isinstance(err, InvalidInputError):
        return 400
    if isinstance(err, NotFoundError):
        return 404
    if isinstance(err, ConflictError):
        return 409
    if isinstance(err, ForbiddenError):
        return 403
    return 500


def register(app: Flask) -> None:
    """Map geogrid's errors and HTTP errors to JSON error bodies on ``app``."""

    @app.errorhandler(GeoGridError)
    def _geogrid(err: GeoGridError):
        status = _status(err)
        kind = "Forbidden" if status == 403 else type(err).__name__
        return error_response(status, kind, err.message, err.details)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        if not request.path.startswith("/api/"):
            return err
        message = err.description or ""
        if err.code == 413:
            limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
            message = f"the request is larger than the limit of {limit:,} bytes"
        return error_response(err.code or 500, type(err).__name__, message)
