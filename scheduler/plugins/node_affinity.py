"""NodeAffinity: the pod's nodeSelector and required node affinity (filter); the weights
of the preferred node affinity terms a node matches (score)."""

from __future__ import annotations

from scheduler.cache import Cache
from scheduler.model import NodeInfo, PodInfo
from scheduler.plugins.interface import CycleState, FilterPlugin, Reasons, ScorePlugin
from scheduler.plugins.normalize import normalize_by_max

NAME = "NodeAffinity"
NODE_AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"


def matches_node_constraints(pod: PodInfo, node: NodeInfo) -> bool:
    """nodeSelector (every label equal) and required node affinity (any term)."""
    labels = node.labels
    for key, value in pod.node_selector.items():
        if labels.get(key) != value:
            return False
    terms = pod.required_node_terms
    if terms is not None:
        term_labels = node.term_labels
        return any(term.matches(term_labels) for term in terms)
    return True


def _has_node_constraints(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    return pod.has_node_constraints


def node_affinity(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    return None if matches_node_constraints(pod, node) else NODE_AFFINITY_MISMATCH


def _has_preferred_node_terms(
    state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]
) -> bool:
    return bool(pod.preferred_node_terms)


def preferred_node_affinity(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """The sum of the weights of the preferred terms the node matches."""
    labels = node.term_labels
    return float(sum(weight for weight, term in pod.preferred_node_terms if term.matches(labels)))


FILTER = FilterPlugin(NAME, node_affinity, prefilter=_has_node_constraints, static=True)
SCORE = ScorePlugin(
    NAME, preferred_node_affinity, weight=2, normalize=normalize_by_max,
    prescore=_has_preferred_node_terms,
)
