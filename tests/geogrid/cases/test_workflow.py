from datetime import UTC, datetime, timedelta

import pytest

from geogrid.cases.categories import load_categories
from geogrid.cases.workflow import FINAL, STATUSES, TRANSITIONS, check_transition, stage_due
from geogrid.errors import ConflictError, InvalidInputError

LEGAL = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_only_the_listed_transitions_are_legal(current, target):
    if (current, target) in LEGAL:
        check_transition(current, target)
    else:
        with pytest.raises(ConflictError, match=f"cannot go from '{current}' to '{target}'"):
            check_transition(current, target)


def test_final_states_have_no_way_out():
    assert set(FINAL) == {"closed", "rejected", "merged"}
    assert not set(FINAL) & set(TRANSITIONS)


def test_unknown_status_is_bad_input():
    with pytest.raises(InvalidInputError, match="status must be one of"):
        check_transition("reported", "open")


def test_stage_deadlines_follow_the_category():
    noise = load_categories()["noise"]
    at = datetime(2026, 7, 1, tzinfo=UTC)
    assert stage_due("reported", at, noise) == at + timedelta(hours=2)
    assert stage_due("dispatched", at, noise) == at + timedelta(hours=24)
    dispatched_due = at + timedelta(hours=24)
    later = at + timedelta(hours=3)
    assert stage_due("handling", later, noise, "dispatched", dispatched_due) == dispatched_due
    assert stage_due("handling", later, noise, "resolved", dispatched_due) == later + timedelta(
        hours=24
    )
    assert stage_due("closed", later, noise) is None


def test_a_bad_categories_file_names_the_problem(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[noise]\nname = "噪音"\naccept = 2\ndispatch = 0\nhandle = 1\ncheck = 1\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError, match=r"\[noise\] dispatch must be a positive number"):
        load_categories(path)
    path.write_text("[noise\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="invalid TOML"):
        load_categories(path)
