"""InterPodAffinity: the pod's required affinity and anti-affinity to other pods, and
other pods' anti-affinity to it, per topology domain (filter); its preferred affinity and
anti-affinity, weighed by the matching pods in each node's domain (score)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from scheduler.cache import Cache
from scheduler.model import AffinityTerm, NodeInfo, PodInfo
from scheduler.plugins.interface import CycleState, FilterPlugin, Reasons, ScorePlugin
from scheduler.plugins.normalize import normalize_min_max

NAME = "InterPodAffinity"
# The filter and the score share one CycleState: each keeps its own entry.
SCORE_STATE = "InterPodAffinityScore"
AFFINITY_MISMATCH = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_MISMATCH = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"


@dataclass
class AffinityState:
    # The incoming pod's required affinity terms with matching pods per domain.
    affinity: list[tuple[AffinityTerm, Counter[str]]]
    # True when no pod matches any affinity term but the pod matches them all itself: the
    # first pod of a group that wants to be together may go anywhere.
    affinity_first_of_group: bool
    anti_affinity: list[tuple[AffinityTerm, Counter[str]]]
    # Domains (by topology key) where an existing pod's anti-affinity forbids this pod.
    blocked: dict[str, set[str]]


def _prefilter_affinity(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    blocked: dict[str, set[str]] = {}
    for term, node_counts in cache.anti_affinity_selecting(pod):
        domains = blocked.setdefault(term.topology_key, set())
        for node_name in node_counts:
            node = cache.nodes.get(node_name)
            if node is not None:
                domain = node.labels.get(term.topology_key)
                if domain is not None:
                    domains.add(domain)
    if not (pod.affinity_terms or pod.anti_affinity_terms or blocked):
        return False
    affinity = [(term, cache.count_by_domain(term)) for term in pod.affinity_terms]
    first = (
        bool(affinity)
        and all(not counts for _, counts in affinity)
        and all(cache.resolved(term).matches(pod) for term in pod.affinity_terms)
    )
    state[NAME] = AffinityState(
        affinity=affinity,
        affinity_first_of_group=first,
        anti_affinity=[(term, cache.count_by_domain(term)) for term in pod.anti_affinity_terms],
        blocked={key: domains for key, domains in blocked.items() if domains},
    )
    return True


def inter_pod_affinity(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    affinity: AffinityState = state[NAME]
    labels = node.labels
    # Kubernetes' order: the pod's affinity, its anti-affinity, then other pods' anti-affinity.
    if not affinity.affinity_first_of_group:
        for term, counts in affinity.affinity:
            domain = labels.get(term.topology_key)
            if domain is None or not counts.get(domain):
                return AFFINITY_MISMATCH
    for term, counts in affinity.anti_affinity:
        domain = labels.get(term.topology_key)
        if domain is not None and counts.get(domain):
            return ANTI_AFFINITY_MISMATCH
    for key, domains in affinity.blocked.items():
        if labels.get(key) in domains:
            return EXISTING_ANTI_AFFINITY
    return None


def _prescore_pod_affinity(
    state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]
) -> bool:
    if not (pod.preferred_affinity or pod.preferred_anti_affinity):
        return False
    state[SCORE_STATE] = [
        (weight, term.topology_key, cache.count_by_domain(term))
        for weight, term in pod.preferred_affinity
    ] + [
        (-weight, term.topology_key, cache.count_by_domain(term))
        for weight, term in pod.preferred_anti_affinity
    ]
    return True


def preferred_pod_affinity(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """sum of weight * matching pods in the node's domain, negative for anti-affinity."""
    total = 0.0
    for weight, key, counts in state[SCORE_STATE]:
        domain = node.labels.get(key)
        if domain is not None:
            total += weight * counts.get(domain, 0)
    return total


FILTER = FilterPlugin(
    NAME, inter_pod_affinity, prefilter=_prefilter_affinity, preemption_helps=True
)
SCORE = ScorePlugin(
    NAME, preferred_pod_affinity, weight=2, normalize=normalize_min_max,
    prescore=_prescore_pod_affinity,
)
