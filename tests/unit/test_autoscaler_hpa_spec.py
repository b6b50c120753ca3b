"""Reading an HPA spec into the algorithm's input (autoscaler/hpa/spec.py): defaulted
behavior, metrics in milli-units, and errors that name the field."""

from __future__ import annotations

import pytest

from autoscaler import hpa
from autoscaler.hpa import Metric, Policy, ScalingRules
from corral.api.v1 import autoscaling_pb2
from tests.unit.autoscaler_hpa_builders import DEFAULT_BEHAVIOR


def test_an_omitted_behavior_gets_the_kubernetes_defaults() -> None:
    assert DEFAULT_BEHAVIOR.scale_up == ScalingRules(
        0, "Max", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
    assert DEFAULT_BEHAVIOR.scale_down == ScalingRules(300, "Max", (Policy("Percent", 100, 15),))


def test_a_partial_behavior_is_completed_with_defaults() -> None:
    spec_pb = autoscaling_pb2.HorizontalPodAutoscalerSpec()
    spec_pb.behavior.scale_down.stabilization_window_seconds = 30
    behavior = hpa.behavior_from_spec(spec_pb)
    assert behavior.scale_down.stabilization_window_seconds == 30
    assert behavior.scale_down.policies == (Policy("Percent", 100, 15),)
    assert behavior.scale_up == DEFAULT_BEHAVIOR.scale_up


def test_spec_metrics_are_read_in_milli_units() -> None:
    spec_pb = autoscaling_pb2.HorizontalPodAutoscalerSpec(max_replicas=10)
    metric = spec_pb.metrics.add(type="Pods")
    metric.pods.metric.name = "requests_per_second"
    metric.pods.target.type = "AverageValue"
    metric.pods.target.average_value = "1k"
    cpu = spec_pb.metrics.add(type="Resource")
    cpu.resource.name = "cpu"
    cpu.resource.target.type = "AverageValue"
    cpu.resource.target.average_value = "250m"
    autoscaler = hpa.autoscaler_from_spec(spec_pb)
    assert autoscaler.min_replicas == 1
    assert autoscaler.metrics == (
        Metric("Pods", "requests_per_second", average_value=1_000_000),
        Metric("Resource", "cpu", average_value=250),
    )


def test_an_hpa_without_metrics_scales_on_cpu_at_80_percent() -> None:
    autoscaler = hpa.autoscaler_from_spec(
        autoscaling_pb2.HorizontalPodAutoscalerSpec(max_replicas=3))
    assert autoscaler.metrics == (Metric("Resource", "cpu", utilization=80),)


def test_a_bad_target_quantity_names_the_field() -> None:
    spec_pb = autoscaling_pb2.HorizontalPodAutoscalerSpec(max_replicas=10)
    metric = spec_pb.metrics.add(type="Pods")
    metric.pods.metric.name = "rps"
    metric.pods.target.type = "AverageValue"
    metric.pods.target.average_value = "lots"
    with pytest.raises(hpa.InvalidSpec, match=r"spec.metrics\[0\].pods.target.averageValue"):
        hpa.autoscaler_from_spec(spec_pb)


def test_a_pods_metric_with_a_utilization_target_is_rejected() -> None:
    spec_pb = autoscaling_pb2.HorizontalPodAutoscalerSpec(max_replicas=10)
    metric = spec_pb.metrics.add(type="Pods")
    metric.pods.metric.name = "rps"
    metric.pods.target.type = "Utilization"
    metric.pods.target.average_utilization = 50
    with pytest.raises(hpa.InvalidSpec, match="Pods metrics take AverageValue"):
        hpa.autoscaler_from_spec(spec_pb)
