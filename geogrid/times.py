"""Time values as the store keeps them and as the API shows them.

The store holds naive UTC on every backend; the API answers ISO 8601 with the
UTC offset. A naive value read back from the database is taken as UTC.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> local = datetime(2026, 7, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
>>> to_db_time(local)
datetime.datetime(2026, 7, 1, 1, 30)
>>> to_iso(to_db_time(local))
'2026-07-01T01:30:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["to_db_time", "to_iso", "utc"]


def utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime (a naive one from the database is taken as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_db_time(value: datetime | None) -> datetime | None:
    """``value`` as the database keeps it: naive UTC, the same on every backend."""
    return None if value is None else utc(value).replace(tzinfo=None)


def to_iso(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 in UTC with its offset, or None."""
    return None if value is None else utc(value).isoformat()
