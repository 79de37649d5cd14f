"""Filters on the event columns select exactly what their SQL selects, on both backends."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from metrics_cases import case

from geogrid.cases import workflow
from geogrid.cases.queries import EventFilter
from geogrid.reports import filtered, mapdata
from geogrid.reports.filtered import selected
from geogrid.storage.schema import events

NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
STATUSES = workflow.STATUSES


def _rows(n=400, seed=3):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(1, n + 1):
        reported = NOW - timedelta(hours=int(rng.integers(0, 24 * 20)), seconds=int(i))
        row = case(i, status=str(rng.choice(STATUSES)), due=reported + timedelta(days=3))
        street = "41010200" + str(rng.integers(1, 3))
        grid = street + "001" + "00" + str(rng.integers(1, 4))
        late = rng.random() < 0.5
        row.update(
            reported_at=reported,
            category=str(rng.choice(["noise", "fire", "shed"])),
            street=street,
            community=street + "001",
            grid=None if rng.random() < 0.1 else grid,
            lon=113.5 + float(rng.uniform(0, 0.02)),
            lat=34.7 + float(rng.uniform(0, 0.02)),
            stage_due_at=None if rng.random() < 0.2 else NOW + timedelta(hours=-5 if late else 5),
        )
        rows.append(row)
    return rows


FILTERS = [
    EventFilter(),
    EventFilter(code="410102001"),
    EventFilter(code="410102002001"),
    EventFilter(code="410102001001002"),
    EventFilter(category="fire"),
    EventFilter(category=("fire", "shed")),
    EventFilter(category="no-such"),
    EventFilter(status="closed"),
    EventFilter(status=workflow.OPEN),
    EventFilter(status=()),
    EventFilter(overdue=True),
    EventFilter(overdue=False, code="410102002"),
    EventFilter(start=NOW - timedelta(days=5)),
    EventFilter(end=NOW - timedelta(days=5), category="noise"),
    EventFilter(start=NOW - timedelta(days=9), end=NOW - timedelta(days=2), status="handling"),
    EventFilter(through=NOW - timedelta(days=3)),
]


@pytest.fixture
def filled(store):
    with store.write() as conn:
        conn.execute(sa.insert(events), _rows())
    return store


@pytest.mark.parametrize("flt", FILTERS, ids=range(len(FILTERS)))
def test_the_columns_select_what_sql_selects(filled, flt):
    with filled.engine.connect() as conn:
        c, rows = selected(conn, flt, NOW)
        expected = conn.scalars(sa.select(events.c.id).where(*flt.where(NOW))).all()
    assert sorted(c.id[rows].tolist()) == sorted(expected)
    assert len(expected) or flt.category == "no-such" or flt.status == ()


@pytest.mark.parametrize(
    "flt",
    [EventFilter(bbox_wgs84=(113.5, 34.7, 113.51, 34.71)), EventFilter(source="app")],
    ids=["bbox", "source"],
)
def test_a_filter_the_columns_do_not_hold_goes_to_sql(filled, flt):
    with filled.engine.connect() as conn:
        assert selected(conn, flt, NOW) is None
        assert mapdata.heat_cells(conn, flt, NOW)  # answered all the same, by SQL


@pytest.mark.parametrize("flt", FILTERS, ids=range(len(FILTERS)))
def test_map_layers_from_the_columns_equal_those_from_sql(filled, flt, monkeypatch):
    from web.api.hotspots import _counts

    def layers():
        with filled.engine.connect() as conn:
            return (
                mapdata.heat_cells(conn, flt, NOW),
                mapdata.grid_event_counts(conn, flt, NOW),
                mapdata.grid_event_counts(conn, flt, NOW, open_only=False),
                _counts(conn, flt, NOW),
            )

    from_columns = layers()
    monkeypatch.setattr(mapdata, "selected", lambda *a: None)
    monkeypatch.setattr("web.api.hotspots.selected", lambda *a: None)
    from_sql = layers()
    assert from_columns == from_sql
    assert filtered.selected is selected  # the real one served the first reading


def test_unique_pairs_equal_numpy_unique_along_rows():
    rng = np.random.default_rng(0)
    pairs = rng.integers(-50_000, 50_000, size=(5000, 2)) // 997  # negatives and repeats
    values, inverse, counts = np.unique(pairs, axis=0, return_inverse=True, return_counts=True)
    found, n, where = mapdata._unique_pairs(pairs, inverse=True)
    assert (found == values).all() and (n == counts).all() and (where == inverse.ravel()).all()
    empty = mapdata._unique_pairs(np.empty((0, 2), dtype=np.int64))
    assert len(empty[0]) == 0 and len(empty[1]) == 0
