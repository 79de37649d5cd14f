"""Per-process state: the store and the in-memory index of the active generation.

Each request asks the store for the active generation id (one indexed query);
the index is rebuilt only when it changed, so a commit made by another worker
is used from the next request on, without a restart. The grids carry the
roster's contacts (:mod:`geogrid.cases.contacts`), taken again when the roster
changes.
"""

from __future__ import annotations

import threading

from flask import current_app

from geogrid.cases.categories import Category
from geogrid.cases.contacts import grid_contacts, roster_stamp, with_contacts
from geogrid.cases.duplicates import DuplicateFinder
from geogrid.cases.intake import Intake
from geogrid.engine.assign import GridIndex
from geogrid.errors import NotFoundError
from geogrid.grid import Grid
from geogrid.storage.store import Store


class GridState:
    """The store, the categories, intake, and the active generation's grids and index."""

    def __init__(
        self,
        store: Store,
        tolerance_m: float,
        categories: dict[str, Category],
        finder: DuplicateFinder,
    ) -> None:
        self.store = store
        self.tolerance_m = tolerance_m
        self.categories = categories
        self.intake = Intake(store, categories, finder)
        self._cache: tuple[GridIndex, list[Grid], dict[str, str]] | None = None
        self._lock = threading.Lock()
        self._loaded: list[Grid] = []  # the generation's grids as stored
        self._stamp: tuple | None = None  # the roster the cached grids show

    def names(self) -> dict[str, str]:
        """Grid names of the active generation by code."""
        return self.active()[2]

    def grids(self) -> list[Grid]:
        """Every grid of the active generation, loaded once per generation and process."""
        return self.active()[1]

    def index(self) -> GridIndex:
        """The index of the active generation, rebuilt if the generation changed."""
        return self.active()[0]

    def active(self) -> tuple[GridIndex, list[Grid], dict[str, str]]:
        """Index, grids (with the roster's contacts) and names of the active generation."""
        with self.store.engine.connect() as conn:
            active = self.store.active_generation(conn)
            stamp = roster_stamp(conn)
        cached = self._cache
        if cached is not None and cached[0].generation == active and self._stamp == stamp:
            return cached
        with self._lock:
            if self._cache is None or self._cache[0].generation != active:
                if active is None:
                    raise NotFoundError("no grids imported yet: run 'geogrid import-grids FILE'")
                self._loaded = self.store.load_grids(active)
                index = self.store.generation_index(active, self.tolerance_m, self._loaded)
                self._cache = (index, self._loaded, {g.code: g.name for g in self._loaded})
                self._stamp = None
            if self._stamp != stamp:
                with self.store.engine.connect() as conn:
                    shown = with_contacts(self._loaded, grid_contacts(conn))
                self._cache = (self._cache[0], shown, self._cache[2])
                self._stamp = stamp
            return self._cache

    def contacts(self, grids: list[Grid]) -> list[Grid]:
        """``grids`` (from the store) with the roster's contacts, as the map shows them."""
        with self.store.engine.connect() as conn:
            return with_contacts(grids, grid_contacts(conn))


def state() -> GridState:
    """The app's geogrid state (store, index, categories, duplicate finder)."""
    return current_app.extensions["geogrid"]
