"""Manifests of older apiVersions in the stored shape (corral.api.conversion): the
autoscaling/v1 HorizontalPodAutoscaler as autoscaling/v2."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from corral.api import conversion
from corral.api.v1 import autoscaling_pb2
from corral.cli.manifest import load_text, to_dict, to_object

MANIFESTS = Path(__file__).parent.parent / "manifests"

HPA_V1: dict[str, Any] = {
    "metadata": {"name": "api"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
        "maxReplicas": 10,
        "targetCPUUtilizationPercentage": 80,
    },
    "status": {"currentReplicas": 2, "currentCPUUtilizationPercentage": 95},
}


def read_int(value: Any, path: conversion.FieldPath) -> int:
    return int(value)


def convert_hpa_v1(
    body: dict[str, Any], read_int32: conversion.ReadInt32 = read_int
) -> conversion.Converted:
    return conversion.convert("HorizontalPodAutoscaler", "autoscaling/v1", body, read_int32)


def test_autoscaling_v1_cpu_target_becomes_a_v2_resource_metric() -> None:
    path = MANIFESTS / "valid" / "hpa-v1.yaml"
    (doc,) = load_text(path.read_text(), path.name)
    hpa, warnings = to_object(doc)
    assert isinstance(hpa, autoscaling_pb2.HorizontalPodAutoscaler)
    assert warnings == []
    manifest = to_dict(hpa)
    assert manifest["apiVersion"] == "autoscaling/v2"
    assert manifest["spec"] == {
        "scaleTargetRef": {"kind": "Deployment", "name": "api", "apiVersion": "apps/v1"},
        "minReplicas": 1,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80},
                },
            }
        ],
    }
    assert manifest["status"]["currentMetrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 95}}}
    ]
    assert manifest["status"]["desiredReplicas"] == 3


def test_cpu_percentages_become_resource_metrics_in_the_v2_body() -> None:
    converted = convert_hpa_v1(HPA_V1)
    assert converted.body == {
        "metadata": {"name": "api"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 80},
                    },
                }
            ],
        },
        "status": {
            "currentReplicas": 2,
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": 95}},
                }
            ],
        },
    }


def test_each_field_made_names_the_v1_field_it_came_from() -> None:
    assert convert_hpa_v1(HPA_V1).sources == {
        ("spec", "metrics"): ("spec", "targetCPUUtilizationPercentage"),
        ("status", "currentMetrics"): ("status", "currentCPUUtilizationPercentage"),
    }


def test_without_a_cpu_target_nothing_is_made() -> None:
    body = {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "maxReplicas": 3}}
    converted = convert_hpa_v1(body)
    assert converted.body == body
    assert converted.sources == {}


def test_the_manifest_given_is_left_as_it_was() -> None:
    body = copy.deepcopy(HPA_V1)
    convert_hpa_v1(body)
    assert body == HPA_V1


@pytest.mark.parametrize(
    ("section", "field"),
    [("spec", "metrics"), ("status", "currentMetrics"), ("spec", "behavior")],
)
def test_a_field_autoscaling_v1_does_not_have_is_refused_naming_it(
    section: str, field: str
) -> None:
    body = copy.deepcopy(HPA_V1)
    body[section][field] = []
    with pytest.raises(conversion.ConversionError) as raised:
        convert_hpa_v1(body)
    assert raised.value.path == (section, field)
    assert raised.value.message == "unknown field in autoscaling/v1"


def test_percentages_are_read_by_the_caller_at_their_v1_path() -> None:
    class NotAnInteger(Exception):
        pass

    def read_int32(value: Any, path: conversion.FieldPath) -> int:
        raise NotAnInteger(path, value)

    body = copy.deepcopy(HPA_V1)
    body["spec"]["targetCPUUtilizationPercentage"] = "80%"
    with pytest.raises(NotAnInteger) as raised:
        convert_hpa_v1(body, read_int32)
    assert raised.value.args == (("spec", "targetCPUUtilizationPercentage"), "80%")
