"""Per-process state: the store and the in-memory index of the active generation.

Each request asks the store for the active generation id (one indexed query);
the index is rebuilt only when it changed, so a commit made by another worker
is used from the next request on, without a restart.
"""

from __future__ import annotations

import threading

from flask import current_app

from geogrid.assign import GridIndex
from geogrid.categories import Category
from geogrid.duplicates import DuplicateFinder
from geogrid.intake import Intake
from geogrid.store import Store


class GridState:
    """The store, the categories, intake, and a cached :class:`GridIndex`."""

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
        self._index: GridIndex | None = None
        self._lock = threading.Lock()

    def names(self) -> dict[str, str]:
        """Grid names of the active generation by code (cached per generation)."""
        generation = self.index().generation
        cached = getattr(self, "_names", None)
        if cached is None or cached[0] != generation:
            cached = (generation, {g.code: g.name for g in self.store.load_grids(generation)})
            self._names = cached
        return cached[1]

    def index(self) -> GridIndex:
        """The index of the active generation, rebuilt if the generation changed."""
        active = self.store.active_generation()
        index = self._index
        if index is not None and index.generation == active:
            return index
        with self._lock:
            if self._index is None or self._index.generation != active:
                self._index = self.store.index(self.tolerance_m)
            return self._index


def state() -> GridState:
    return current_app.extensions["geogrid"]
