"""The whole HPA decision for one sync (Kubernetes' reconcileAutoscaler, minus the I/O):
min/max first, then the metrics' proposal (autoscaler.hpa.metrics), stabilised and
rate-limited by the behavior (autoscaler.hpa.behavior), then bounded by
minReplicas/maxReplicas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from autoscaler.hpa.behavior import (
    Behavior,
    History,
    Recommendation,
    recent_recommendations,
    scale_down_limit,
    scale_up_limit,
    stabilize,
)
from autoscaler.hpa.conditions import (
    ABLE_TO_SCALE,
    SCALING_ACTIVE,
    SCALING_LIMITED,
    ConditionUpdate,
)
from autoscaler.hpa.metrics import Metric, replicas_for_metrics
from autoscaler.hpa.replicas import DEFAULT_TUNING, PodState, PodUsage, Proposal, Tuning


@dataclass(frozen=True)
class Autoscaler:
    """The parts of an HPA spec the algorithm uses."""

    min_replicas: int
    max_replicas: int
    metrics: tuple[Metric, ...]
    behavior: Behavior


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
    tuning: Tuning = DEFAULT_TUNING,
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
            *recent_recommendations(history.recommendations, behavior, now),
            Recommendation(now, desired),
        ),
    )
    return Decision(
        allowed, allowed != current_replicas, reason, result.proposals,
        (result.condition, able, limited), warnings, history,
    )

