"""Steps 3 and 4 of the HPA: the spec's `behavior` (Kubernetes' HPAScalingRules).

Stabilisation: the recommendation is kept between the lowest of the recent
recommendations (scale-up window) and the highest (scale-down window), counting from the
current replica count. Rate limits: each direction's policies (Pods or Percent per
period, measured against the replica count at the start of the period, from a history of
scale events) bound the change; selectPolicy Max picks the policy allowing the largest
change, Min the smallest, Disabled none.

State that outlives one sync (recent recommendations, recent scale events) goes in and
comes back out as a `History`; nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

POLICY_PODS = "Pods"
POLICY_PERCENT = "Percent"
SELECT_MAX = "Max"
SELECT_MIN = "Min"
SELECT_DISABLED = "Disabled"


@dataclass(frozen=True)
class Policy:
    """At most `value` pods (or percent of the replicas) added or removed per period."""

    type: str  # Pods or Percent
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    """One direction's rules: spec.behavior.scaleUp or spec.behavior.scaleDown."""

    stabilization_window_seconds: int
    select_policy: str
    policies: tuple[Policy, ...]


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


@dataclass(frozen=True)
class Recommendation:
    """The replica count one sync's metrics asked for, before stabilisation."""

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


def recent_recommendations(
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

