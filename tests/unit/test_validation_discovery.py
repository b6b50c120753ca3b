"""Validation of the discovery group (corral/api/validation/discovery.py): EndpointSlices.

Each case changes one field of a minimal valid manifest (tests/unit/validation_builders.py).
"""

from __future__ import annotations

import pytest

from corral.api import validation
from tests.unit.validation_builders import assert_has_error, build, case, set_

VALID = [
    pytest.param("EndpointSlice", set_("endpoints", []), id="no endpoints yet"),
    pytest.param("EndpointSlice", set_("ports", [{"protocol": "UDP", "port": 53}]),
                 id="one unnamed port"),
    pytest.param("EndpointSlice", set_("endpoints[0].conditions",
                                       {"ready": False, "serving": True, "terminating": True}),
                 id="terminating but serving"),
]


@pytest.mark.parametrize(("kind", "mutation"), VALID)
def test_valid_variants_pass(kind, mutation):
    assert [str(e) for e in validation.validate(build(kind, mutation))] == []


INVALID = [
    case("address type unknown", "EndpointSlice", set_("addressType", "IPv5"),
         "addressType", "unsupported value"),
    case("endpoint without addresses", "EndpointSlice", set_("endpoints[0].addresses", []),
         "endpoints[0].addresses", "must have 1 to 100 addresses"),
    case("IPv6 address in an IPv4 slice", "EndpointSlice",
         set_("endpoints[0].addresses", ["fd00::5"]),
         "endpoints[0].addresses[0]", 'is not an IPv4 address'),
    case("port number out of range", "EndpointSlice", set_("ports[0].port", 70000),
         "ports[0].port", "between 1 and 65535"),
    case("duplicate port names", "EndpointSlice",
         set_("ports", [{"name": "http", "port": 80, "protocol": "TCP"},
                        {"name": "http", "port": 81, "protocol": "TCP"}]),
         "ports[1].name", 'duplicate port name "http"'),
    case("too many endpoints", "EndpointSlice",
         set_("endpoints", [{"addresses": ["10.0.0.1"]}] * 1001),
         "endpoints", "at most 1000 endpoints"),
]


@pytest.mark.parametrize(("kind", "mutation", "path", "message"), INVALID)
def test_invalid_object_is_refused_naming_the_field(kind, mutation, path, message):
    assert_has_error(validation.validate(build(kind, mutation)), path, message)
