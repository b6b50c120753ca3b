"""TaintToleration: NoSchedule and NoExecute taints must be tolerated (filter);
PreferNoSchedule taints the pod does not tolerate only lower the node's score."""

from __future__ import annotations

from scheduler.cache import Cache
from scheduler.model import (
    NO_EXECUTE,
    NO_SCHEDULE,
    PREFER_NO_SCHEDULE,
    NodeInfo,
    PodInfo,
    Taint,
    tolerated,
)
from scheduler.plugins.interface import CycleState, FilterPlugin, Reasons, ScorePlugin
from scheduler.plugins.normalize import normalize_reversed

NAME = "TaintToleration"


def untolerated_taint(taint: Taint) -> str:
    return f"node(s) had untolerated taint {taint}"


def taint_toleration(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    for taint in node.taints:
        if (taint.effect == NO_SCHEDULE or taint.effect == NO_EXECUTE) and not tolerated(
            pod.tolerations, taint
        ):
            return untolerated_taint(taint)
    return None


def _has_prefer_taints(
    state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]
) -> bool:
    return any(node.taints for node in nodes)


def prefer_no_schedule_taints(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """How many PreferNoSchedule taints the pod does not tolerate (fewer is better)."""
    return float(sum(
        1 for taint in node.taints
        if taint.effect == PREFER_NO_SCHEDULE and not tolerated(pod.tolerations, taint)
    ))


FILTER = FilterPlugin(NAME, taint_toleration, static=True)
SCORE = ScorePlugin(
    NAME, prefer_no_schedule_taints, weight=3, normalize=normalize_reversed,
    prescore=_has_prefer_taints,
)
