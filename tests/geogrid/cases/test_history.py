"""replay: recorded steps in bulk, through the same checks as a live transition."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from geogrid.cases.categories import load_categories
from geogrid.cases.history import replay
from geogrid.cases.intake import Intake
from geogrid.cases.queries import get_event
from geogrid.cases.workflow import transition
from geogrid.errors import ConflictError, InvalidInputError
from geogrid.storage.schema import event_history, events

T = datetime(2026, 7, 1, 8, tzinfo=UTC)
CATEGORIES = load_categories()


@pytest.fixture
def three(store):
    items = [{"lon": 113.575, "lat": 34.745 + i * 1e-3, "category": "noise"} for i in range(3)]
    Intake(store, CATEGORIES).submit(items, "t", store.index(), T)
    return store


def _counts(store):
    with store.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(event_history)), conn.execute(
            sa.select(events.c.id, events.c.status).order_by(events.c.id)
        ).all()


def _step(event_id, to, hours, **extra):
    return {"event_id": event_id, "to": to, "at": T + timedelta(hours=hours), "actor": "m", **extra}


def test_replay_ends_where_live_transitions_end(three, store):
    steps = [_step(1, "accepted", 1), _step(1, "dispatched", 2), _step(2, "rejected", 1)]
    assert replay_in(store, steps) == 3
    with store.engine.connect() as conn:
        replayed = {i: get_event(conn, i)[0] for i in (1, 2)}
    with store.write() as conn:  # the same steps, live, on the third event
        for to, hours in (("accepted", 1), ("dispatched", 2)):
            row, _ = get_event(conn, 3)
            transition(conn, row, to, "m", T + timedelta(hours=hours), CATEGORIES["noise"])
        live = get_event(conn, 3)[0]
    assert (replayed[1].status, replayed[1].stage_due_at, replayed[1].status_at) == (
        live.status,
        live.stage_due_at,
        live.status_at,
    )
    assert replayed[2].status == "rejected"


@pytest.mark.parametrize(
    ("steps", "error", "message"),
    [
        ([_step(1, "closed", 1)], ConflictError, "cannot go from 'reported' to 'closed'"),
        ([_step(1, "merged", 1, merge_into=1)], InvalidInputError, "merged into itself"),
        ([_step(1, "merged", 1)], InvalidInputError, "merge_into: is required"),
        ([_step(1, "merged", 1, merge_into=99)], InvalidInputError, "no event with id 99"),
        # a case rejected earlier in the same replay cannot take a merge
        (
            [_step(2, "rejected", 1), _step(1, "merged", 2, merge_into=2)],
            InvalidInputError,
            "event 2 is rejected; merge into the case it belongs to",
        ),
        ([_step(1, "accepted", 1, merge_into=2)], InvalidInputError, "only with status 'merged'"),
    ],
)
def test_replay_refuses_what_a_live_transition_refuses_and_writes_nothing(
    three, store, steps, error, message
):
    before = _counts(store)
    with pytest.raises(error, match=message):
        replay_in(store, [_step(3, "accepted", 0.5), *steps])
    assert _counts(store) == before


def test_a_merge_points_to_the_main_case(three, store):
    replay_in(store, [_step(2, "merged", 1, merge_into=1)])
    with store.engine.connect() as conn:
        row = get_event(conn, 2)[0]
    assert (row.status, row.duplicate_of) == ("merged", 1)


def replay_in(store, steps):
    with store.write() as conn:
        return replay(conn, steps, CATEGORIES)
