"""Preemption: when a pod fits nowhere, find one node where evicting lower-priority pods
makes it fit, and the cheapest set of pods to evict there.

For each node that failed only on something eviction can change (resources, host ports,
pod anti-affinity, topology spread), every pod of lower priority is taken off the node
in the cache and the filters are run again. If the pod fits, victims are then given
back one by one, most important first, keeping each one whose return still lets the
pod fit ("reprieve"), so only the pods that must go are evicted. Among the nodes that
work, the one whose evictions hurt least wins: the lowest highest-victim priority, then
the lowest sum of priorities, then the fewest victims (Kubernetes' order).

The cache is changed while a node is examined and restored before returning; the
caller (one asyncio loop) does nothing else meanwhile.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from scheduler.cache import Cache
from scheduler.framework import Framework, ScheduleResult
from scheduler.model import PodInfo

MIN_CANDIDATES = 100
CANDIDATE_PERCENTAGE = 10


@dataclass
class Preemption:
    node: str
    victims: list[PodInfo]

    @property
    def cost(self) -> tuple[int, int, int]:
        priorities = [victim.priority for victim in self.victims]
        return max(priorities), sum(priorities), len(priorities)


def find_preemption(
    framework: Framework,
    pod: PodInfo,
    cache: Cache,
    result: ScheduleResult,
    rng: random.Random | None = None,
) -> Preemption | None:
    """The node and victims that let `pod` fit, or None when evicting cannot help."""
    rng = rng or random.Random()
    names = [
        name for name, (filter_name, _) in result.failures.items()
        if framework.preemption_helps(filter_name)
    ]
    rng.shuffle(names)
    wanted = max(MIN_CANDIDATES, len(cache.node_list()) * CANDIDATE_PERCENTAGE // 100)
    found: list[Preemption] = []
    for name in names:
        preemption = _victims_on(framework, pod, cache, name)
        if preemption is not None:
            found.append(preemption)
            if len(found) >= wanted:
                break
    if not found:
        return None
    best = min(preemption.cost for preemption in found)
    return rng.choice([preemption for preemption in found if preemption.cost == best])


def _victims_on(
    framework: Framework, pod: PodInfo, cache: Cache, node_name: str
) -> Preemption | None:
    node = cache.nodes.get(node_name)
    if node is None or not node.present:
        return None
    lower = [other for other in node.pods.values() if other.priority < pod.priority]
    if not lower:
        return None
    assumed = {other.key for other in lower if cache.is_assumed(other.key)}
    for other in lower:
        cache.remove_pod(other.key)
    victims: list[PodInfo] = []
    try:
        if framework.filter_node(pod, cache, node) is not None:
            victims = lower  # restored below; nothing to preempt here
            return None
        # Most important first: higher priority, then the longer running.
        for other in sorted(lower, key=lambda p: (-p.priority, p.created)):
            _put_back(cache, other, other.key in assumed)
            if framework.filter_node(pod, cache, node) is not None:
                cache.remove_pod(other.key)
                victims.append(other)
        return Preemption(node_name, victims)
    finally:
        for other in victims:
            _put_back(cache, other, other.key in assumed)


def _put_back(cache: Cache, pod: PodInfo, assumed: bool) -> None:
    if assumed:
        cache.assume(pod, pod.node_name)
    else:
        cache.add_pod(pod)
