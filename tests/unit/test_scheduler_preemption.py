"""Preemption: which node and which victims make a high-priority pod fit."""

from __future__ import annotations

import random

from scheduler.cache import Cache
from scheduler.framework import Framework
from scheduler.model import pod_info
from scheduler.preemption import find_preemption
from scheduler.testing import make_node, make_pod


def cache_of(nodes, pods=()) -> Cache:
    cache = Cache()
    for node in nodes:
        cache.set_node(node)
    for pod in pods:
        cache.add_pod(pod_info(pod))
    return cache


def preempt(cache: Cache, pod):
    framework = Framework(rng=random.Random(0))
    info = pod_info(pod)
    result = framework.schedule(info, cache)
    assert result.node is None
    return find_preemption(framework, info, cache, result, random.Random(0))


def test_evicts_the_fewest_lowest_priority_pods_that_make_room() -> None:
    cache = cache_of([make_node("n", cpu="4")], [
        make_pod("keep", cpu="1", priority=5, node_name="n"),
        make_pod("small-low", cpu="1", priority=1, node_name="n"),
        make_pod("big-low", cpu="2", priority=1, node_name="n"),
    ])
    before = {key: (n.requested_cpu, n.pod_count) for key, n in cache.nodes.items()}
    preemption = preempt(cache, make_pod("vip", cpu="2", priority=10))
    assert preemption is not None and preemption.node == "n"
    # Evicting big-low alone frees 2 cpu; small-low and keep are spared.
    assert [victim.name for victim in preemption.victims] == ["big-low"]
    # The cache is left as it was.
    assert {key: (n.requested_cpu, n.pod_count) for key, n in cache.nodes.items()} == before
    assert len(cache.pods) == 3


def test_never_evicts_pods_of_equal_or_higher_priority() -> None:
    cache = cache_of([make_node("n", cpu="2")],
                     [make_pod("peer", cpu="2", priority=10, node_name="n")])
    assert preempt(cache, make_pod("vip", cpu="1", priority=10)) is None


def test_prefers_the_node_whose_victims_have_the_lowest_priority() -> None:
    cache = cache_of([make_node("a", cpu="2"), make_node("b", cpu="2")], [
        make_pod("a-pod", cpu="2", priority=5, node_name="a"),
        make_pod("b-pod", cpu="2", priority=1, node_name="b"),
    ])
    preemption = preempt(cache, make_pod("vip", cpu="2", priority=10))
    assert preemption is not None
    assert (preemption.node, [v.name for v in preemption.victims]) == ("b", ["b-pod"])


def test_does_not_preempt_where_eviction_cannot_help() -> None:
    cache = cache_of([make_node("tainted", cpu="2", taints=[("x", "", "NoSchedule")])],
                     [make_pod("low", cpu="2", priority=0, node_name="tainted")])
    assert preempt(cache, make_pod("vip", cpu="1", priority=10)) is None


def test_evicting_resolves_host_port_conflicts() -> None:
    cache = cache_of([make_node("n")], [make_pod("low", host_port=80, priority=0, node_name="n")])
    preemption = preempt(cache, make_pod("vip", host_port=80, priority=10))
    assert preemption is not None and [v.name for v in preemption.victims] == ["low"]


def test_assumed_victims_stay_assumed_after_the_simulation() -> None:
    cache = cache_of([make_node("n", cpu="1")])
    low = pod_info(make_pod("low", cpu="1", priority=0))
    cache.assume(low, "n")
    assert preempt(cache, make_pod("vip", cpu="1", priority=10)) is not None
    assert cache.is_assumed("default/low")
