"""Normal forms used to compare addresses and numbers across sources."""

from __future__ import annotations

import re

_NON_DIGIT = re.compile(r"\D+")


def phone(value: str) -> str:
    """Digits only; North American numbers lose their leading country code 1."""
    digits = _NON_DIGIT.sub("", value or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


def email(value: str) -> str:
    return (value or "").strip().strip("<>").lower()


def domain(address: str) -> str:
    address = email(address)
    return address.rsplit("@", 1)[-1] if "@" in address else ""
