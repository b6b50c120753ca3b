"""The validation package's entry points (corral/api/validation/__init__.py): `validate`
and `check` on any kind, the kind dispatch, FieldError.

The rules of each API group are tested in test_validation_<group>.py.
"""

from __future__ import annotations

import pytest

from corral.api import validation
from corral.api.errors import Invalid
from tests.unit.validation_builders import BASE, C, both, build, delete, set_


@pytest.mark.parametrize("kind", BASE)
def test_minimal_object_of_each_kind_is_valid(kind):
    assert validation.validate(build(kind)) == []


# ------------------------------------------------------------- whole object


def test_every_problem_is_reported_not_just_the_first():
    pod = build(
        "Pod",
        both(
            set_("metadata.name", "Web"),
            delete(f"{C}.image"),
            set_("spec.restartPolicy", "Sometimes"),
        ),
    )
    paths = [e.path for e in validation.validate(pod)]
    assert paths == ["metadata.name", f"{C}.image", "spec.restartPolicy"]


def test_check_raises_invalid_starting_with_the_first_field():
    pod = build("Pod", both(set_("metadata.name", "Web_1"), delete(f"{C}.image")))
    with pytest.raises(Invalid) as raised:
        validation.check(pod)
    assert raised.value.field == "metadata.name"
    assert raised.value.message == (
        'metadata.name: "Web_1" is not a valid name: must consist of lower case alphanumeric '
        "characters, '-' or '.', and must start and end with an alphanumeric character; "
        f"{C}.image: required"
    )


def test_check_returns_quietly_for_a_valid_object():
    validation.check(build("Deployment"))


def test_validation_applies_defaults_to_a_copy_only():
    pod = build("Pod")
    before = pod.SerializeToString()
    assert validation.validate(pod) == []
    assert pod.SerializeToString() == before


def test_field_error_prints_path_then_message():
    assert str(validation.FieldError("spec.replicas", "must be at least 0, got -1")) == (
        "spec.replicas: must be at least 0, got -1"
    )
