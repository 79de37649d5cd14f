"""The case workflow of digital city management, with stage deadlines.

``reported`` (上报) → ``accepted`` (立案) → ``dispatched`` (派遣) → ``handling`` (处置)
→ ``resolved`` (处置完毕) → ``closed`` (核查结案); ``rejected`` (不予立案) and
``merged`` (a duplicate of another case) end a case early; a failed check sends a
``resolved`` case back to ``handling``.

Examples
--------
>>> check_transition("reported", "accepted")
>>> check_transition("closed", "handling")
Traceback (most recent call last):
...
geogrid.errors.ConflictError: cannot go from 'closed' to 'handling': 'closed' is final
"""

from __future__ import annotations

from datetime import datetime, timedelta

from geogrid.categories import Category
from geogrid.errors import ConflictError, InvalidInputError

__all__ = [
    "STATUSES",
    "OPEN",
    "FINAL",
    "TRANSITIONS",
    "check_status",
    "check_transition",
    "stage_due",
]

STATUSES = (
    "reported",
    "accepted",
    "dispatched",
    "handling",
    "resolved",
    "closed",
    "rejected",
    "merged",
)
OPEN = ("reported", "accepted", "dispatched", "handling", "resolved")
FINAL = ("closed", "rejected", "merged")
TRANSITIONS = {
    "reported": ("accepted", "rejected", "merged"),
    "accepted": ("dispatched", "rejected", "merged"),
    "dispatched": ("handling",),
    "handling": ("resolved",),
    "resolved": ("closed", "handling"),
}
# Which stage's deadline runs while a case is in each status.
_STAGE_OF = {
    "reported": "accept",
    "accepted": "dispatch",
    "dispatched": "handle",
    "resolved": "check",
}


def check_status(value: object) -> str:
    """``value`` if it is a workflow status, else :class:`InvalidInputError`."""
    if value not in STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}, got {value!r}")
    return value  # type: ignore[return-value]


def check_transition(current: str, target: str) -> None:
    """Raise :class:`ConflictError` unless ``current`` → ``target`` is allowed."""
    check_status(target)
    if current in FINAL:
        raise ConflictError(f"cannot go from {current!r} to {target!r}: {current!r} is final")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise ConflictError(
            f"cannot go from {current!r} to {target!r}; allowed: {', '.join(allowed)}"
        )


def stage_due(
    status: str,
    at: datetime,
    category: Category,
    previous: str | None = None,
    current_due: datetime | None = None,
) -> datetime | None:
    """The deadline of the stage a case enters at ``at``.

    Handling right after dispatch keeps the handle deadline that dispatch set;
    handling again after a failed check gets a fresh one.
    """
    if status in FINAL:
        return None
    if status == "handling":
        if previous == "dispatched" and current_due is not None:
            return current_due
        return at + timedelta(hours=category.hours["handle"])
    return at + timedelta(hours=category.hours[_STAGE_OF[status]])
