"""Masking personal data for those not allowed to see it.

Examples
--------
>>> mask_phone("13812341234")
'138****1234'
>>> mask_attributes({"leader": "王芳", "phone": "13812341234"})
{'leader': '王芳', 'phone': '138****1234'}
"""

from __future__ import annotations

import re

__all__ = ["is_personal_key", "mask_attributes", "mask_name", "mask_phone"]

_PERSONAL = re.compile(r"phone|mobile|tel|电话|手机", re.IGNORECASE)


def is_personal_key(key: str) -> bool:
    """True for attribute names that hold phone numbers."""
    return bool(_PERSONAL.search(key))


def mask_phone(value: object) -> str:
    """Keep the first 3 and last 4 digits of a phone number: ``138****1234``."""
    text = str(value)
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7:
        return "*" * len(text)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_attributes(attributes: dict) -> dict:
    """A copy of ``attributes`` with every phone-like value masked."""
    return {
        k: (mask_phone(v) if is_personal_key(k) and v not in (None, "") else v)
        for k, v in attributes.items()
    }


def mask_name(value: str) -> str:
    """Keep the first character of a name: ``王**``."""
    return value[:1] + "*" * max(1, len(value) - 1)
