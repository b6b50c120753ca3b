"""The horizontal pod autoscaler's algorithm, as plain functions of plain data.

This is Kubernetes' HPA (pkg/controller/podautoscaler: the replica calculator
and the controller's normalisation), step for step, so an HPA manifest scales
here as it would on Kubernetes:

1. Per metric, a proposal: desired = ceil(ready pods * current / target),
   unless current/target is within the tolerance (10 %) of 1. Pods being
   deleted or failed are ignored. Pods that are Pending, or (for cpu) not yet
   ready / still starting, are left out at first; pods without a metric are
   "missing". When either group exists the ratio is recomputed with them
   filled in conservatively: missing pods count as using 100 % of their
   request (of the target, for plain values) when scaling down and 0 when
   scaling up; unready pods count as 0 when scaling up. If that recomputed
   ratio is within tolerance or points the other way, nothing changes — so a
   scale-up is not undone by the new pods that are still starting.
2. Of several metrics the largest proposal wins. If some metrics fail, the
   valid ones may scale up but never down; if all fail, nothing changes.
3. Stabilisation: the recommendation is kept between the lowest of the
   recent recommendations (scale-up window) and the highest (scale-down
   window), counting from the current replica count.
4. Rate limits: each direction's policies (Pods or Percent per period,
   measured against the replica count at the start of the period, from a
   history of scale events) bound the change; selectPolicy Max picks the
   policy allowing the largest change, Min the smallest, Disabled none.
   Then minReplicas/maxReplicas.

An HPA without `behavior` gets the default behavior (corral.defaults): the API
server leaves an omitted behavior omitted, as Kubernetes does, so it is filled
in here, from the same constants.

Quantities are integers in milli-units (Kubernetes' MilliValue): 250m cpu is
250, 64Mi of memory is 67108864000, 12.5 requests/s is 12500. Times are
seconds since the epoch. Nothing here reads a clock or the network; state that
outlives one sync (recent recommendations, recent scale events) goes in and
comes back out as a `History`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from corral.api import defaults, quantity
from corral.api.v1 import autoscaling_pb2

# Kubernetes' flag defaults (--horizontal-pod-autoscaler-*).
DEFAULT_TOLERANCE = 0.1
DEFAULT_CPU_INITIALIZATION_PERIOD = 300.0
DEFAULT_INITIAL_READINESS_DELAY = 30.0

POLICY_PODS = "Pods"
POLICY_PERCENT = "Percent"
SELECT_MAX = "Max"
SELECT_MIN = "Min"
SELECT_DISABLED = "Disabled"

# Condition types of the HPA status.
ABLE_TO_SCALE = "AbleToScale"
SCALING_ACTIVE = "ScalingActive"
SCALING_LIMITED = "ScalingLimited"


class MetricError(Exception):
    """One metric could not give a proposal; `reason` is the condition/event reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class InvalidSpec(ValueError):
    """An HPA spec this algorithm cannot work with; the message names the field."""


# -- inputs --------------------------------------------------------------------------------------


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
    value: int  # milli-units
    timestamp: float
    window: float


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


@dataclass(frozen=True)
class Policy:
    type: str  # Pods or Percent
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    stabilization_window_seconds: int
    select_policy: str
    policies: tuple[Policy, ...]


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


@dataclass(frozen=True)
class Autoscaler:
    """The parts of an HPA spec the algorithm uses."""

    min_replicas: int
    max_replicas: int
    metrics: tuple[Metric, ...]
    behavior: Behavior


# -- history -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    timestamp: float
    replicas: int


@dataclass(frozen=True)
class ScaleEvent:
    timestamp: float
    change: int  # replicas added (scale-up events) or removed (scale-down events), > 0


@dataclass(frozen=True)
class History:
    """What one HPA's past syncs left behind; the controller keeps one per HPA in memory
    (as Kubernetes does: a restarted controller starts with an empty history)."""

    recommendations: tuple[Recommendation, ...] = ()
    scale_ups: tuple[ScaleEvent, ...] = ()
    scale_downs: tuple[ScaleEvent, ...] = ()


# -- step 1: one metric --------------------------------------------------------------------------


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
    tuning: Tuning = Tuning(),
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
    tuning: Tuning = Tuning(),
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
    tuning: Tuning = Tuning(),
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


# -- step 2: all metrics -------------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionUpdate:
    type: str
    status: str  # "True" or "False"
    reason: str
    message: str


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
    tuning: Tuning = Tuning(),
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


# -- steps 3 and 4: stabilisation and rate limits ------------------------------------------------


def stabilize(
    desired: int,
    current_replicas: int,
    rules_up: ScalingRules,
    rules_down: ScalingRules,
    recommendations: Sequence[Recommendation],
    now: float,
) -> tuple[int, str, str]:
    """(stabilised recommendation, reason, message): `desired` bounded by the lowest
    recommendation of the scale-up window and the highest of the scale-down window."""
    up_cutoff = now - rules_up.stabilization_window_seconds
    down_cutoff = now - rules_down.stabilization_window_seconds
    up_limit = desired
    down_limit = desired
    for recommendation in recommendations:
        if recommendation.timestamp > up_cutoff:
            up_limit = min(up_limit, recommendation.replicas)
        if recommendation.timestamp > down_cutoff:
            down_limit = max(down_limit, recommendation.replicas)
    stabilized = min(max(current_replicas, up_limit), down_limit)
    if desired >= current_replicas:
        return stabilized, "ScaleUpStabilized", (
            "recent recommendations were lower than current one, applying the lowest recent "
            "recommendation"
        )
    return stabilized, "ScaleDownStabilized", (
        "recent recommendations were higher than current one, applying the highest recent "
        "recommendation"
    )


def _changed_within(period_seconds: int, events: Sequence[ScaleEvent], now: float) -> int:
    cutoff = now - period_seconds
    return sum(event.change for event in events if event.timestamp > cutoff)


def scale_up_limit(
    current_replicas: int, rules: ScalingRules, history: History, now: float
) -> int:
    """The most replicas the scale-up policies allow now."""
    if rules.select_policy == SELECT_DISABLED:
        return current_replicas
    proposals = []
    for policy in rules.policies:
        added = _changed_within(policy.period_seconds, history.scale_ups, now)
        removed = _changed_within(policy.period_seconds, history.scale_downs, now)
        period_start = current_replicas - added + removed
        if policy.type == POLICY_PODS:
            proposals.append(period_start + policy.value)
        else:
            # Rounded up, or a small deployment could never grow by a percentage.
            proposals.append(math.ceil(period_start * (1 + policy.value / 100)))
    if not proposals:
        return current_replicas
    return min(proposals) if rules.select_policy == SELECT_MIN else max(proposals)


def scale_down_limit(
    current_replicas: int, rules: ScalingRules, history: History, now: float
) -> int:
    """The fewest replicas the scale-down policies allow now."""
    if rules.select_policy == SELECT_DISABLED:
        return current_replicas
    proposals = []
    for policy in rules.policies:
        added = _changed_within(policy.period_seconds, history.scale_ups, now)
        removed = _changed_within(policy.period_seconds, history.scale_downs, now)
        period_start = current_replicas - added + removed
        if policy.type == POLICY_PODS:
            proposals.append(period_start - policy.value)
        else:
            proposals.append(int(period_start * (1 - policy.value / 100)))
    if not proposals:
        return current_replicas
    return max(proposals) if rules.select_policy == SELECT_MIN else min(proposals)


def limit_rate(
    desired: int, current_replicas: int, spec: Autoscaler, history: History, now: float
) -> tuple[int, str, str]:
    """(allowed replicas, reason, message) after the behavior's policies and min/max."""
    if desired > current_replicas:
        limit = max(scale_up_limit(current_replicas, spec.behavior.scale_up, history, now),
                    current_replicas)
        if spec.max_replicas > limit:
            maximum = limit
            reason, message = (
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
            )
        else:
            maximum = spec.max_replicas
            reason, message = (
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            )
        if desired > maximum:
            return maximum, reason, message
    elif desired < current_replicas:
        limit = min(scale_down_limit(current_replicas, spec.behavior.scale_down, history, now),
                    current_replicas)
        if spec.min_replicas < limit:
            minimum = limit
            reason, message = (
                "ScaleDownLimit",
                "the desired replica count is decreasing faster than the maximum scale rate",
            )
        else:
            minimum = spec.min_replicas
            reason, message = (
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            )
        if desired < minimum:
            return minimum, reason, message
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


# -- the whole decision --------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What one sync of one HPA should do."""

    # The replica count to set (equal to current_replicas when nothing changes).
    desired_replicas: int
    rescale: bool
    # Why, for the SuccessfulRescale event: "cpu resource utilization (percentage of
    # request) above target", "All metrics below target", ...
    reason: str
    # Per spec metric, its observation (None where it failed or was not computed).
    proposals: tuple[Proposal | None, ...]
    conditions: tuple[ConditionUpdate, ...]
    # Failures to report as Warning events: (reason, message).
    warnings: tuple[tuple[str, str], ...]
    history: History


def decide(
    spec: Autoscaler,
    current_replicas: int,
    pods: Sequence[PodState],
    usages: Mapping[str, PodUsage],
    history: History,
    now: float,
    tuning: Tuning = Tuning(),
) -> Decision:
    """One sync of Kubernetes' reconcileAutoscaler, minus the I/O. `current_replicas` is the
    target's spec.replicas (its Scale)."""
    if not history.recommendations:
        # A new HPA (or a restarted controller) starts as if it had just recommended the
        # current count: no scale-down before a full window of evidence.
        history = replace(history, recommendations=(Recommendation(now, current_replicas),))
    if current_replicas == 0 and spec.min_replicas != 0:
        return Decision(
            0, False, "", (),
            (ConditionUpdate(SCALING_ACTIVE, "False", "ScalingDisabled",
                             "scaling is disabled since the replica count of the target is zero"),),
            (), history,
        )
    if current_replicas > spec.max_replicas:
        return Decision(
            spec.max_replicas, True, "Current number of replicas above Spec.MaxReplicas",
            (), (), (), history,
        )
    if current_replicas < spec.min_replicas:
        return Decision(
            spec.min_replicas, True, "Current number of replicas below Spec.MinReplicas",
            (), (), (), history,
        )
    result = replicas_for_metrics(spec.metrics, current_replicas, pods, usages, now, tuning)
    warnings = tuple((error.reason, error.message) for error in result.errors)
    if result.replicas < 0:
        message = result.errors[0].message if result.errors else "no metrics"
        return Decision(
            current_replicas, False, "", result.proposals, (result.condition,),
            (*warnings, ("FailedComputeMetricsReplicas",
                         f"invalid metrics ({len(result.errors)} invalid out of "
                         f"{len(spec.metrics)}), first error is: {message}")),
            history,
        )
    desired = result.replicas
    reason = ""
    if desired > current_replicas:
        reason = f"{result.metric} above target"
    elif desired < current_replicas:
        reason = "All metrics below target"

    behavior = spec.behavior
    stabilized, stable_reason, stable_message = stabilize(
        desired, current_replicas, behavior.scale_up, behavior.scale_down,
        history.recommendations, now,
    )
    if stabilized != desired:
        able = ConditionUpdate(ABLE_TO_SCALE, "True", stable_reason, stable_message)
    else:
        able = ConditionUpdate(ABLE_TO_SCALE, "True", "ReadyForNewScale",
                               "recommended size matches current size")
    allowed, limit_reason, limit_message = limit_rate(
        stabilized, current_replicas, spec, history, now
    )
    limited = ConditionUpdate(
        SCALING_LIMITED, "False" if allowed == stabilized else "True", limit_reason, limit_message
    )
    history = replace(
        history,
        recommendations=(
            *_recent_recommendations(history.recommendations, behavior, now),
            Recommendation(now, desired),
        ),
    )
    return Decision(
        allowed, allowed != current_replicas, reason, result.proposals,
        (result.condition, able, limited), warnings, history,
    )


def _recent_recommendations(
    recommendations: Sequence[Recommendation], behavior: Behavior, now: float
) -> tuple[Recommendation, ...]:
    """Those still inside either stabilisation window (older ones can never matter again)."""
    longest = max(behavior.scale_up.stabilization_window_seconds,
                  behavior.scale_down.stabilization_window_seconds)
    return tuple(r for r in recommendations if r.timestamp > now - longest)


def record_scale(
    history: History, behavior: Behavior, previous: int, new: int, now: float
) -> History:
    """The history after the target was scaled from `previous` to `new` replicas; events
    older than the direction's longest policy period are dropped."""
    if new > previous:
        longest = max((p.period_seconds for p in behavior.scale_up.policies), default=0)
        kept = tuple(e for e in history.scale_ups if e.timestamp > now - longest)
        return replace(history, scale_ups=(*kept, ScaleEvent(now, new - previous)))
    if new < previous:
        longest = max((p.period_seconds for p in behavior.scale_down.policies), default=0)
        kept = tuple(e for e in history.scale_downs if e.timestamp > now - longest)
        return replace(history, scale_downs=(*kept, ScaleEvent(now, previous - new)))
    return history


# -- reading an HPA spec -------------------------------------------------------------------------


def _milli(text: str, where: str) -> int:
    try:
        return int(quantity.parse(text).scaleb(3).to_integral_value(rounding="ROUND_CEILING"))
    except (quantity.InvalidQuantity, ArithmeticError) as error:
        raise InvalidSpec(f"{where}: {error}") from None


def _target(target: autoscaling_pb2.MetricTarget, where: str) -> tuple[int | None, int | None]:
    """(averageUtilization, averageValue in milli-units) of a MetricTarget."""
    if target.type == "Utilization" or (not target.type and target.HasField("average_utilization")):
        if not target.HasField("average_utilization"):
            raise InvalidSpec(f"{where}.target.averageUtilization: required for type Utilization")
        return target.average_utilization, None
    if target.type == "AverageValue" or (not target.type and target.average_value):
        if not target.average_value:
            raise InvalidSpec(f"{where}.target.averageValue: required for type AverageValue")
        return None, _milli(target.average_value, f"{where}.target.averageValue")
    raise InvalidSpec(
        f"{where}.target.type: {target.type or '(empty)'} is not supported here; "
        "use Utilization or AverageValue"
    )


def metric_from_spec(spec: autoscaling_pb2.MetricSpec, where: str = "spec.metrics[0]") -> Metric:
    """A MetricSpec as a Metric; InvalidSpec for a target it cannot use. Object and External
    metrics come back as Metrics that `propose` reports as unsupported."""
    if spec.type == "Resource":
        utilization, average = _target(spec.resource.target, f"{where}.resource")
        return Metric("Resource", spec.resource.name, "", utilization, average)
    if spec.type == "ContainerResource":
        source = spec.container_resource
        utilization, average = _target(source.target, f"{where}.containerResource")
        return Metric("ContainerResource", source.name, source.container, utilization, average)
    if spec.type == "Pods":
        utilization, average = _target(spec.pods.target, f"{where}.pods")
        if average is None:
            raise InvalidSpec(f"{where}.pods.target.type: Pods metrics take AverageValue")
        return Metric("Pods", spec.pods.metric.name, "", None, average)
    name = spec.object.metric.name if spec.type == "Object" else spec.external.metric.name
    return Metric(spec.type or "(empty)", name)


def _rules(rules: autoscaling_pb2.HPAScalingRules) -> ScalingRules:
    return ScalingRules(
        stabilization_window_seconds=rules.stabilization_window_seconds,
        select_policy=rules.select_policy or SELECT_MAX,
        policies=tuple(
            Policy(policy.type, policy.value, policy.period_seconds) for policy in rules.policies
        ),
    )


def behavior_from_spec(spec: autoscaling_pb2.HorizontalPodAutoscalerSpec) -> Behavior:
    """The spec's behavior with every omitted part defaulted as the API server would have,
    including a behavior omitted altogether."""
    filled = autoscaling_pb2.HorizontalPodAutoscaler()
    if spec.HasField("behavior"):
        filled.spec.behavior.CopyFrom(spec.behavior)
    else:
        filled.spec.behavior.SetInParent()
    defaults.apply_defaults(filled)
    return Behavior(_rules(filled.spec.behavior.scale_up), _rules(filled.spec.behavior.scale_down))


def autoscaler_from_spec(spec: autoscaling_pb2.HorizontalPodAutoscalerSpec) -> Autoscaler:
    """The HPA spec as the algorithm's input; InvalidSpec names a field it cannot use."""
    metric_specs = list(spec.metrics)
    if not metric_specs:
        default = autoscaling_pb2.MetricSpec(type="Resource")
        default.resource.name = "cpu"
        default.resource.target.type = "Utilization"
        default.resource.target.average_utilization = defaults.DEFAULT_HPA_CPU_UTILIZATION
        metric_specs = [default]
    return Autoscaler(
        min_replicas=spec.min_replicas if spec.HasField("min_replicas") else 1,
        max_replicas=spec.max_replicas,
        metrics=tuple(
            metric_from_spec(metric, f"spec.metrics[{i}]") for i, metric in enumerate(metric_specs)
        ),
        behavior=behavior_from_spec(spec),
    )
