"""IntOrString values: a whole number ("3") or a percentage ("25%").

The API stores IntOrString fields (maxSurge, maxUnavailable, targetPort, probe
ports) as strings; the manifest loader turns a YAML integer 3 into "3". Plain
ints are accepted here too, so code that computes a value need not format it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kubernetes keeps the integer form in an int32.
MAX_INT = 2**31 - 1

_INT = re.compile(r"[0-9]+")
_PERCENT = re.compile(r"([0-9]+)%")


class InvalidIntOrPercent(ValueError):
    """A value that is neither a non-negative integer nor a whole percentage."""


@dataclass(frozen=True)
class Percent:
    """A whole percentage, e.g. Percent(25) for "25%"."""

    value: int

    def __str__(self) -> str:
        return f"{self.value}%"


def parse(value: str | int) -> int | Percent:
    """The integer or percentage: "3" → 3, "25%" → Percent(25).

    Rejects "", "-1", "25.5%", "abc", "%" and integers beyond int32.
    """
    if isinstance(value, bool):  # bool is an int subclass, and never meant here
        raise InvalidIntOrPercent(f"{value!r} is not an integer or a percentage")
    if isinstance(value, int):
        if not 0 <= value <= MAX_INT:
            raise InvalidIntOrPercent(f"{value} is out of range (0 to {MAX_INT})")
        return value
    if _INT.fullmatch(value):
        number = int(value)
        if number > MAX_INT:
            raise InvalidIntOrPercent(f'"{value}" is out of range (0 to {MAX_INT})')
        return number
    percent = _PERCENT.fullmatch(value)
    if percent:
        return Percent(int(percent.group(1)))
    raise InvalidIntOrPercent(f'"{value}" is not an integer or a percentage: {_why(value)}')


def _why(value: str) -> str:
    if value == "":
        return "it is empty"
    if value.startswith("-"):
        return "it must not be negative"
    if value.endswith("%"):
        if value == "%":
            return 'a percentage needs a number before "%", like "25%"'
        return 'a percentage must be a whole number followed by "%", like "25%"'
    return 'expected a whole number like "3" or a percentage like "25%"'


def is_percent(value: str | int) -> bool:
    """True for a valid percentage like "25%"; False for integers and invalid values."""
    return isinstance(value, str) and _PERCENT.fullmatch(value) is not None


def scaled_value(value: str | int, total: int, round_up: bool) -> int:
    """Kubernetes' GetScaledValueFromIntOrPercent.

    An integer is returned as is; a percentage is taken of `total` and rounded up
    or down ("25%" of 10 is 3 rounded up, 2 rounded down).
    """
    parsed = parse(value)
    if isinstance(parsed, int):
        return parsed
    # Integer arithmetic: no float error at the boundaries (e.g. 29% of 100).
    if round_up:
        return -(-total * parsed.value // 100)
    return total * parsed.value // 100


def validate(
    value: str | int, *, allow_percent: bool = True, max_percent: int | None = 100
) -> str | None:
    """An error message for an invalid value, or None when it is fine."""
    try:
        parsed = parse(value)
    except InvalidIntOrPercent as error:
        if not allow_percent and isinstance(value, str) and value.endswith("%"):
            return f'"{value}" is not allowed here: expected a whole number, not a percentage'
        return str(error)
    if isinstance(parsed, Percent):
        if not allow_percent:
            return f'"{value}" is not allowed here: expected a whole number, not a percentage'
        if max_percent is not None and parsed.value > max_percent:
            return f'"{value}" is more than {max_percent}%'
    return None
