import pytest

from corral.api import intstr
from corral.api.intstr import InvalidIntOrPercent, Percent


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("3", 3),
        ("0", 0),
        ("007", 7),
        ("25%", Percent(25)),
        ("0%", Percent(0)),
        ("100%", Percent(100)),
        ("150%", Percent(150)),  # parse accepts it; validate decides the limit
        (3, 3),
        ("2147483647", 2**31 - 1),
    ],
)
def test_parse_gives_an_int_or_a_percent(value, parsed):
    result = intstr.parse(value)
    assert result == parsed
    assert type(result) is type(parsed)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", '"" is not an integer or a percentage: it is empty'),
        ("-1", '"-1" is not an integer or a percentage: it must not be negative'),
        ("-5%", "it must not be negative"),
        ("25.5%", 'a percentage must be a whole number followed by "%", like "25%"'),
        ("abc%", "a percentage must be a whole number"),
        ("%", 'a percentage needs a number before "%", like "25%"'),
        ("abc", 'expected a whole number like "3" or a percentage like "25%"'),
        ("1.5", "expected a whole number"),
        (" 3", "expected a whole number"),
        ("3 ", "expected a whole number"),
        ("25 %", "a percentage must be a whole number"),
        ("+3", "expected a whole number"),
        ("2147483648", '"2147483648" is out of range (0 to 2147483647)'),
        (-1, "-1 is out of range (0 to 2147483647)"),
        (True, "True is not an integer or a percentage"),
    ],
)
def test_parse_rejects_invalid_values_saying_why(value, message):
    with pytest.raises(InvalidIntOrPercent) as raised:
        intstr.parse(value)
    assert message in str(raised.value)


def test_percent_prints_with_a_percent_sign():
    assert str(Percent(25)) == "25%"


def test_invalid_int_or_percent_is_a_value_error():
    assert issubclass(InvalidIntOrPercent, ValueError)


@pytest.mark.parametrize(
    ("value", "total", "round_up", "scaled"),
    [
        ("25%", 10, True, 3),
        ("25%", 10, False, 2),
        ("0%", 10, True, 0),
        ("0%", 10, False, 0),
        ("100%", 7, True, 7),
        ("100%", 7, False, 7),
        ("3", 10, True, 3),
        ("3", 10, False, 3),
        ("3", 0, True, 3),  # an int does not depend on the total
        ("50%", 0, True, 0),
        ("1%", 1, True, 1),
        ("1%", 1, False, 0),
        ("29%", 100, False, 29),  # integer arithmetic: no 28.999... from floats
        ("200%", 3, False, 6),
        ("33%", 3, True, 1),
        (5, 10, False, 5),
    ],
)
def test_scaled_value_matches_kubernetes(value, total, round_up, scaled):
    assert intstr.scaled_value(value, total, round_up) == scaled


def test_scaled_value_rejects_an_invalid_value():
    with pytest.raises(InvalidIntOrPercent, match='"abc" is not an integer or a percentage'):
        intstr.scaled_value("abc", 10, True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("25%", True), ("0%", True), ("3", False), ("", False), ("%", False), ("2.5%", False),
        (3, False),
    ],
)
def test_is_percent(value, expected):
    assert intstr.is_percent(value) is expected


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        ("3", {}, None),
        ("25%", {}, None),
        ("100%", {}, None),
        ("0", {}, None),
        ("101%", {}, '"101%" is more than 100%'),
        ("150%", {"max_percent": None}, None),
        ("150%", {"max_percent": 200}, None),
        ("250%", {"max_percent": 200}, '"250%" is more than 200%'),
        ("25%", {"allow_percent": False}, '"25%" is not allowed here: expected a whole number'),
        ("2.5%", {"allow_percent": False}, "expected a whole number, not a percentage"),
        ("8080", {"allow_percent": False}, None),
        ("abc", {}, '"abc" is not an integer or a percentage'),
        ("", {}, "it is empty"),
        ("-1", {}, "it must not be negative"),
    ],
)
def test_validate_returns_a_message_or_none(value, kwargs, message):
    result = intstr.validate(value, **kwargs)
    if message is None:
        assert result is None
    else:
        assert result is not None
        assert message in result
