from decimal import Decimal
from typing import Any

import pytest

from corral.api import quantity
from corral.api.quantity import InvalidQuantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")),
        ("0.5", Decimal("0.5")),
        ("1", Decimal(1)),
        ("0", Decimal(0)),
        ("128Mi", Decimal(128 * 2**20)),
        ("1Ki", Decimal(1024)),
        ("1Gi", Decimal(2**30)),
        ("1Ti", Decimal(2**40)),
        ("1Pi", Decimal(2**50)),
        ("1Ei", Decimal(2**60)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("0.5Ki", Decimal(512)),
        ("1G", Decimal(10**9)),
        ("1k", Decimal(1000)),
        ("1M", Decimal(10**6)),
        ("1T", Decimal(10**12)),
        ("1P", Decimal(10**15)),
        ("1E", Decimal(10**18)),
        ("1n", Decimal("1e-9")),
        ("1u", Decimal("1e-6")),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("5e-1", Decimal("0.5")),
        ("1.5e+2", Decimal(150)),
        ("+1", Decimal(1)),
        ("-1", Decimal(-1)),
        ("-250m", Decimal("-0.25")),
        (".5", Decimal("0.5")),
        ("1.", Decimal(1)),
        ("007", Decimal(7)),
        ("0.0001", Decimal("0.0001")),
    ],
)
def test_parse_gives_the_exact_value(text, value):
    assert quantity.parse(text) == value


def test_parse_is_exact_for_long_numbers_with_big_suffixes():
    digits = "123456789012345678901234567890"
    assert quantity.parse(digits + "Ei") == Decimal(int(digits) * 2**60)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", '"" is not a quantity: it is empty'),
        (" 1", '" 1" is not a quantity: it contains whitespace'),
        ("1 Mi", '"1 Mi" is not a quantity: it contains whitespace'),
        ("1\n", "it contains whitespace"),
        ("1.2.3", '"1.2.3" is not a quantity: more than one decimal point'),
        ("Mi", '"Mi" is not a quantity: expected a number before the suffix "Mi"'),
        ("e3", 'expected a number before the suffix "e3"'),
        (".", '"." is not a quantity: expected a number, like 250m, 0.5 or 128Mi'),
        ("+", "expected a number"),
        ("--1", '"--1" is not a quantity: more than one sign'),
        ("+-1", "more than one sign"),
        (
            "12Xi",
            '"12Xi" is not a quantity: unknown suffix "Xi" (use m, k, M, G, T, P, E, Ki, Mi, '
            "Gi, Ti, Pi, Ei or an exponent like 1e3)",
        ),
        ("1mi", 'unknown suffix "mi" (use m, k'),
        ("1mi", 'did you mean "Mi"?'),
        ("1K", 'did you mean "k"?'),
        ("1g", 'did you mean "G"?'),
        ("1KI", 'did you mean "Ki"?'),
        ("1Mi2", 'unknown suffix "Mi2"'),
        ("1EiB", 'unknown suffix "EiB"'),
        ("1%", 'unknown suffix "%"'),
        ("1e", 'bad exponent "e"'),
        ("1e-", 'bad exponent "e-"'),
        ("1e1.5", 'bad exponent "e1.5" (an exponent is a whole number, like 1e3 or 5e-1)'),
        ("1e100", '"1e100" is not a quantity: exponent 100 is out of range (-64 to 64)'),
        ("1e-65", "exponent -65 is out of range"),
        ("1" * 65, "more than 64 digits"),
        ("٣", "expected a number"),  # a non-ASCII digit is not a digit of the grammar
    ],
)
def test_parse_rejects_invalid_text_saying_why(text, message):
    with pytest.raises(InvalidQuantity) as raised:
        quantity.parse(text)
    assert message in str(raised.value)


def test_parse_rejects_a_non_string():
    not_a_string: Any = 5  # what an untyped caller (a YAML document) may pass
    with pytest.raises(InvalidQuantity, match="expected a string"):
        quantity.parse(not_a_string)


def test_invalid_quantity_is_a_value_error():
    assert issubclass(InvalidQuantity, ValueError)


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("250m", 250),
        ("2", 2000),
        ("0.5", 500),
        ("0.0001", 1),  # rounded up, never down to 0
        ("1n", 1),
        ("1500u", 2),
        ("1.0001", 1001),
        ("0", 0),
        ("-0", 0),
        ("100m", 100),
        ("1k", 1_000_000),
        ("1e-3", 1),
    ],
)
def test_cpu_millis_rounds_up_to_whole_millicores(text, millis):
    assert quantity.cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("128Mi", 128 * 2**20),
        ("1G", 10**9),
        ("1.5", 2),
        ("100m", 1),
        ("0", 0),
        ("110", 110),
        ("1e3", 1000),
        ("0.5Ki", 512),
    ],
)
def test_to_int_rounds_up_to_a_whole_number(text, value):
    assert quantity.to_int(text) == value


@pytest.mark.parametrize("helper", [quantity.cpu_millis, quantity.to_int])
@pytest.mark.parametrize("text", ["-1", "-250m", "-1Mi"])
def test_resource_helpers_reject_negative_quantities(helper, text):
    with pytest.raises(InvalidQuantity) as raised:
        helper(text)
    assert str(raised.value) == f'"{text}" is negative: resource quantities must be 0 or more'


@pytest.mark.parametrize("helper", [quantity.cpu_millis, quantity.to_int])
def test_resource_helpers_reject_invalid_text(helper):
    with pytest.raises(InvalidQuantity, match='unknown suffix "Xi"'):
        helper("1Xi")


@pytest.mark.parametrize(
    ("resource", "text", "value"),
    [
        ("cpu", "250m", 250),
        ("cpu", "1", 1000),
        ("memory", "64Mi", 64 * 2**20),
        ("memory", "1500m", 2),
        ("pods", "110", 110),
        ("example.com/gpu", "2", 2),
    ],
)
def test_resource_value_uses_millicores_for_cpu_and_integers_otherwise(resource, text, value):
    assert quantity.resource_value(resource, text) == value


@pytest.mark.parametrize(
    ("millis", "text"),
    [
        (250, "250m"), (2000, "2"), (0, "0"), (1500, "1500m"), (1, "1m"), (1000, "1"),
        (-500, "-500m"),
    ],
)
def test_format_millis_writes_whole_cores_without_a_suffix(millis, text):
    assert quantity.format_millis(millis) == text
    assert quantity.cpu_millis(text.lstrip("-")) == abs(millis)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (128 * 2**20, "128Mi"),
        (2**30, "1Gi"),
        (1500, "1500"),
        (0, "0"),
        (1024, "1Ki"),
        (1536, "1536"),
        (3 * 2**29, "1536Mi"),
        (2**60, "1Ei"),
        (2048 * 2**60, "2048Ei"),
        (1, "1"),
    ],
)
def test_format_bytes_uses_the_largest_binary_suffix_that_divides(n, text):
    assert quantity.format_bytes(n) == text
    assert quantity.to_int(text) == n


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1000m", "1"),
        ("0.5", "500m"),
        ("1e3", "1k"),
        ("1500", "1500"),
        ("1200000", "1200k"),
        ("1.5Gi", "1536Mi"),
        ("2048Ki", "2Mi"),
        ("1024", "1024"),  # decimal input stays decimal
        ("0.5Ki", "512"),  # binary below 1Ki becomes decimal
        ("1Ki", "1Ki"),
        ("1.5Ki", "1536"),
        ("0", "0"),
        ("0Mi", "0"),
        ("-0", "0"),
        ("-1.5", "-1500m"),
        ("0.1n", "1n"),  # finer than a nano rounds up
        ("1n", "1n"),
        ("1500u", "1500u"),
        ("1000E", "1000E"),
        ("1e21", "1000E"),
        ("+2", "2"),
        ("250m", "250m"),
    ],
)
def test_canonical_gives_one_string_per_value(text, canonical):
    assert quantity.canonical(text) == canonical


@pytest.mark.parametrize("text", ["250m", "1.5Gi", "0.5", "1e3", "128Mi", "1n", "7"])
def test_canonical_preserves_the_value_and_is_idempotent(text):
    once = quantity.canonical(text)
    assert quantity.parse(once) == quantity.parse(text)
    assert quantity.canonical(once) == once


def test_canonical_rejects_invalid_text():
    with pytest.raises(InvalidQuantity, match="more than one decimal point"):
        quantity.canonical("1.2.3")
