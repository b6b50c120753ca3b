"""Validation of the autoscaling group (corral/api/validation/autoscaling.py):
HorizontalPodAutoscalers.

Each case changes one field of a minimal valid manifest (tests/unit/validation_builders.py).
"""

from __future__ import annotations

import pytest

from corral.api import validation
from tests.unit.validation_builders import (
    assert_has_error,
    build,
    case,
    delete,
    set_,
)

VALID = [
    pytest.param(
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "100Mi"},
                    },
                },
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "qps"},
                        "target": {"type": "AverageValue", "averageValue": "10"},
                    },
                },
                {
                    "type": "Object",
                    "object": {
                        "describedObject": {"kind": "Ingress", "name": "web"},
                        "metric": {"name": "hits"},
                        "target": {"type": "Value", "value": "1k"},
                    },
                },
                {
                    "type": "External",
                    "external": {
                        "metric": {"name": "queue"},
                        "target": {"type": "Value", "value": "30"},
                    },
                },
                {
                    "type": "ContainerResource",
                    "containerResource": {
                        "name": "cpu",
                        "container": "web",
                        "target": {"type": "Utilization", "averageUtilization": 60},
                    },
                },
            ],
        ),
        id="every metric type",
    ),
    pytest.param(
        "HorizontalPodAutoscaler",
        set_(
            "spec.behavior",
            {
                "scaleDown": {"selectPolicy": "Disabled"},
                "scaleUp": {
                    "stabilizationWindowSeconds": 3600,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 1800}],
                },
            },
        ),
        id="behavior",
    ),
]


@pytest.mark.parametrize(("kind", "mutation"), VALID)
def test_valid_variants_pass(kind, mutation):
    assert [str(e) for e in validation.validate(build(kind, mutation))] == []


INVALID = [
    case(
        "hpa target kind missing",
        "HorizontalPodAutoscaler",
        delete("spec.scaleTargetRef.kind"),
        "spec.scaleTargetRef.kind",
        "required",
    ),
    case(
        "hpa target name missing",
        "HorizontalPodAutoscaler",
        delete("spec.scaleTargetRef.name"),
        "spec.scaleTargetRef.name",
        "required",
    ),
    case(
        "hpa max replicas zero",
        "HorizontalPodAutoscaler",
        set_("spec.maxReplicas", 0),
        "spec.maxReplicas",
        "at least 1",
    ),
    case(
        "hpa max below min",
        "HorizontalPodAutoscaler",
        set_("spec.minReplicas", 6),
        "spec.maxReplicas",
        "greater than or equal to minReplicas (6), got 5",
    ),
    case(
        "hpa min replicas zero",
        "HorizontalPodAutoscaler",
        set_("spec.minReplicas", 0),
        "spec.minReplicas",
        "at least 1",
    ),
    case(
        "metric type unknown",
        "HorizontalPodAutoscaler",
        set_("spec.metrics", [{"type": "Custom"}]),
        "spec.metrics[0].type",
        'unsupported value "Custom"',
    ),
    case(
        "metric source missing for type",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Pods",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        ),
        "spec.metrics[0].pods",
        'required when type is "Pods"',
    ),
    case(
        "metric source other than type",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Pods",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        ),
        "spec.metrics[0].resource",
        'must be empty when type is "Pods"',
    ),
    case(
        "utilization for pods metric",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "qps"},
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        ),
        "spec.metrics[0].pods.target.type",
        'unsupported value "Utilization": must be one of "AverageValue"',
    ),
    case(
        "average utilization zero",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 0},
                    },
                }
            ],
        ),
        "spec.metrics[0].resource.target.averageUtilization",
        "at least 1",
    ),
    case(
        "utilization without a value",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}],
        ),
        "spec.metrics[0].resource.target.averageUtilization",
        "required",
    ),
    case(
        "average value invalid",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "lots"},
                    },
                }
            ],
        ),
        "spec.metrics[0].resource.target.averageValue",
        "not a quantity",
    ),
    case(
        "value target without value",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "External",
                    "external": {"metric": {"name": "q"}, "target": {"type": "Value"}},
                }
            ],
        ),
        "spec.metrics[0].external.target.value",
        "required",
    ),
    case(
        "resource metric without name",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Resource",
                    "resource": {"target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        ),
        "spec.metrics[0].resource.name",
        "required",
    ),
    case(
        "resource metric name unknown",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "gpu",
                        "target": {"type": "AverageValue", "averageValue": "1"},
                    },
                }
            ],
        ),
        "spec.metrics[0].resource.name",
        '"gpu" is not a valid resource name',
    ),
    case(
        "container resource without container",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "ContainerResource",
                    "containerResource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        ),
        "spec.metrics[0].containerResource.container",
        "required",
    ),
    case(
        "object metric without described object",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Object",
                    "object": {
                        "metric": {"name": "hits"},
                        "target": {"type": "Value", "value": "1"},
                    },
                }
            ],
        ),
        "spec.metrics[0].object.describedObject.kind",
        "required",
    ),
    case(
        "pods metric without name",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Pods",
                    "pods": {"metric": {}, "target": {"type": "AverageValue", "averageValue": "1"}},
                }
            ],
        ),
        "spec.metrics[0].pods.metric.name",
        "required",
    ),
    case(
        "policy type invalid",
        "HorizontalPodAutoscaler",
        set_(
            "spec.behavior.scaleUp.policies", [{"type": "Nodes", "value": 1, "periodSeconds": 15}]
        ),
        "spec.behavior.scaleUp.policies[0].type",
        'unsupported value "Nodes"',
    ),
    case(
        "policy value zero",
        "HorizontalPodAutoscaler",
        set_(
            "spec.behavior.scaleDown.policies", [{"type": "Pods", "value": 0, "periodSeconds": 15}]
        ),
        "spec.behavior.scaleDown.policies[0].value",
        "at least 1",
    ),
    case(
        "policy period too long",
        "HorizontalPodAutoscaler",
        set_(
            "spec.behavior.scaleUp.policies", [{"type": "Pods", "value": 1, "periodSeconds": 1801}]
        ),
        "spec.behavior.scaleUp.policies[0].periodSeconds",
        "between 1 and 1800",
    ),
    case(
        "stabilization window too long",
        "HorizontalPodAutoscaler",
        set_("spec.behavior.scaleDown.stabilizationWindowSeconds", 3601),
        "spec.behavior.scaleDown.stabilizationWindowSeconds",
        "between 0 and 3600",
    ),
    case(
        "select policy invalid",
        "HorizontalPodAutoscaler",
        set_("spec.behavior.scaleUp.selectPolicy", "Avg"),
        "spec.behavior.scaleUp.selectPolicy",
        '"Max", "Min", "Disabled"',
    ),
]


@pytest.mark.parametrize(("kind", "mutation", "path", "message"), INVALID)
def test_invalid_object_is_refused_naming_the_field(kind, mutation, path, message):
    assert_has_error(validation.validate(build(kind, mutation)), path, message)
