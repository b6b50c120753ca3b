"""Kubernetes resource quantities: "250m", "0.5", "128Mi", "1e3".

The grammar is Kubernetes' own:

    quantity ::= [sign] number [suffix]
    number   ::= digits | digits "." [digits] | "." digits
    suffix   ::= binary SI   Ki Mi Gi Ti Pi Ei            (powers of 1024)
               | decimal SI  n u m "" k M G T P E         (powers of 1000)
               | exponent    ("e" | "E") [sign] digits    (powers of 10)

`parse` gives the exact value as a Decimal. The scheduler and the agents compare
resources as integers, the way Kubernetes does: cpu in millicores, everything
else (memory bytes, pod counts) as a whole number, both rounded *up* so that a
request never shrinks when it is converted.
"""

from __future__ import annotations

import decimal
import functools
import math
import re
from decimal import Decimal


class InvalidQuantity(ValueError):
    """A string that is not a quantity, or a negative one where that is not allowed."""


_BINARY_SUFFIXES: dict[str, int] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
# Power of ten of each decimal SI suffix.
_DECIMAL_SUFFIXES: dict[str, int] = {
    "n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18,
}
_SUFFIX_HINT = "use m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent like 1e3"

_SHAPE = re.compile(r"([+-]?)([0-9.]*)(.*)", re.DOTALL)
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)")

# Bounds that keep arithmetic on hostile input cheap; real quantities are far inside them.
_MAX_DIGITS = 64
_MAX_EXPONENT = 64
# Enough precision that every multiplication below is exact: at most 64 digits of
# number times 2**60 (19 digits); an inexact result would be a bug, so it traps.
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


@functools.lru_cache(maxsize=4096)  # the same few quantities, parsed on every write
def parse(text: str) -> Decimal:
    """The exact value of a quantity; a sign is allowed (see `to_int` for ≥ 0)."""
    number, suffix = _split(text)
    value = Decimal(number)
    if suffix in _BINARY_SUFFIXES:
        return _EXACT.multiply(value, Decimal(_BINARY_SUFFIXES[suffix]))
    if suffix in _DECIMAL_SUFFIXES:
        return value.scaleb(_DECIMAL_SUFFIXES[suffix], _EXACT)
    exponent = int(suffix[1:])
    if abs(exponent) > _MAX_EXPONENT:
        raise InvalidQuantity(
            f'"{text}" is not a quantity: exponent {exponent} is out of range '
            f"(-{_MAX_EXPONENT} to {_MAX_EXPONENT})"
        )
    return value.scaleb(exponent, _EXACT)


def _split(text: str) -> tuple[str, str]:
    """Check the shape of `text`; return (signed number, suffix)."""
    def invalid(why: str) -> InvalidQuantity:
        return InvalidQuantity(f'"{text}" is not a quantity: {why}')

    if not isinstance(text, str):
        raise InvalidQuantity(f'{text!r} is not a quantity: expected a string like "250m"')
    if text == "":
        raise invalid("it is empty")
    if any(c.isspace() for c in text):
        raise invalid("it contains whitespace")
    match = _SHAPE.fullmatch(text)
    assert match is not None  # the pattern matches every string
    sign, number, suffix = match.groups()
    if number.count(".") > 1:
        raise invalid("more than one decimal point")
    if number.strip(".") == "":
        if suffix.startswith(("+", "-")):
            raise invalid("more than one sign")
        where = f' before the suffix "{suffix}"' if suffix else ""
        raise invalid(f"expected a number{where}, like 250m, 0.5 or 128Mi")
    if sum(c.isdigit() for c in number) > _MAX_DIGITS:
        raise invalid(f"more than {_MAX_DIGITS} digits")
    if suffix in _BINARY_SUFFIXES or suffix in _DECIMAL_SUFFIXES or _EXPONENT.fullmatch(suffix):
        return sign + number, suffix
    if suffix[0] in "eE" and (suffix == "e" or suffix[1] in "+-.0123456789"):
        raise invalid(f'bad exponent "{suffix}" (an exponent is a whole number, like 1e3 or 5e-1)')
    # "1mi", "1K": the right suffix with the wrong case.
    same_letters = [
        known for known in (*_DECIMAL_SUFFIXES, *_BINARY_SUFFIXES)
        if known and known.lower() == suffix.lower()
    ]
    did_you_mean = f'; did you mean "{same_letters[0]}"?' if same_letters else ""
    raise invalid(f'unknown suffix "{suffix}" ({_SUFFIX_HINT}){did_you_mean}')


def _non_negative(text: str) -> Decimal:
    value = parse(text)
    if value < 0:
        raise InvalidQuantity(f'"{text}" is negative: resource quantities must be 0 or more')
    return value


def cpu_millis(text: str) -> int:
    """Millicores, rounded up like Kubernetes: "0.0001" → 1, "250m" → 250, "2" → 2000."""
    return math.ceil(_non_negative(text).scaleb(3, _EXACT))


def to_int(text: str) -> int:
    """The value rounded up to a whole number: bytes for memory, a count for pods."""
    return math.ceil(_non_negative(text))


def resource_value(resource: str, text: str) -> int:
    """How the scheduler compares a resource: cpu in millicores, anything else as an integer."""
    return cpu_millis(text) if resource == "cpu" else to_int(text)


def format_millis(millis: int) -> str:
    """Millicores as a quantity: whole cores without a suffix ("2"), else "250m"."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_bytes(n: int) -> str:
    """Bytes with the largest binary suffix that divides exactly: "128Mi", "1Gi", "1500"."""
    if n != 0:
        for suffix, size in reversed(_BINARY_SUFFIXES.items()):
            if n % size == 0:
                return f"{n // size}{suffix}"
    return str(n)


def canonical(text: str) -> str:
    """One string per value, in the spirit of Kubernetes' canonical form.

    - A quantity written with a binary suffix stays binary when it is a whole
      number of at least 1Ki in absolute value: the largest binary suffix that
      divides it exactly ("1.5Gi" → "1536Mi", "2048Ki" → "2Mi").
    - Everything else is written with a decimal SI suffix: the largest power
      of 1000 that leaves a whole mantissa ("1000m" → "1", "0.5" → "500m",
      "1e3" → "1k", "1500" → "1500", "0.5Ki" → "512").
    - Values finer than a nano are rounded up to the next nano ("0.1n" → "1n"),
      as Kubernetes does.
    """
    _, suffix = _split(text)
    value = parse(text)
    if suffix in _BINARY_SUFFIXES and value == value.to_integral_value() and abs(value) >= 1024:
        return format_bytes(int(value))
    nanos = math.ceil(value.scaleb(9, _EXACT))
    if nanos == 0:
        return "0"
    # Decimal suffixes from the largest down; pick the first that divides exactly.
    for suffix_name, power in sorted(_DECIMAL_SUFFIXES.items(), key=lambda item: -item[1]):
        unit = 10 ** (power + 9)
        if nanos % unit == 0:
            return f"{nanos // unit}{suffix_name}"
    raise AssertionError("unreachable: 1n divides every whole number of nanos")
