"""Grid levels and codes of the national grid coding practice.

A code alone tells its level and its parent: a street is the 6-digit county
code (GB/T 2260) plus 3 digits, a community adds 3, a three-level grid adds 3,
a micro grid adds 2; a dedicated grid is ``Z`` plus 2 digits after its
community's code.

Examples
--------
>>> level_of("410102006001003")
'grid'
>>> parent_of("41010200600100307")
'410102006001003'
>>> chain("41010200600100307")["community"]
'410102006001'
>>> level_of("410102006001Z01")
'dedicated'
"""

from __future__ import annotations

import functools
import itertools
import re

from geogrid.errors import InvalidCodeError

__all__ = [
    "CHAIN_LEVELS",
    "LEVELS",
    "PARENT_LEVEL",
    "REGULAR_LEVELS",
    "chain",
    "is_code",
    "level_of",
    "parent_of",
    "validate_code",
]

#: Outermost first.
LEVELS = ("district", "street", "community", "grid", "micro", "dedicated")
#: Levels that tile their parent.
REGULAR_LEVELS = ("district", "street", "community", "grid", "micro")
#: The levels an assignment reports, outermost first.
CHAIN_LEVELS = ("street", "community", "grid", "micro")
PARENT_LEVEL = {
    "district": None,
    "street": "district",
    "community": "street",
    "grid": "community",
    "micro": "grid",
    "dedicated": "community",
}
_PREFIX_LENGTH = {"district": 6, "street": 9, "community": 12, "grid": 15, "micro": 17}
_LEVEL_BY_LENGTH = {n: level for level, n in _PREFIX_LENGTH.items()}
_DIGITS = re.compile(r"[0-9]+")
_DEDICATED = re.compile(r"([0-9]{12})Z([0-9]{2})")
_EXPECTED = (
    "6 digits (district), 9 (street), 12 (community), 15 (grid), 17 (micro) "
    "or 12 digits + 'Z' + 2 digits (dedicated)"
)


def _check(code: object) -> str:
    if not isinstance(code, str):
        raise InvalidCodeError(
            f"code must be a string of digits, got {type(code).__name__} {code!r}"
        )
    return _check_text(code)


@functools.lru_cache(maxsize=1 << 17)  # a district's codes are checked again and again
def _check_text(code: str) -> str:
    dedicated = _DEDICATED.fullmatch(code)
    if dedicated:
        if dedicated.group(2) == "00":
            raise InvalidCodeError(f"code {code!r}: dedicated number 'Z00' is not allowed")
        _check_segments(dedicated.group(1), code)
        return "dedicated"
    if not _DIGITS.fullmatch(code) or len(code) not in _LEVEL_BY_LENGTH:
        raise InvalidCodeError(f"code {code!r} is not a grid code: expected {_EXPECTED}")
    _check_segments(code, code)
    return _LEVEL_BY_LENGTH[len(code)]


def _check_segments(digits: str, code: str) -> None:
    if digits[:2] == "00" or (digits[2:6] == "0000" and len(digits) > 6):
        raise InvalidCodeError(f"code {code!r}: {digits[:6]!r} is not a county code")
    bounds = [6, 9, 12, 15, 17]
    for start, end in itertools.pairwise(bounds):
        segment = digits[start:end]
        if segment and set(segment) == {"0"}:
            raise InvalidCodeError(
                f"code {code!r}: segment {segment!r} at characters {start + 1}-{end} "
                "must not be all zeros"
            )


def is_code(code: object) -> bool:
    """True if ``code`` is a valid grid code of any level."""
    try:
        _check(code)
    except InvalidCodeError:
        return False
    return True


def validate_code(code: object) -> str:
    """Return ``code`` if valid, else raise :class:`InvalidCodeError` saying why."""
    _check(code)
    return code  # type: ignore[return-value]


def level_of(code: str) -> str:
    """The level of a grid code: one of :data:`LEVELS`."""
    return _check(code)


def parent_of(code: str) -> str | None:
    """The code of the parent grid, or None for a district."""
    level = _check(code)
    if level == "dedicated":
        return code[:12]
    parent_level = PARENT_LEVEL[level]
    return None if parent_level is None else code[: _PREFIX_LENGTH[parent_level]]


def chain(code: str) -> dict[str, str | None]:
    """The code at every regular level from district down to ``code``'s level.

    Levels finer than ``code`` are None. A dedicated grid's chain stops at its
    community and carries the dedicated code itself.
    """
    level = _check(code)
    digits = code[:12] if level == "dedicated" else code
    out: dict[str, str | None] = {}
    for name, n in _PREFIX_LENGTH.items():
        out[name] = digits[:n] if len(digits) >= n else None
    out["dedicated"] = code if level == "dedicated" else None
    return out
