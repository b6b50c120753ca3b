"""Validation of the apps group (corral/api/validation/apps.py): Deployments and
ReplicaSets.

Each case changes one field of a minimal valid manifest (tests/unit/validation_builders.py).
"""

from __future__ import annotations

import pytest

from corral.api import validation
from tests.unit.validation_builders import (
    T,
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
        "Deployment",
        set_("spec.strategy.rollingUpdate", {"maxSurge": "200%", "maxUnavailable": "0"}),
        id="surge above 100%",
    ),
    pytest.param("Deployment", set_("spec.strategy", {"type": "Recreate"}), id="recreate"),
    pytest.param("Deployment", set_("spec.replicas", 0), id="zero replicas"),
    pytest.param(
        "Deployment",
        set_(
            "spec.selector",
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]},
        ),
        id="selector with expressions",
    ),
]


@pytest.mark.parametrize(("kind", "mutation"), VALID)
def test_valid_variants_pass(kind, mutation):
    assert [str(e) for e in validation.validate(build(kind, mutation))] == []


INVALID = [
    case(
        "deployment replicas negative",
        "Deployment",
        set_("spec.replicas", -1),
        "spec.replicas",
        "at least 0, got -1",
    ),
    case(
        "deployment selector missing",
        "Deployment",
        delete("spec.selector"),
        "spec.selector",
        "required",
    ),
    case(
        "deployment selector empty",
        "Deployment",
        set_("spec.selector", {}),
        "spec.selector",
        "non-empty",
    ),
    case(
        "deployment selector mismatch",
        "Deployment",
        set_("spec.selector.matchLabels", {"app": "api"}),
        "spec.template.metadata.labels",
        "selector does not match template labels",
    ),
    case(
        "deployment selector operator invalid",
        "Deployment",
        set_(
            "spec.selector",
            {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["web"]}]},
        ),
        "spec.selector.matchExpressions[0].operator",
        'unsupported value "Equals"',
    ),
    case(
        "deployment template label invalid",
        "Deployment",
        set_("spec.template.metadata.labels", {"app": "web", "bad key": "x"}),
        "spec.template.metadata.labels",
        "not a valid label key",
    ),
    case(
        "deployment template restart policy",
        "Deployment",
        set_(f"{T}.restartPolicy", "Never"),
        f"{T}.restartPolicy",
        'must be "Always"',
    ),
    case(
        "deployment template image missing",
        "Deployment",
        delete(f"{T}.containers[0].image"),
        f"{T}.containers[0].image",
        "required",
    ),
    case(
        "deployment template port invalid",
        "Deployment",
        set_(
            f"{T}.containers[0].ports", [{"containerPort": 80}, {"containerPort": 0, "hostPort": 1}]
        ),
        f"{T}.containers[0].ports[1].containerPort",
        "required",
    ),
    case(
        "strategy type invalid",
        "Deployment",
        set_("spec.strategy.type", "BlueGreen"),
        "spec.strategy.type",
        'unsupported value "BlueGreen"',
    ),
    case(
        "recreate with rolling update",
        "Deployment",
        set_("spec.strategy", {"type": "Recreate", "rollingUpdate": {"maxSurge": "1"}}),
        "spec.strategy.rollingUpdate",
        'may not be specified when strategy type is "Recreate"',
    ),
    case(
        "max surge invalid",
        "Deployment",
        set_("spec.strategy.rollingUpdate.maxSurge", "lots"),
        "spec.strategy.rollingUpdate.maxSurge",
        '"lots" is not an integer or a percentage',
    ),
    case(
        "max unavailable above 100%",
        "Deployment",
        set_("spec.strategy.rollingUpdate.maxUnavailable", "150%"),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "more than 100%",
    ),
    case(
        "max surge and unavailable zero",
        "Deployment",
        set_("spec.strategy.rollingUpdate", {"maxSurge": "0", "maxUnavailable": "0%"}),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "may not be 0 when maxSurge is 0",
    ),
    case(
        "min ready seconds negative",
        "Deployment",
        set_("spec.minReadySeconds", -1),
        "spec.minReadySeconds",
        "at least 0",
    ),
    case(
        "revision history negative",
        "Deployment",
        set_("spec.revisionHistoryLimit", -1),
        "spec.revisionHistoryLimit",
        "at least 0",
    ),
    case(
        "progress deadline not above min ready",
        "Deployment",
        both(set_("spec.minReadySeconds", 600), set_("spec.progressDeadlineSeconds", 600)),
        "spec.progressDeadlineSeconds",
        "must be greater than minReadySeconds (600), got 600",
    ),
    case(
        "replica set replicas negative",
        "ReplicaSet",
        set_("spec.replicas", -2),
        "spec.replicas",
        "at least 0",
    ),
    case(
        "replica set selector mismatch",
        "ReplicaSet",
        set_("spec.template.metadata.labels", {"app": "api"}),
        "spec.template.metadata.labels",
        "selector does not match template labels",
    ),
    case(
        "replica set restart policy",
        "ReplicaSet",
        set_(f"{T}.restartPolicy", "OnFailure"),
        f"{T}.restartPolicy",
        'must be "Always"',
    ),
    case(
        "replica set without containers",
        "ReplicaSet",
        set_(f"{T}.containers", []),
        f"{T}.containers",
        "at least one container",
    ),
]


@pytest.mark.parametrize(("kind", "mutation", "path", "message"), INVALID)
def test_invalid_object_is_refused_naming_the_field(kind, mutation, path, message):
    assert_has_error(validation.validate(build(kind, mutation)), path, message)


UPDATES_ALLOWED = [
    # (kind, old mutation, new mutation)
    pytest.param("Deployment", None, set_("spec.replicas", 3), id="deployment replicas"),
    pytest.param(
        "Deployment",
        None,
        set_(f"{T}.containers[0].image", "corral/busybox:2"),
        id="deployment template",
    ),
]


@pytest.mark.parametrize(("kind", "old_mutation", "new_mutation"), UPDATES_ALLOWED)
def test_allowed_updates_pass(kind, old_mutation, new_mutation):
    assert [str(e) for e in validate_update(kind, old_mutation, new_mutation)] == []


UPDATES_REFUSED = [
    # (kind, old mutation, new mutation, path, message)
    pytest.param(
        "Deployment",
        None,
        both(
            set_("spec.selector.matchLabels", {"app": "web", "v": "2"}),
            set_("spec.template.metadata.labels", {"app": "web", "v": "2"}),
        ),
        "spec.selector",
        "field is immutable",
        id="deployment selector",
    ),
    pytest.param(
        "ReplicaSet",
        None,
        set_("spec.selector", {"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
        "spec.selector",
        "field is immutable",
        id="replica set selector",
    ),
]


@pytest.mark.parametrize(
    ("kind", "old_mutation", "new_mutation", "path", "message"), UPDATES_REFUSED
)
def test_refused_updates_name_the_field(kind, old_mutation, new_mutation, path, message):
    assert_has_error(validate_update(kind, old_mutation, new_mutation), path, message)
