"""Steps 1 and 2 of the HPA over the spec's metrics: each metric's samples and proposal
(Kubernetes' computeReplicasForMetric), then the largest proposal of all of them
(computeReplicasForMetrics). If some metrics fail, the valid ones may scale up but never
down; if all fail, nothing changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from autoscaler.hpa.conditions import SCALING_ACTIVE, ConditionUpdate
from autoscaler.hpa.replicas import (
    DEFAULT_TUNING,
    MetricError,
    PodMetric,
    PodState,
    PodUsage,
    Proposal,
    Tuning,
    average_value_replicas,
    utilization_replicas,
)


@dataclass(frozen=True)
class Metric:
    """One entry of spec.metrics, read into plain values."""

    type: str  # Resource, ContainerResource, Pods (Object and External are not served)
    name: str  # the resource (cpu, memory) or the Pods metric's name
    container: str = ""  # ContainerResource only
    utilization: int | None = None  # target averageUtilization, % of requests
    average_value: int | None = None  # target averageValue, milli-units

    @property
    def description(self) -> str:
        """How Kubernetes names the metric in conditions and events."""
        if self.type == "Resource":
            if self.utilization is not None:
                return f"{self.name} resource utilization (percentage of request)"
            return f"{self.name} resource"
        if self.type == "ContainerResource":
            if self.utilization is not None:
                return f"{self.name} container resource utilization (percentage of request)"
            return f"{self.name} container resource"
        if self.type == "Pods":
            return f"pods metric {self.name}"
        return f"{self.type} metric {self.name}"


def metric_samples(metric: Metric, usages: Mapping[str, PodUsage]) -> dict[str, PodMetric]:
    """Each pod's value of `metric`, from the pods' usage samples. A pod whose sample lacks
    the metric (or, for a resource, lacks it for any container) has no value."""
    samples: dict[str, PodMetric] = {}
    for pod_name, usage in usages.items():
        if metric.type == "Pods":
            value = usage.custom.get(metric.name)
            if value is not None:
                samples[pod_name] = PodMetric(value, usage.timestamp, usage.window)
            continue
        total = 0
        found = False
        complete = True
        for container_name, resources in usage.containers.items():
            if metric.container and container_name != metric.container:
                continue
            if metric.name not in resources:
                complete = False
                break
            total += resources[metric.name]
            found = True
        if found and complete:
            samples[pod_name] = PodMetric(total, usage.timestamp, usage.window)
    return samples


def propose(
    metric: Metric,
    current_replicas: int,
    pods: Sequence[PodState],
    usages: Mapping[str, PodUsage],
    now: float,
    tuning: Tuning = DEFAULT_TUNING,
) -> Proposal:
    """One metric's proposal; MetricError when it cannot make one."""
    if metric.type not in ("Resource", "ContainerResource", "Pods"):
        raise MetricError(
            "InvalidMetricSourceType",
            f"corral serves Resource, ContainerResource and Pods metrics, not {metric.type}",
        )
    samples = metric_samples(metric, usages)
    if metric.type == "Pods":
        if metric.average_value is None:
            raise MetricError("FailedGetPodsMetric", "a Pods metric needs target.averageValue")
        return average_value_replicas(
            current_replicas, metric.average_value, pods, samples, now, tuning
        )
    reason = (
        "FailedGetResourceMetric" if metric.type == "Resource"
        else "FailedGetContainerResourceMetric"
    )
    if not samples:
        raise MetricError(
            reason,
            f"unable to get metrics for resource {metric.name}: no metrics returned from "
            "resource metrics API",
        )
    try:
        if metric.utilization is not None:
            return utilization_replicas(
                current_replicas, metric.utilization, metric.name, pods, samples, now, tuning,
                metric.container,
            )
        if metric.average_value is not None:
            return average_value_replicas(
                current_replicas, metric.average_value, pods, samples, now, tuning, metric.name
            )
    except MetricError as error:
        raise MetricError(reason, error.message) from None
    raise MetricError(reason, f"the {metric.description} target has neither "
                              "averageUtilization nor averageValue")


@dataclass(frozen=True)
class MetricsResult:
    # -1 when no replica count could be computed.
    replicas: int
    # The description of the metric that proposed `replicas`.
    metric: str
    # Per spec metric, its proposal (None where it failed).
    proposals: tuple[Proposal | None, ...]
    # Per failed metric, its error.
    errors: tuple[MetricError, ...]
    condition: ConditionUpdate


def replicas_for_metrics(
    metrics: Sequence[Metric],
    current_replicas: int,
    pods: Sequence[PodState],
    usages: Mapping[str, PodUsage],
    now: float,
    tuning: Tuning = DEFAULT_TUNING,
) -> MetricsResult:
    """The largest proposal of all metrics (Kubernetes' computeReplicasForMetrics)."""
    replicas = 0
    metric_name = ""
    proposals: list[Proposal | None] = []
    errors: list[MetricError] = []
    for metric in metrics:
        try:
            proposal = propose(metric, current_replicas, pods, usages, now, tuning)
        except MetricError as error:
            proposals.append(None)
            errors.append(error)
            continue
        proposals.append(proposal)
        if replicas == 0 or proposal.replicas > replicas:
            replicas = proposal.replicas
            metric_name = metric.description
    # A failing metric might have asked for more: scale up on the others, never down.
    if errors and (len(errors) >= len(metrics) or replicas < current_replicas):
        first = errors[0]
        condition = ConditionUpdate(
            SCALING_ACTIVE, "False", first.reason,
            f"the HPA was unable to compute the replica count: {first.message}",
        )
        return MetricsResult(-1, "", tuple(proposals), tuple(errors), condition)
    condition = ConditionUpdate(
        SCALING_ACTIVE, "True", "ValidMetricFound",
        f"the HPA was able to successfully calculate a replica count from {metric_name}",
    )
    return MetricsResult(replicas, metric_name, tuple(proposals), tuple(errors), condition)

