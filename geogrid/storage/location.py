"""Where the store is: the URL from the environment or the instance folder.

Kept apart from the backends so that naming the store imports no database driver.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["INDEX_DIR_ENV", "URL_ENV", "default_url", "index_cache"]

URL_ENV = "GEOGRID_DATABASE_URL"
#: Where saved grid indexes go instead of their default place.
INDEX_DIR_ENV = "GEOGRID_INDEX_DIR"


def default_url(instance_dir: str | os.PathLike = "instance") -> str:
    """``GEOGRID_DATABASE_URL`` if set, else the SQLite file in ``instance_dir``."""
    url = os.environ.get(URL_ENV)
    if url:
        return url
    return f"sqlite:///{Path(instance_dir).resolve() / 'geogrid.sqlite'}"


def index_cache() -> Path:
    """The folder for saved grid indexes not kept beside a store file.

    ``GEOGRID_INDEX_DIR`` if set, else ``$XDG_CACHE_HOME/geogrid`` (``~/.cache/geogrid``).
    """
    base = os.environ.get(INDEX_DIR_ENV)
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "geogrid"
