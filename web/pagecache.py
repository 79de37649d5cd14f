"""Rendered pages kept by the store's change sequence, in memory and on the host's disk.

A page is valid while the store's change sequence is the one it was rendered
at and, for a page that shows overdue counts, until the next deadline passes.
Every worker of a host shares the disk copies (``instance/cache/map``), so a
restarted server answers its first request from them when nothing was written
in between. Files are written whole (a temporary file renamed over) and read
only by this process's user.

Examples
--------
>>> import tempfile, datetime as dt
>>> cache = PageCache(tempfile.mkdtemp(), "sqlite:///x", capacity=2)
>>> now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
>>> cache.put("k", 7, None, "<html>")
>>> cache.get("k", 7, now), cache.get("k", 8, now)
('<html>', None)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from datetime import datetime
from pathlib import Path

__all__ = ["PageCache", "drawing_code"]


class PageCache:
    """Pages by key, each valid at one change sequence and until an instant (or for ever).

    Parameters
    ----------
    folder : path or None
        Where the disk copies go (created on first write); None keeps pages in memory only.
    salt : str
        What the pages belong to (the store, the version, the settings): part of
        every file name, so pages of another store or release are never served.
    capacity : int
        Pages kept in memory (least recently used leave first); eight times as
        many on disk (the oldest written leave first).
    """

    def __init__(self, folder: str | os.PathLike | None, salt: str, capacity: int) -> None:
        self.folder = None if folder is None else Path(folder)
        self._salt = salt.encode()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._memory: OrderedDict[str, tuple[int, str | None, str]] = OrderedDict()

    def _path(self, key: str) -> Path:
        return self.folder / (
            hashlib.sha256(self._salt + b"\0" + key.encode()).hexdigest() + ".html"
        )

    def get(self, key: str, seq: int, now: datetime) -> str | None:
        """The page of ``key`` if rendered at ``seq`` and still valid at ``now``."""
        with self._lock:
            entry = self._memory.get(key)
            if entry is not None:
                self._memory.move_to_end(key)
        if entry is None:
            entry = self._read(key)
        if entry is None or entry[0] != seq:
            return None
        if entry[1] is not None and now >= datetime.fromisoformat(entry[1]):
            return None
        self._remember(key, entry)
        return entry[2]

    def put(self, key: str, seq: int, valid_until: datetime | None, page: str) -> None:
        """Keep ``page`` for ``key`` at ``seq``, valid until ``valid_until`` (None: no limit)."""
        entry = (seq, None if valid_until is None else valid_until.isoformat(), page)
        self._remember(key, entry)
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            head = json.dumps({"seq": seq, "valid_until": entry[1]})
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=self.folder, suffix=".tmp", delete=False
            ) as out:
                out.write(head + "\n" + page)
            os.replace(out.name, self._path(key))
            self._trim()
        except OSError:
            pass  # a read-only or full disk costs speed, never the answer

    def _trim(self) -> None:
        """Keep the newest ``8 x capacity`` files: arbitrary filters cannot fill the disk."""
        files = list(self.folder.glob("*.html"))
        if len(files) <= 8 * self._capacity:
            return
        files.sort(key=lambda p: p.stat().st_mtime_ns)
        for old in files[: len(files) - 8 * self._capacity]:
            old.unlink(missing_ok=True)

    def _remember(self, key: str, entry: tuple) -> None:
        with self._lock:
            self._memory[key] = entry
            self._memory.move_to_end(key)
            while len(self._memory) > self._capacity:
                self._memory.popitem(last=False)

    def _read(self, key: str) -> tuple | None:
        if self.folder is None:
            return None
        try:
            text = self._path(key).read_text(encoding="utf-8")
            head, page = text.split("\n", 1)
            meta = json.loads(head)
            return (int(meta["seq"]), meta["valid_until"], page)
        except (OSError, ValueError, KeyError, TypeError):
            return None


@functools.cache
def drawing_code() -> str:
    """A digest of the files a page is drawn from: the maps package and the page templates.

    Part of a page's salt: a checkout between releases changes them without a new version.
    """
    import maps
    import web

    digest = hashlib.sha256()
    for folder in (Path(maps.__file__).parent, Path(web.__file__).parent / "templates"):
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".js", ".css", ".html"):
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
