"""Previewed boundary uploads, kept in the store until they are committed.

The admin page previews an upload in one request and commits it in another,
which may reach another web worker or another host; both read the same
database. A staged upload is kept for :data:`KEEP`; staging prunes older ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from geogrid.storage.schema import staged_uploads
from geogrid.storage.store import Store
from geogrid.times import to_db_time

__all__ = ["KEEP", "discard", "stage", "staged"]

KEEP = timedelta(days=7)


def stage(store: Store, sha256: str, suffix: str, data: bytes, actor: str, now: datetime) -> None:
    """Keep ``data`` under its sha256 (a second preview of the same file replaces the first)."""
    with store.write() as conn:
        conn.execute(
            sa.delete(staged_uploads).where(
                sa.or_(
                    staged_uploads.c.sha256 == sha256,
                    staged_uploads.c.staged_at < to_db_time(now - KEEP),
                )
            )
        )
        conn.execute(
            sa.insert(staged_uploads).values(
                sha256=sha256, suffix=suffix, data=data, staged_by=actor, staged_at=to_db_time(now)
            )
        )


def staged(store: Store, sha256: str) -> tuple[str, bytes] | None:
    """(suffix, bytes) of a staged upload, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(staged_uploads.c.suffix, staged_uploads.c.data).where(
                staged_uploads.c.sha256 == sha256
            )
        ).first()
    return None if row is None else (row.suffix, bytes(row.data))


def discard(store: Store, sha256: str) -> None:
    """Forget the staged upload ``sha256`` (after a commit or when abandoned)."""
    with store.write() as conn:
        conn.execute(sa.delete(staged_uploads).where(staged_uploads.c.sha256 == sha256))
