"""The built-in scores: how good is this (feasible) node for this pod? Higher is better.

Each plugin's raw numbers are normalized to 0-100 over the nodes being compared and
weighted (defaults as in Kubernetes: taints 3; node affinity, pod affinity and topology
spread 2; the rest 1). Resource scores use the pod's "non-zero" requests, so pods
without requests still spread out."""

from __future__ import annotations

from collections import Counter

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
from scheduler.model import PREFER_NO_SCHEDULE, ZONE_LABEL, NodeInfo, PodInfo, tolerated

# -- resources -----------------------------------------------------------------------------------


@score_plugin("LeastAllocated", weight=1)
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


@score_plugin("BalancedAllocation", weight=1)
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
    by_zone: Counter[str] = Counter()
    for node_name, count in by_node.items():
        node = cache.nodes.get(node_name)
        zone = node.labels.get(ZONE_LABEL) if node is not None else None
        if zone is not None:
            by_zone[zone] += count
    state["OwnerSpread"] = (
        by_node, by_zone, max(by_node.values()), max(by_zone.values(), default=0)
    )
    return True


@score_plugin("OwnerSpread", weight=1, prescore=_prescore_owner)
def owner_spread(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """Fewer pods of the same owner on the node (1/3) and in its zone (2/3) is better, so
    replicas of a Deployment spread over nodes and zones (Kubernetes' SelectorSpread)."""
    by_node, by_zone, node_max, zone_max = state["OwnerSpread"]
    node_score = MAX_SCORE * (node_max - by_node.get(node.name, 0)) / node_max
    zone = node.labels.get(ZONE_LABEL)
    if zone is None or not zone_max:
        return node_score
    zone_score = MAX_SCORE * (zone_max - by_zone.get(zone, 0)) / zone_max
    return node_score / 3 + zone_score * 2 / 3


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
