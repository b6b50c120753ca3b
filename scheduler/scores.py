"""The built-in scores: how good is this (feasible) node for this pod? Higher is better.

Each plugin's raw numbers are normalized to 0-100 over the nodes being compared and
weighted (defaults as in Kubernetes: taints 3; node affinity, pod affinity and topology
spread 2; the rest 1). Resource scores use the pod's "non-zero" requests, so pods
without requests still spread out."""

from __future__ import annotations

from scheduler.cache import Cache
from scheduler.framework import (
    MAX_SCORE,
    CycleState,
    normalize_by_max,
    normalize_min_max,
    normalize_min_max_reversed,
    normalize_reversed,
    score_plugin,
)
from scheduler.model import PREFER_NO_SCHEDULE, NodeInfo, PodInfo, tolerated

# -- resources -----------------------------------------------------------------------------------


def _least_allocated_nodes(state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> list[float]:
    cpu, memory = pod.nonzero_cpu, pod.nonzero_memory
    half = MAX_SCORE / 2
    # Free shares 1 - used/allocatable, clamped at 0 (conditionals: cheaper than max()).
    return [
        (
            (c if (c := 1.0 - (n.nonzero_cpu + cpu) * n.inverse_cpu) > 0.0 else 0.0)
            + (m if (m := 1.0 - (n.nonzero_memory + memory) * n.inverse_memory) > 0.0 else 0.0)
        ) * half
        for n in nodes
    ]


@score_plugin("LeastAllocated", weight=1, score_nodes=_least_allocated_nodes)
def least_allocated(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """The free share of cpu and memory after placing the pod, averaged: emptier is better."""
    cpu_total = node.allocatable_cpu
    memory_total = node.allocatable_memory
    cpu = (
        (cpu_total - node.nonzero_cpu - pod.nonzero_cpu) * MAX_SCORE / cpu_total
        if cpu_total else 0.0
    )
    memory = (
        (memory_total - node.nonzero_memory - pod.nonzero_memory) * MAX_SCORE / memory_total
        if memory_total else 0.0
    )
    return (max(cpu, 0.0) + max(memory, 0.0)) / 2


def _balanced_allocation_nodes(
    state: CycleState, pod: PodInfo, nodes: list[NodeInfo]
) -> list[float]:
    cpu, memory = pod.nonzero_cpu, pod.nonzero_memory
    half = MAX_SCORE / 2
    # Utilisation fractions clamped at 1; the score is 100 - 50 * |cpu - memory|.
    return [
        MAX_SCORE - half * abs(
            (c if (c := (n.nonzero_cpu + cpu) * n.inverse_cpu) < 1.0 else 1.0)
            - (m if (m := (n.nonzero_memory + memory) * n.inverse_memory) < 1.0 else 1.0)
        )
        for n in nodes
    ]


@score_plugin("BalancedAllocation", weight=1, score_nodes=_balanced_allocation_nodes)
def balanced_allocation(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """(1 - standard deviation of the cpu and memory utilisation fractions) * 100: a node
    whose cpu and memory fill at the same pace wastes less (Kubernetes' formula)."""
    cpu_total = node.allocatable_cpu
    memory_total = node.allocatable_memory
    if not cpu_total or not memory_total:
        return 0.0
    cpu = min(1.0, (node.nonzero_cpu + pod.nonzero_cpu) / cpu_total)
    memory = min(1.0, (node.nonzero_memory + pod.nonzero_memory) / memory_total)
    # The standard deviation of two values is half their difference.
    return (1.0 - abs(cpu - memory) / 2) * MAX_SCORE


# -- node affinity and taints --------------------------------------------------------------------


def _has_preferred_node_terms(
    state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]
) -> bool:
    return bool(pod.preferred_node_terms)


@score_plugin("NodeAffinity", weight=2, normalize=normalize_by_max,
              prescore=_has_preferred_node_terms)
def preferred_node_affinity(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """The sum of the weights of the preferred terms the node matches."""
    labels = node.term_labels
    return float(sum(weight for weight, term in pod.preferred_node_terms if term.matches(labels)))


def _has_prefer_taints(
    state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]
) -> bool:
    return any(node.taints for node in nodes)


@score_plugin("TaintToleration", weight=3, normalize=normalize_reversed,
              prescore=_has_prefer_taints)
def prefer_no_schedule_taints(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """How many PreferNoSchedule taints the pod does not tolerate (fewer is better)."""
    return float(sum(
        1 for taint in node.taints
        if taint.effect == PREFER_NO_SCHEDULE and not tolerated(pod.tolerations, taint)
    ))


# -- pods relative to other pods -----------------------------------------------------------------


def _prescore_pod_affinity(
    state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]
) -> bool:
    if not (pod.preferred_affinity or pod.preferred_anti_affinity):
        return False
    state["InterPodAffinityScore"] = [
        (weight, term.topology_key, cache.count_by_domain(term))
        for weight, term in pod.preferred_affinity
    ] + [
        (-weight, term.topology_key, cache.count_by_domain(term))
        for weight, term in pod.preferred_anti_affinity
    ]
    return True


@score_plugin("InterPodAffinity", weight=2, normalize=normalize_min_max,
              prescore=_prescore_pod_affinity)
def preferred_pod_affinity(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """sum of weight * matching pods in the node's domain, negative for anti-affinity."""
    total = 0.0
    for weight, key, counts in state["InterPodAffinityScore"]:
        domain = node.labels.get(key)
        if domain is not None:
            total += weight * counts.get(domain, 0)
    return total


def _prescore_spread(
    state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]
) -> bool:
    soft = [c for c in pod.spread_constraints if not c.hard]
    if not soft:
        return False
    state["PodTopologySpreadScore"] = [
        (c.topology_key, cache.count_by_domain(c.term, c.topology_key)) for c in soft
    ]
    return True


@score_plugin("PodTopologySpread", weight=2, normalize=normalize_min_max_reversed,
              prescore=_prescore_spread)
def soft_topology_spread(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """ScheduleAnyway constraints: matching pods already in the node's domains (fewer is
    better); a node without the key gets the worst count seen plus one."""
    total = 0.0
    for key, counts in state["PodTopologySpreadScore"]:
        domain = node.labels.get(key)
        if domain is None:
            total += max(counts.values(), default=0) + 1
        else:
            total += counts.get(domain, 0)
    return total


def _prescore_owner(state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]) -> bool:
    if not pod.owner_uid:
        return False
    by_node = cache.owner_counts(pod.owner_uid)
    if not by_node:
        return False
    state["OwnerSpread"] = (by_node, max(by_node.values()))
    return True


def _owner_spread_nodes(state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> list[float]:
    by_node, most = state["OwnerSpread"]
    return [MAX_SCORE * (most - by_node.get(n.name, 0)) / most for n in nodes]


@score_plugin("OwnerSpread", weight=1, prescore=_prescore_owner, score_nodes=_owner_spread_nodes)
def owner_spread(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """Fewer pods of the same owner (ReplicaSet, Job...) on the node is better, so replicas
    spread over nodes even when resource scores tie (Kubernetes' SelectorSpread, by node)."""
    by_node, most = state["OwnerSpread"]
    return MAX_SCORE * (most - by_node.get(node.name, 0)) / most


# -- images --------------------------------------------------------------------------------------

MB = 1024 * 1024
IMAGE_MIN_THRESHOLD = 23 * MB
IMAGE_MAX_THRESHOLD_PER_CONTAINER = 1000 * MB


def _prescore_images(state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]) -> bool:
    if not pod.images or not any(cache.nodes_with_image(image) for image in pod.images):
        return False
    total = max(1, len(cache.node_list()))
    # An image on many nodes says little about where to go: scale by how rare it is.
    state["ImageLocality"] = {
        image: cache.nodes_with_image(image) / total for image in pod.images
    }
    return True


@score_plugin("ImageLocality", weight=1, prescore=_prescore_images)
def image_locality(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """Nodes that already have the pod's images (as agents report in node status) start it
    sooner: the image sizes present, scaled by their spread, between 23 MB and 1000 MB per
    container mapped to 0-100 (Kubernetes' thresholds)."""
    spread = state["ImageLocality"]
    present = sum(
        node.images[image] * spread[image] for image in pod.images if image in node.images
    )
    top = IMAGE_MAX_THRESHOLD_PER_CONTAINER * len(pod.images)
    clamped = min(max(present, IMAGE_MIN_THRESHOLD), top)
    return MAX_SCORE * (clamped - IMAGE_MIN_THRESHOLD) / (top - IMAGE_MIN_THRESHOLD)
