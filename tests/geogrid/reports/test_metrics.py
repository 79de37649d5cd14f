"""Closure metrics: the published bulletin, and the definitions on stored cases."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from metrics_cases import bulletin_rows as _bulletin_rows
from metrics_cases import case as _case

from geogrid.reports.metrics import rates, stats
from geogrid.storage.schema import events

START = datetime(2026, 6, 1, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)


def test_rates_of_the_published_bulletin():
    assert rates(972, 911, 737) == {
        "due": 972,
        "closed": 911,
        "closed_on_time": 737,
        "closure_rate": 93.72,
        "on_time_rate": 75.82,
    }
    assert rates(0, 0, 0)["closure_rate"] is None


def test_stats_reproduce_the_bulletin_from_stored_cases(store):
    with store.write() as conn:
        conn.execute(sa.insert(events), _bulletin_rows())
    with store.engine.connect() as conn:
        out = stats(conn, END, start=START, end=END)
    assert (out["due"], out["closed"], out["closed_on_time"]) == (972, 911, 737)
    assert (out["closure_rate"], out["on_time_rate"]) == (93.72, 75.82)
    assert out["median_hours_to_close"] == 50.0  # on time: 50 h; late: 57 h; 737 of 911 on time
    by_street = {s["code"]: s for s in out["by_street"]}
    assert by_street["410102002"]["due"] == 324 and by_street["410102001"]["due"] == 648
    assert sum(s["closed"] for s in out["by_grid"]) == 911


def test_a_case_closed_early_in_the_period_counts_even_if_due_later(store):
    row = _case(1, status="closed", due=END + timedelta(days=5), closed=START + timedelta(days=3))
    with store.write() as conn:
        conn.execute(sa.insert(events), [row])
    with store.engine.connect() as conn:
        out = stats(conn, END, start=START, end=END)
    assert (out["due"], out["closed"], out["closed_on_time"]) == (1, 1, 1)


def test_code_restricts_to_a_subtree(store):
    with store.write() as conn:
        conn.execute(sa.insert(events), _bulletin_rows())
    with store.engine.connect() as conn:
        out = stats(conn, END, code="410102002", start=START, end=END)
    assert out["due"] == 324 and [s["code"] for s in out["by_street"]] == ["410102002"]
