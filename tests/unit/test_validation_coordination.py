"""Validation of the coordination group (corral/api/validation/coordination.py): Leases.

Each case changes one field of a minimal valid manifest (tests/unit/validation_builders.py).
"""

from __future__ import annotations

import pytest

from corral.api import validation
from tests.unit.validation_builders import (
    assert_has_error,
    build,
    case,
    set_,
)

VALID = [
    pytest.param("Lease", set_("spec", {}), id="released lease"),
]


@pytest.mark.parametrize(("kind", "mutation"), VALID)
def test_valid_variants_pass(kind, mutation):
    assert [str(e) for e in validation.validate(build(kind, mutation))] == []


INVALID = [
    case(
        "lease duration zero with holder",
        "Lease",
        set_("spec.leaseDurationSeconds", 0),
        "spec.leaseDurationSeconds",
        "greater than 0 when holderIdentity is set",
    ),
    case(
        "lease duration negative",
        "Lease",
        set_("spec", {"leaseDurationSeconds": -1}),
        "spec.leaseDurationSeconds",
        "must be 0 or more",
    ),
    case(
        "lease transitions negative",
        "Lease",
        set_("spec.leaseTransitions", -1),
        "spec.leaseTransitions",
        "at least 0",
    ),
]


@pytest.mark.parametrize(("kind", "mutation", "path", "message"), INVALID)
def test_invalid_object_is_refused_naming_the_field(kind, mutation, path, message):
    assert_has_error(validation.validate(build(kind, mutation)), path, message)
