"""Validation of the rules every group shares (corral/api/validation/common.py): object
metadata, names, labels, annotations and owner references.

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
    validate_update,
)

VALID = [
    pytest.param(
        "Pod",
        both(delete("metadata.name"), set_("metadata.generateName", "web-")),
        id="generateName",
    ),
    pytest.param("Service", set_("metadata.name", "w" * 63), id="63-character service name"),
    pytest.param("ConfigMap", set_("metadata.name", "a." * 126 + "a"), id="253-character name"),
]


@pytest.mark.parametrize(("kind", "mutation"), VALID)
def test_valid_variants_pass(kind, mutation):
    assert [str(e) for e in validation.validate(build(kind, mutation))] == []


INVALID = [
    case(
        "name invalid",
        "Pod",
        set_("metadata.name", "Web_1"),
        "metadata.name",
        '"Web_1" is not a valid name',
    ),
    case("name missing", "Pod", delete("metadata.name"), "metadata.name", "required"),
    case(
        "name too long",
        "ConfigMap",
        set_("metadata.name", "a" * 254),
        "metadata.name",
        "no more than 253 characters",
    ),
    case(
        "generateName invalid",
        "Pod",
        both(delete("metadata.name"), set_("metadata.generateName", "Web-")),
        "metadata.generateName",
        "not a valid name prefix",
    ),
    case(
        "namespace name with a dot",
        "Namespace",
        set_("metadata.name", "team.a"),
        "metadata.name",
        "alphanumeric characters or '-'",
    ),
    case(
        "service name starts with a digit",
        "Service",
        set_("metadata.name", "1web"),
        "metadata.name",
        "must start with an alphabetic character",
    ),
    case(
        "service name too long",
        "Service",
        set_("metadata.name", "w" * 64),
        "metadata.name",
        "no more than 63",
    ),
    case(
        "namespace invalid",
        "Pod",
        set_("metadata.namespace", "Team"),
        "metadata.namespace",
        '"Team" is not a valid namespace',
    ),
    case(
        "namespace on a cluster-scoped kind",
        "Node",
        set_("metadata.namespace", "default"),
        "metadata.namespace",
        "Node is not a namespaced kind",
    ),
    case(
        "label key invalid",
        "Pod",
        set_("metadata.labels", {"bad key": "x"}),
        "metadata.labels",
        "not a valid label key",
    ),
    case(
        "label value invalid",
        "Pod",
        set_("metadata.labels", {"app": "-web"}),
        "metadata.labels",
        "not a valid label value",
    ),
    case(
        "annotation key invalid",
        "Pod",
        set_("metadata.annotations", {"a/b/c": "x"}),
        "metadata.annotations",
        '"a/b/c" is not a valid annotation key',
    ),
    case(
        "annotations too large",
        "Pod",
        set_("metadata.annotations", {"big": "x" * 262_142}),
        "metadata.annotations",
        "total size 262145 bytes",
    ),
    case(
        "owner reference without uid",
        "Pod",
        set_(
            "metadata.ownerReferences",
            [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web"}],
        ),
        "metadata.ownerReferences[0].uid",
        "required",
    ),
    case(
        "owner reference without kind",
        "Pod",
        set_("metadata.ownerReferences", [{"apiVersion": "v1", "name": "a", "uid": "u"}]),
        "metadata.ownerReferences[0].kind",
        "required",
    ),
    case(
        "two controller owners",
        "Pod",
        set_(
            "metadata.ownerReferences",
            [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "a",
                    "uid": "1",
                    "controller": True,
                },
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "b",
                    "uid": "2",
                    "controller": True,
                },
            ],
        ),
        "metadata.ownerReferences",
        "only one reference may have controller set to true; "
        "found it in ReplicaSet/a, ReplicaSet/b",
    ),
    case(
        "finalizer invalid",
        "Pod",
        set_("metadata.finalizers", ["no spaces"]),
        "metadata.finalizers[0]",
        "not a valid finalizer name",
    ),
]


@pytest.mark.parametrize(("kind", "mutation", "path", "message"), INVALID)
def test_invalid_object_is_refused_naming_the_field(kind, mutation, path, message):
    assert_has_error(validation.validate(build(kind, mutation)), path, message)


UPDATES_REFUSED = [
    # (kind, old mutation, new mutation, path, message)
    pytest.param(
        "Pod",
        None,
        set_("metadata.name", "api"),
        "metadata.name",
        "field is immutable",
        id="pod renamed",
    ),
    pytest.param(
        "Pod",
        None,
        set_("metadata.namespace", "other"),
        "metadata.namespace",
        "field is immutable",
        id="pod moved",
    ),
]


@pytest.mark.parametrize(
    ("kind", "old_mutation", "new_mutation", "path", "message"), UPDATES_REFUSED
)
def test_refused_updates_name_the_field(kind, old_mutation, new_mutation, path, message):
    assert_has_error(validate_update(kind, old_mutation, new_mutation), path, message)
