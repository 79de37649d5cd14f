"""District statistics benchmark: ``GET /api/v1/stats`` for the whole district, on both backends.

The events of the demo store (100,000, with their case history) are copied into
a throwaway SQLite store and a throwaway PostGIS cluster, then multiplied
tenfold inside each database (1,000,000). For each, in one run:

- ``stats`` as a request finds it: a write has just happened (one case
  closed), so the process's event columns read what changed and compute;
- ``stats`` in a process that has never read the store (the columns read whole);
- the baseline: pandas reading the same columns of the table (``read_sql``)
  and computing the same figures with vectorized groupbys.

Each figure is the median of ``repeat`` runs. Not a test.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from devtools.bench.timing import median_seconds

__all__ = ["run_stats"]

_LEVELS = ("street", "community", "grid")


def _median_s(fn, repeat: int) -> float:
    return round(median_seconds(fn, repeat), 4)


def pandas_stats(conn: sa.Connection, now: datetime) -> dict:
    """The baseline: read the columns with pandas and group them, whole district, no window."""
    from geogrid.storage.schema import events

    columns = ["status", "category", *_LEVELS, "reported_at", "closed_at", "close_due_at"]
    frame = pd.read_sql(sa.select(*(events.c[c] for c in columns)), conn)
    for column in ("reported_at", "closed_at", "close_due_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    end = pd.Timestamp(now) + pd.Timedelta(1, "us")
    frame["rep"] = frame.reported_at < end
    live = ~frame.status.isin(["rejected", "merged"])
    frame["due"] = live & ((frame.close_due_at < end) | (frame.closed_at < end))
    frame["closed"] = frame.due & frame.status.eq("closed") & (frame.closed_at < end)
    frame["on_time"] = frame.closed & (frame.closed_at <= frame.close_due_at)
    frame["hours"] = (frame.closed_at - frame.reported_at).dt.total_seconds() / 3600
    frame.loc[~frame.closed, "hours"] = np.nan
    out = {
        "by_status": frame[frame.rep].status.value_counts().to_dict(),
        "by_category": frame[frame.rep].category.value_counts().to_dict(),
        "median": frame.hours.median(),
    }
    for level in _LEVELS:
        out[level] = frame.groupby(level).agg(
            reported=("rep", "sum"),
            due=("due", "sum"),
            closed=("closed", "sum"),
            on_time=("on_time", "sum"),
            median=("hours", "median"),
        )
    return out


def _copy_events(source: sa.Engine, target, times: int) -> int:
    """Copy the events (and the generations they name) into ``target``, ``times`` over.

    Their links to the roster (assignees) and to other cases (duplicates) are left out.
    """
    from geogrid.storage.schema import events, generations

    names = [c.name for c in events.columns if c.name != "change_seq"]
    with source.connect() as conn:
        gens = [dict(r) for r in conn.execute(sa.select(generations)).mappings()]
        rows = [dict(r) for r in conn.execute(sa.select(*(events.c[n] for n in names))).mappings()]
    n = max(r["id"] for r in rows)
    unlinked = ("assignee_staff_id", "assignee_department_id")
    unlinked += ("likely_duplicate_of", "duplicate_of")
    for row in rows:  # the roster and other cases are not copied; the statistics ignore them
        row.update(dict.fromkeys(unlinked))
    with target.write() as conn:
        conn.execute(sa.insert(generations), gens)
        for start in range(0, len(rows), 20_000):
            conn.execute(sa.insert(events), rows[start : start + 20_000])
    for k in range(1, times):
        shifted = {name: events.c[name] for name in names}
        shifted["id"] = events.c.id + k * n
        shifted["idempotency_key"] = sa.null()  # unique per reporter
        with target.write() as conn:
            conn.execute(
                sa.insert(events).from_select(
                    names, sa.select(*shifted.values()).where(events.c.id <= n)
                )
            )
    return len(rows) * times


def _measure(store, now: datetime, repeat: int) -> dict:
    from geogrid.reports import columns as columns_module
    from geogrid.reports.metrics import stats
    from geogrid.storage.schema import events

    def fresh_process():
        columns_module._TABLES.clear()
        with store.engine.connect() as conn:
            stats(conn, now)

    def after_a_write():
        with store.write() as conn:  # one case changes, as between two refreshes of the panel
            conn.execute(
                sa.update(events).where(events.c.id == 1).values(description=str(time.time()))
            )
        with store.engine.connect() as conn:
            stats(conn, now)

    cold = _median_s(fresh_process, repeat)
    warm = _median_s(after_a_write, repeat)
    with store.engine.connect() as conn:
        baseline = _median_s(lambda: pandas_stats(conn, now), repeat)
    return {"stats_s": warm, "stats_first_read_s": cold, "pandas_s": baseline}


def run_stats(source, repeat: int = 3, sizes=(1, 10), backends=("sqlite", "postgis")) -> list[dict]:
    """Rows of figures per backend and size; ``source`` is a store with the demo events."""
    from devtools.pgtemp import TempCluster
    from geogrid.storage.store import Store

    now = datetime(2026, 10, 1, tzinfo=UTC)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            cluster = TempCluster() if backend == "postgis" else None
            try:
                for times in sizes:
                    if cluster is not None:
                        base = cluster.url or cluster.start()
                        url = _fresh_database(base, f"stats{times}")
                    else:
                        url = f"sqlite:///{tmp}/stats{times}.sqlite"
                    store = Store(url)
                    store.migrate()
                    count = _copy_events(source.engine, store, times)
                    out.append(
                        {"backend": backend, "events": count, **_measure(store, now, repeat)}
                    )
                    store.close()
            finally:
                if cluster is not None:
                    cluster.stop()
    return out


def _fresh_database(server_url: str, name: str) -> str:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
        url = sa.engine.make_url(server_url).set(database=name)
    admin.dispose()
    target = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with target.connect() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.commit()
    target.dispose()
    return url.render_as_string(hide_password=False)
