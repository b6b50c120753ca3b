"""Step 1 of the HPA, per metric: the replica calculator (Kubernetes'
pkg/controller/podautoscaler/replica_calculator.go).

desired = ceil(ready pods * current / target), unless current/target is within the
tolerance (10 %) of 1. Pods being deleted or failed are ignored. Pods that are Pending,
or (for cpu) not yet ready / still starting, are left out at first; pods without a
metric are "missing". When either group exists the ratio is recomputed with them filled
in conservatively: missing pods count as using 100 % of their request (of the target,
for plain values) when scaling down and 0 when scaling up; unready pods count as 0 when
scaling up. If that recomputed ratio is within tolerance or points the other way,
nothing changes, so a scale-up is not undone by the new pods that are still starting.

Quantities are integers in milli-units (Kubernetes' MilliValue): 250m cpu is 250, 64Mi
of memory is 67108864000, 12.5 requests/s is 12500. Times are seconds since the epoch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Kubernetes' flag defaults (--horizontal-pod-autoscaler-*).
DEFAULT_TOLERANCE = 0.1
DEFAULT_CPU_INITIALIZATION_PERIOD = 300.0
DEFAULT_INITIAL_READINESS_DELAY = 30.0


class MetricError(Exception):
    """One metric could not give a proposal; `reason` is the condition/event reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Tuning:
    """The controller-wide knobs (Kubernetes' --horizontal-pod-autoscaler-* flags)."""

    tolerance: float = DEFAULT_TOLERANCE
    # A cpu sample from a pod started less than this ago is only trusted once the pod is
    # ready and the sample's window began after it became ready.
    cpu_initialization_period: float = DEFAULT_CPU_INITIALIZATION_PERIOD
    # After that, a pod that is not ready and turned so within this long of starting has
    # never been ready: its sample is not trusted.
    initial_readiness_delay: float = DEFAULT_INITIAL_READINESS_DELAY


# The flags' defaults; a Tuning is frozen, so one instance serves as every default argument.
DEFAULT_TUNING = Tuning()


@dataclass(frozen=True)
class PodState:
    """What the HPA needs of one pod selected by the target."""

    name: str
    phase: str = "Running"
    deleting: bool = False
    # The Ready condition: None when the pod has none yet.
    ready: bool | None = True
    ready_since: float | None = 0.0  # the Ready condition's lastTransitionTime
    started: float | None = 0.0  # status.startTime
    # Per container, in spec order: resource → requested milli-units.
    container_requests: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class PodUsage:
    """One pod's metrics sample (a PodMetrics object)."""

    timestamp: float
    window: float
    # Per container: resource → used milli-units.
    containers: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # Application metrics scraped from the pod: name → milli-units.
    custom: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PodMetric:
    """One pod's value of the metric in hand, and when and over how long it was sampled."""

    value: int  # milli-units
    timestamp: float
    window: float


@dataclass(frozen=True)
class PodGroups:
    ready_count: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


def group_pods(
    pods: Sequence[PodState],
    metrics: Mapping[str, PodMetric],
    resource: str,
    now: float,
    tuning: Tuning,
) -> PodGroups:
    """Sorts pods into ready (with a trusted sample), unready, missing and ignored."""
    ready_count = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        if pod.deleting or pod.phase in ("Failed", "Succeeded"):
            ignored.add(pod.name)
            continue
        if pod.phase == "Pending":
            unready.add(pod.name)
            continue
        metric = metrics.get(pod.name)
        if metric is None:
            missing.add(pod.name)
            continue
        # Only cpu is distorted by start-up (a JIT warming up, caches filling), so only
        # cpu samples of starting pods are distrusted.
        if resource == "cpu" and _cpu_sample_untrusted(pod, metric, now, tuning):
            unready.add(pod.name)
            continue
        ready_count += 1
    return PodGroups(ready_count, frozenset(unready), frozenset(missing), frozenset(ignored))


def _cpu_sample_untrusted(pod: PodState, metric: PodMetric, now: float, tuning: Tuning) -> bool:
    if pod.ready is None or pod.started is None or pod.ready_since is None:
        return True
    if pod.started + tuning.cpu_initialization_period > now:
        # Still starting: trust it only when ready and sampled wholly after it became so.
        return not pod.ready or metric.timestamp < pod.ready_since + metric.window
    # Started long ago: distrust only a pod that is unready and has never been ready.
    return not pod.ready and pod.started + tuning.initial_readiness_delay > pod.ready_since


def _trusted_samples(
    pods: Sequence[PodState], metrics: Mapping[str, PodMetric], groups: PodGroups
) -> dict[str, PodMetric]:
    """The samples of selected pods that are neither ignored nor unready."""
    usable = {pod.name for pod in pods} - groups.ignored - groups.unready
    return {name: metric for name, metric in metrics.items() if name in usable}


def pod_requests(pods: Sequence[PodState], resource: str, container: str = "") -> dict[str, int]:
    """Each pod's request of `resource` (summed over its containers, or the named one).

    MetricError when a container has no request for it: utilisation is a share of
    requests, so without one there is nothing to compute."""
    requests: dict[str, int] = {}
    for pod in pods:
        total = 0
        for name, container_requests in pod.container_requests.items():
            if container and name != container:
                continue
            if resource not in container_requests:
                raise MetricError(
                    "FailedGetResourceMetric",
                    f"missing request for {resource} in container {name} of Pod {pod.name}",
                )
            total += container_requests[resource]
        requests[pod.name] = total
    return requests


def _utilization_ratio(
    metrics: Mapping[str, PodMetric], requests: Mapping[str, int], target: int
) -> tuple[float, int, int]:
    """(usage ratio, utilisation %, average usage) over the pods with both a metric and a
    request, as Kubernetes' GetResourceUtilizationRatio (integer %, truncated)."""
    used = 0
    requested = 0
    counted = 0
    for name, metric in metrics.items():
        request = requests.get(name)
        if request is None:
            continue  # a pod that left the selection since the sample was taken
        used += metric.value
        requested += request
        counted += 1
    if requested == 0:
        raise MetricError(
            "FailedGetResourceMetric", "no metrics returned matched known pods"
        )
    utilization = used * 100 // requested
    return utilization / target, utilization, used // counted


def _value_ratio(metrics: Mapping[str, PodMetric], target: int) -> tuple[float, int]:
    """(usage ratio, average value), as Kubernetes' GetMetricUsageRatio (integer average)."""
    average = sum(metric.value for metric in metrics.values()) // len(metrics)
    return average / target, average


@dataclass(frozen=True)
class Proposal:
    replicas: int
    # The observed value for the status: average milli-units, and the % of requests
    # for utilisation targets.
    average_value: int
    utilization: int | None = None


def utilization_replicas(
    current_replicas: int,
    target_utilization: int,
    resource: str,
    pods: Sequence[PodState],
    metrics: Mapping[str, PodMetric],
    now: float,
    tuning: Tuning = DEFAULT_TUNING,
    container: str = "",
) -> Proposal:
    """Replicas for a target utilisation (% of requests) of a resource."""
    if not pods:
        raise MetricError(
            "FailedGetResourceMetric",
            "no pods returned by selector while calculating replica count",
        )
    groups = group_pods(pods, metrics, resource, now, tuning)
    samples = _trusted_samples(pods, metrics, groups)
    if not samples:
        raise MetricError(
            "FailedGetResourceMetric",
            "did not receive metrics for targeted pods (pods might be unready)",
        )
    requests = pod_requests(pods, resource, container)
    ratio, utilization, average = _utilization_ratio(samples, requests, target_utilization)

    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if abs(1.0 - ratio) <= tuning.tolerance:
            return Proposal(current_replicas, average, utilization)
        return Proposal(math.ceil(ratio * groups.ready_count), average, utilization)

    filled = dict(samples)
    if groups.missing:
        for name in groups.missing:
            if ratio < 1.0:
                # Scaling down: assume the silent pods use all they asked for.
                filled[name] = PodMetric(requests[name], now, 0.0)
            elif ratio > 1.0:
                # Scaling up: assume they use nothing.
                filled[name] = PodMetric(0, now, 0.0)
    if scale_up_with_unready:
        for name in groups.unready:
            filled[name] = PodMetric(0, now, 0.0)
    new_ratio, _, _ = _utilization_ratio(filled, requests, target_utilization)
    replicas = _rebalanced(current_replicas, ratio, new_ratio, len(filled), tuning)
    return Proposal(replicas, average, utilization)


def average_value_replicas(
    current_replicas: int,
    target_average: int,
    pods: Sequence[PodState],
    metrics: Mapping[str, PodMetric],
    now: float,
    tuning: Tuning = DEFAULT_TUNING,
    resource: str = "",
) -> Proposal:
    """Replicas for a target average per pod (a Pods metric, or a resource's AverageValue;
    `resource` names the resource, "" for Pods metrics)."""
    reason = "FailedGetResourceMetric" if resource else "FailedGetPodsMetric"
    if target_average <= 0:
        raise MetricError(
            reason, f"the target average value must be positive, got {target_average}m"
        )
    if not pods:
        raise MetricError(reason, "no pods returned by selector while calculating replica count")
    groups = group_pods(pods, metrics, resource, now, tuning)
    samples = _trusted_samples(pods, metrics, groups)
    if not samples:
        raise MetricError(
            reason, "did not receive metrics for targeted pods (pods might be unready)"
        )
    ratio, average = _value_ratio(samples, target_average)

    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if abs(1.0 - ratio) <= tuning.tolerance:
            return Proposal(current_replicas, average)
        return Proposal(math.ceil(ratio * groups.ready_count), average)

    filled = dict(samples)
    for name in groups.missing:
        # Scaling down: the silent pods are at the target; up: they do nothing.
        filled[name] = PodMetric(target_average if ratio < 1.0 else 0, now, 0.0)
    if scale_up_with_unready:
        for name in groups.unready:
            filled[name] = PodMetric(0, now, 0.0)
    new_ratio, _ = _value_ratio(filled, target_average)
    return Proposal(
        _rebalanced(current_replicas, ratio, new_ratio, len(filled), tuning), average
    )


def _rebalanced(
    current_replicas: int, ratio: float, new_ratio: float, counted: int, tuning: Tuning
) -> int:
    """The proposal after filling in missing and unready pods: no change if that is now
    within tolerance, or if filling them in reversed the direction of the change."""
    if (
        abs(1.0 - new_ratio) <= tuning.tolerance
        or (ratio < 1.0 < new_ratio)
        or (ratio > 1.0 > new_ratio)
    ):
        return current_replicas
    replicas = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and replicas > current_replicas) or (
        new_ratio > 1.0 and replicas < current_replicas
    ):
        return current_replicas
    return replicas

