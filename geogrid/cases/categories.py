"""Event categories and their deadlines per workflow stage, from a TOML file.

Examples
--------
>>> cats = load_categories()
>>> cats["fire_hazard"].close_hours
26.0
>>> cats["noise"].name
'噪音扰民'
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from geogrid.errors import InvalidInputError

__all__ = ["CATEGORIES_ENV", "DEFAULT_FILE", "STAGES", "Category", "load_categories"]

DEFAULT_FILE = Path(__file__).with_name("categories.toml")
CATEGORIES_ENV = "GEOGRID_CATEGORIES"
#: Stage deadlines, in workflow order.
STAGES = ("accept", "dispatch", "handle", "check")


@dataclass(frozen=True)
class Category:
    """One category: its code, names and the hours allowed per stage."""

    code: str
    name: str
    name_en: str
    hours: dict[str, float]
    #: the department whose queue an accepted case goes to (None: the grid's own staff)
    department: str | None = None

    @property
    def close_hours(self) -> float:
        """Hours from report to the closure deadline: every stage added up."""
        return float(sum(self.hours[s] for s in STAGES))

    def as_dict(self) -> dict:
        """The category as JSON: code, names and stage hours."""
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "deadlines_hours": dict(self.hours),
            "close_hours": self.close_hours,
            "department": self.department,
        }


def load_categories(path: str | os.PathLike | None = None) -> dict[str, Category]:
    """Read categories from ``path``, ``$GEOGRID_CATEGORIES`` or the packaged defaults."""
    path = Path(path or os.environ.get(CATEGORIES_ENV) or DEFAULT_FILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InvalidInputError(f"{path}: invalid TOML: {err}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"{path}: cannot read the categories file: {err}") from err
    categories = {}
    for code, table in data.items():
        if not isinstance(table, dict):
            raise InvalidInputError(f"{path}: [{code}] must be a table of name and deadlines")
        hours = {}
        for stage in STAGES:
            value = table.get(stage)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InvalidInputError(
                    f"{path}: [{code}] {stage} must be a positive number of hours, got {value!r}"
                )
            hours[stage] = float(value)
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"{path}: [{code}] needs a name")
        department = table.get("department")
        if department is not None and (not isinstance(department, str) or not department):
            raise InvalidInputError(f"{path}: [{code}] department must be a department's name")
        categories[code] = Category(code, name, str(table.get("name_en", name)), hours, department)
    if not categories:
        raise InvalidInputError(f"{path}: no categories")
    return categories
