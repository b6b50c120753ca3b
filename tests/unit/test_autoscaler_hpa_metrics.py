"""Step 2 of the HPA (autoscaler/hpa/metrics.py): several metrics, failing metrics, and
each kind of metric's samples."""

from __future__ import annotations

from autoscaler import hpa
from autoscaler.hpa import Metric, PodState, PodUsage
from tests.unit.autoscaler_hpa_builders import CPU_50, LONG_AGO, NOW, cpu_usage, pods


def test_with_several_metrics_the_largest_proposal_wins() -> None:
    rps = Metric("Pods", "requests_per_second", average_value=1_000_000)
    usages = {
        name: PodUsage(NOW, 15.0, {"app": {"cpu": 800}}, {"requests_per_second": 3_000_000})
        for name in ("p0", "p1")
    }
    result = hpa.replicas_for_metrics((CPU_50, rps), 2, pods(2), usages, NOW)
    assert result.replicas == 6  # cpu: ceil(2 * 1.6) = 4; rps: ceil(2 * 3) = 6
    assert result.metric == "pods metric requests_per_second"
    assert [p.replicas for p in result.proposals if p] == [4, 6]


def test_a_failing_metric_does_not_block_a_scale_up_by_another() -> None:
    rps = Metric("Pods", "requests_per_second", average_value=1_000_000)
    result = hpa.replicas_for_metrics((CPU_50, rps), 2, pods(2), cpu_usage(1000, 1000), NOW)
    assert result.replicas == 4
    assert result.condition.status == "True"
    assert [e.reason for e in result.errors] == ["FailedGetPodsMetric"]


def test_a_failing_metric_blocks_a_scale_down_by_another() -> None:
    rps = Metric("Pods", "requests_per_second", average_value=1_000_000)
    result = hpa.replicas_for_metrics((CPU_50, rps), 4, pods(4), cpu_usage(*[50] * 4), NOW)
    assert result.replicas == -1
    assert (result.condition.status, result.condition.reason) == ("False", "FailedGetPodsMetric")


def test_object_and_external_metrics_are_reported_as_unsupported() -> None:
    result = hpa.replicas_for_metrics((Metric("External", "queue"),), 1, pods(1), {}, NOW)
    assert result.condition.reason == "InvalidMetricSourceType"


def test_memory_average_value_target() -> None:
    memory = Metric("Resource", "memory", average_value=100 * 2**20 * 1000)
    usages = {f"p{i}": PodUsage(NOW, 15.0, {"app": {"memory": 300 * 2**20 * 1000}})
              for i in range(2)}
    assert hpa.propose(memory, 2, pods(2), usages, NOW).replicas == 6


def test_container_resource_uses_only_the_named_container() -> None:
    metric = Metric("ContainerResource", "cpu", container="app", utilization=50)
    states = [PodState("p0", started=LONG_AGO, ready_since=LONG_AGO,
                       container_requests={"app": {"cpu": 1000}, "sidecar": {"cpu": 1000}})]
    usages = {"p0": PodUsage(NOW, 15.0, {"app": {"cpu": 1000}, "sidecar": {"cpu": 0}})}
    assert hpa.propose(metric, 1, states, usages, NOW).replicas == 2
