"""Reading JSON files as every importer does: UTF-8 (BOM allowed), gzip, errors by line."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from geogrid.errors import InvalidInputError

__all__ = ["load_json"]


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def load_json(source: str | bytes | os.PathLike) -> Any:
    """Parse JSON from bytes, or from a file path (``.gz`` too), naming a syntax error's line."""
    if not isinstance(source, bytes):
        path = Path(source)
        source = path.read_bytes()
        if path.suffix == ".gz":
            source = gzip.decompress(source)
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInputError(f"file is not UTF-8 text: byte {err.start}") from err
    if not text.strip():
        raise InvalidInputError("file is empty; expected a GeoJSON FeatureCollection")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise InvalidInputError(
            f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from err
    except RecursionError:
        raise InvalidInputError("invalid JSON: nested too deeply") from None
    except ValueError as err:
        raise InvalidInputError(f"invalid JSON: {err}") from err
