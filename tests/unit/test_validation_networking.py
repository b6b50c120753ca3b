"""Validation of the networking group (corral/api/validation/networking.py): Ingresses.

Each case changes one field of a minimal valid manifest (tests/unit/validation_builders.py).
"""

from __future__ import annotations

import pytest

from corral.api import validation
from tests.unit.validation_builders import (
    assert_has_error,
    both,
    build,
    case,
    delete,
    set_,
)

VALID = [
    pytest.param("Ingress", set_("spec.rules[0].host", "*.example.com"), id="wildcard host"),
    pytest.param(
        "Ingress",
        set_("spec", {"defaultBackend": {"service": {"name": "web", "port": {"name": "http"}}}}),
        id="default backend only",
    ),
]


@pytest.mark.parametrize(("kind", "mutation"), VALID)
def test_valid_variants_pass(kind, mutation):
    assert [str(e) for e in validation.validate(build(kind, mutation))] == []


INVALID = [
    case(
        "ingress host invalid",
        "Ingress",
        set_("spec.rules[0].host", "Web.example.com"),
        "spec.rules[0].host",
        '"Web.example.com" is not a valid host',
    ),
    case(
        "ingress wildcard not first",
        "Ingress",
        set_("spec.rules[0].host", "web.*.com"),
        "spec.rules[0].host",
        "not a valid host",
    ),
    case(
        "ingress path type missing",
        "Ingress",
        delete("spec.rules[0].http.paths[0].pathType"),
        "spec.rules[0].http.paths[0].pathType",
        "required",
    ),
    case(
        "ingress path type invalid",
        "Ingress",
        set_("spec.rules[0].http.paths[0].pathType", "Regex"),
        "spec.rules[0].http.paths[0].pathType",
        'unsupported value "Regex"',
    ),
    case(
        "ingress prefix path relative",
        "Ingress",
        set_("spec.rules[0].http.paths[0].path", "api"),
        "spec.rules[0].http.paths[0].path",
        "must be an absolute path for pathType Prefix",
    ),
    case(
        "ingress exact path empty",
        "Ingress",
        both(
            delete("spec.rules[0].http.paths[0].path"),
            set_("spec.rules[0].http.paths[0].pathType", "Exact"),
        ),
        "spec.rules[0].http.paths[0].path",
        "absolute path",
    ),
    case(
        "ingress paths empty",
        "Ingress",
        set_("spec.rules[0].http.paths", []),
        "spec.rules[0].http.paths",
        "at least one path",
    ),
    case(
        "ingress backend service name missing",
        "Ingress",
        delete("spec.rules[0].http.paths[0].backend.service.name"),
        "spec.rules[0].http.paths[0].backend.service.name",
        "required",
    ),
    case(
        "ingress backend without service",
        "Ingress",
        set_("spec.rules[0].http.paths[0].backend", {}),
        "spec.rules[0].http.paths[0].backend.service",
        "required",
    ),
    case(
        "ingress backend port name and number",
        "Ingress",
        set_("spec.rules[0].http.paths[0].backend.service.port", {"name": "http", "number": 80}),
        "spec.rules[0].http.paths[0].backend.service.port",
        "exactly one of name or number",
    ),
    case(
        "ingress backend port missing",
        "Ingress",
        set_("spec.rules[0].http.paths[0].backend.service.port", {}),
        "spec.rules[0].http.paths[0].backend.service.port",
        "required",
    ),
    case(
        "ingress backend port too big",
        "Ingress",
        set_("spec.rules[0].http.paths[0].backend.service.port", {"number": 70000}),
        "spec.rules[0].http.paths[0].backend.service.port.number",
        "between 1 and 65535",
    ),
    case(
        "ingress without rules or backend",
        "Ingress",
        set_("spec", {}),
        "spec",
        "either defaultBackend or rules",
    ),
    case(
        "ingress tls host invalid",
        "Ingress",
        set_("spec.tls", [{"hosts": ["bad_host"], "secretName": "tls"}]),
        "spec.tls[0].hosts[0]",
        "not a valid host",
    ),
]


@pytest.mark.parametrize(("kind", "mutation", "path", "message"), INVALID)
def test_invalid_object_is_refused_naming_the_field(kind, mutation, path, message):
    assert_has_error(validation.validate(build(kind, mutation)), path, message)
