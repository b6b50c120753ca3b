"""PodTopologySpread: DoNotSchedule constraints keep matching pods within maxSkew of each
other over the domains of a topology key (filter); ScheduleAnyway constraints prefer the
domains with fewer of them (score)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from scheduler.cache import Cache
from scheduler.model import NodeInfo, PodInfo, SpreadConstraint
from scheduler.plugins.interface import CycleState, FilterPlugin, Reasons, ScorePlugin
from scheduler.plugins.node_affinity import matches_node_constraints
from scheduler.plugins.normalize import normalize_min_max_reversed

NAME = "PodTopologySpread"
# The filter and the score share one CycleState: each keeps its own entry.
SCORE_STATE = "PodTopologySpreadScore"
SPREAD_MISMATCH = "node(s) didn't match pod topology spread constraints"
SPREAD_MISSING_LABEL = (
    "node(s) didn't match pod topology spread constraints (missing required label)"
)


@dataclass
class SpreadState:
    constraint: SpreadConstraint
    counts: Counter[str]  # matching pods per eligible domain
    minimum: int  # the fewest matching pods in any eligible domain
    self_match: int  # 1 when the pod counts towards its own constraint


def spread_state(
    pod: PodInfo, cache: Cache, constraints: tuple[SpreadConstraint, ...]
) -> list[SpreadState]:
    """Counts, per constraint, the matching pods in each domain of the nodes the pod may
    use (its node selector and affinity; nodes lacking any constraint's key don't count)."""
    keys = [c.topology_key for c in constraints]
    eligible: dict[str, NodeInfo] = {}
    for node in cache.node_list():
        if all(key in node.labels for key in keys) and (
            not pod.has_node_constraints or matches_node_constraints(pod, node)
        ):
            eligible[node.name] = node
    states = []
    for constraint in constraints:
        key = constraint.topology_key
        counts: Counter[str] = Counter({node.labels[key]: 0 for node in eligible.values()})
        for other in cache.pods_matching(constraint.term):
            on = eligible.get(other.node_name)
            if on is not None:
                counts[on.labels[key]] += 1
        minimum = 0 if len(counts) < constraint.min_domains else min(counts.values(), default=0)
        states.append(
            SpreadState(constraint, counts, minimum, 1 if constraint.term.matches(pod) else 0)
        )
    return states


def _prefilter_spread(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    hard = tuple(c for c in pod.spread_constraints if c.hard)
    if not hard:
        return False
    state[NAME] = spread_state(pod, cache, hard)
    return True


def topology_spread(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    """DoNotSchedule constraints: placing the pod must keep (domain count - minimum) ≤ maxSkew."""
    for spread in state[NAME]:
        domain = node.labels.get(spread.constraint.topology_key)
        if domain is None:
            return SPREAD_MISSING_LABEL
        if spread.counts.get(domain, 0) + spread.self_match - spread.minimum > (
            spread.constraint.max_skew
        ):
            return SPREAD_MISMATCH
    return None


def _prescore_spread(
    state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]
) -> bool:
    soft = [c for c in pod.spread_constraints if not c.hard]
    if not soft:
        return False
    state[SCORE_STATE] = [
        (c.topology_key, cache.count_by_domain(c.term, c.topology_key)) for c in soft
    ]
    return True


def soft_topology_spread(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """ScheduleAnyway constraints: matching pods already in the node's domains (fewer is
    better); a node without the key gets the worst count seen plus one."""
    total = 0.0
    for key, counts in state[SCORE_STATE]:
        domain = node.labels.get(key)
        if domain is None:
            total += max(counts.values(), default=0) + 1
        else:
            total += counts.get(domain, 0)
    return total


FILTER = FilterPlugin(NAME, topology_spread, prefilter=_prefilter_spread, preemption_helps=True)
SCORE = ScorePlugin(
    NAME, soft_topology_spread, weight=2, normalize=normalize_min_max_reversed,
    prescore=_prescore_spread,
)
