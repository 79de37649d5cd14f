import pytest

from geogrid import codes
from geogrid.errors import InvalidCodeError


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("410102", "district", None),
        ("410102006", "street", "410102"),
        ("410102006001", "community", "410102006"),
        ("410102006001003", "grid", "410102006001"),
        ("41010200600100307", "micro", "410102006001003"),
        ("410102006001Z01", "dedicated", "410102006001"),
    ],
)
def test_level_and_parent_come_from_the_code(code, level, parent):
    assert codes.level_of(code) == level
    assert codes.parent_of(code) == parent


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("4101020060", "is not a grid code: expected 6 digits"),
        ("41010200600a", "is not a grid code"),
        ("410102000", "segment '000' at characters 7-9 must not be all zeros"),
        ("41010200600100300", "segment '00' at characters 16-17 must not be all zeros"),
        ("410102006001Z00", "dedicated number 'Z00' is not allowed"),
        ("000102006", "is not a county code"),
        (410102006, "must be a string of digits, got int"),
        ("", "is not a grid code"),
    ],
)
def test_bad_codes_say_why(code, message):
    with pytest.raises(InvalidCodeError, match=message):
        codes.level_of(code)
    assert not codes.is_code(code)


def test_chain_of_a_micro_grid_lists_every_ancestor():
    assert codes.chain("41010200600100307") == {
        "district": "410102",
        "street": "410102006",
        "community": "410102006001",
        "grid": "410102006001003",
        "micro": "41010200600100307",
        "dedicated": None,
    }


def test_chain_of_a_dedicated_grid_stops_at_its_community():
    chain = codes.chain("410102006001Z01")
    assert chain["community"] == "410102006001"
    assert chain["grid"] is None
    assert chain["dedicated"] == "410102006001Z01"
