"""Trends: counts per China day, closure metrics per calendar week, as stats defines them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from metrics_cases import case

from geogrid.errors import InvalidInputError
from geogrid.reports.metrics import stats
from geogrid.reports.trend import trend
from geogrid.storage.schema import events

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=CST)  # a Wednesday


def at(day: int, hour: float, month: int = 6) -> datetime:
    """A time in China Standard Time, as UTC."""
    moment = datetime(2026, month, day, tzinfo=CST) + timedelta(hours=hour)
    return moment.astimezone(UTC)


def rows() -> list[dict]:
    """Seven cases around the ten days 2026-06-22 (Monday) to 2026-07-01."""

    def one(i, category, reported, due, status="closed", closed=None, street="410102001"):
        row = case(i, status=status, due=due, closed=closed, street=street, reported=reported)
        return row | {"category": category}

    return [
        one(1, "noise", at(22, 9), at(24, 9), closed=at(23, 10)),  # on time
        one(2, "noise", at(22, 23.5), at(25, 23.5), status="handling"),  # 15:30 UTC, 22nd in CST
        one(3, "sanitation", at(30, 8), at(30, 10), closed=at(30, 20)),  # late
        one(4, "sanitation", at(1, 0.5, 7), at(3, 0, 7), status="reported"),  # 30th in UTC
        one(5, "noise", at(21, 23), at(23, 0), closed=at(22, 10)),  # before, closed in week 1
        one(6, "noise", at(29, 10), at(30, 0), status="rejected"),
        one(7, "noise", at(25, 10), at(26, 0), status="handling", street="410102002"),
    ]


@pytest.fixture
def filled(store):
    with store.write() as conn:
        conn.execute(sa.insert(events), rows())
    return store


def test_counts_per_china_day_and_rates_per_week(filled):
    with filled.engine.connect() as conn:
        out = trend(conn, NOW, code="410102001", days=10)
    assert (out["from"], out["to"], len(out["days_list"])) == ("2026-06-22", "2026-07-01", 10)
    assert out["days_list"][7] == "2026-06-29"
    assert out["reported"] == [2, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    assert out["by_category"] == {
        "noise": [2, 0, 0, 0, 0, 0, 0, 1, 0, 0],
        "sanitation": [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
    }
    assert out["by_status"] == {
        "closed": [1, 0, 0, 0, 0, 0, 0, 0, 1, 0],
        "handling": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "rejected": [0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
        "reported": [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    }
    first, second = out["weeks"]
    assert first == {
        "week_start": "2026-06-22",
        "from": "2026-06-22",
        "to": "2026-06-28",
        "reported": 2,
        "due": 3,
        "closed": 2,
        "closed_on_time": 2,
        "closure_rate": 66.67,
        "on_time_rate": 66.67,
        "median_hours_to_close": 18.0,
    }
    assert (second["from"], second["to"], second["reported"]) == ("2026-06-29", "2026-07-01", 3)
    assert (second["due"], second["closed"], second["closed_on_time"]) == (1, 1, 0)
    assert (second["closure_rate"], second["on_time_rate"]) == (100.0, 0.0)


def test_a_week_agrees_with_stats_for_its_period(filled):
    with filled.engine.connect() as conn:
        weeks = trend(conn, NOW, days=10)["weeks"]
        whole = stats(conn, NOW, start=at(22, 0), end=at(29, 0), breakdown=False)
        now = stats(conn, NOW, start=at(29, 0), breakdown=False)
    keys = ("reported", "due", "closed", "closed_on_time", "closure_rate", "on_time_rate")
    assert [weeks[0][k] for k in keys] == [whole[k] for k in keys]
    assert [weeks[1][k] for k in keys] == [now[k] for k in keys]
    assert weeks[0]["reported"] == 3  # the other street's case counts district-wide


def test_one_category(filled):
    with filled.engine.connect() as conn:
        out = trend(conn, NOW, code="410102", days=10, category="sanitation")
        none = trend(conn, NOW, days=3, category="fire_hazard")
    assert out["by_category"] == {"sanitation": [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]}
    assert out["weeks"][0]["due"] == 0 and out["weeks"][0]["closure_rate"] is None
    assert out["weeks"][1]["closed"] == 1
    assert none["by_category"] == {"fire_hazard": [0, 0, 0]} and none["by_status"] == {}


def test_one_day_is_today_until_now(filled):
    with filled.engine.connect() as conn:
        out = trend(conn, NOW, days=1)
    assert out["days_list"] == ["2026-07-01"] and out["reported"] == [1]
    assert [w["from"] for w in out["weeks"]] == ["2026-07-01"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"days": 0}, "days must be an integer from 1 to 366, got 0"),
        ({"days": 367}, "days must be an integer from 1 to 366, got 367"),
        ({"code": "41"}, "code '41' is not a grid code"),
    ],
)
def test_bad_arguments(store, kwargs, match):
    with store.engine.connect() as conn, pytest.raises(InvalidInputError, match=match):
        trend(conn, NOW, **kwargs)
