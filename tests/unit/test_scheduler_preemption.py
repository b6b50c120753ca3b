"""Preemption: which node and which victims make a high-priority pod fit."""

from __future__ import annotations

import random

from scheduler.cache import Cache
from scheduler.framework import Framework
from scheduler.model import pod_info
from scheduler.preemption import find_preemption
from scheduler.testing import cache_of, make_node, make_pod


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


def test_room_freed_for_a_nominated_preemptor_goes_to_it_not_to_a_less_important_pod() -> None:
    cache = cache_of([make_node("n", cpu="2"), make_node("full", cpu="1")], [
        make_pod("victim", cpu="2", priority=0, node_name="n"),
        make_pod("filler", cpu="1", priority=0, node_name="full"),
    ])
    vip = make_pod("vip", cpu="2", priority=10)
    preemption = preempt(cache, vip)
    assert preemption is not None and preemption.node == "n"
    cache.nominate(pod_info(vip), preemption.node)
    cache.remove_pod("default/victim")  # the victim is gone

    framework = Framework(rng=random.Random(0))
    low = pod_info(make_pod("low", cpu="1", priority=5))
    result = framework.schedule(low, cache)
    assert result.node is None
    assert result.failures["n"] == ("NodeResourcesFit", ("Insufficient cpu",))

    vip_info = pod_info(vip)
    assert framework.schedule(vip_info, cache).node == "n"
    cache.assume(vip_info, "n")
    assert cache.nominated_node("default/vip") is None  # placed: it holds the room itself


def test_a_nomination_of_a_less_important_pod_does_not_hold_room_against_a_more_important_one(
) -> None:
    cache = cache_of([make_node("n", cpu="2")])
    cache.nominate(pod_info(make_pod("mid", cpu="2", priority=5)), "n")
    framework = Framework(rng=random.Random(0))
    assert framework.schedule(pod_info(make_pod("vip", cpu="2", priority=10)), cache).node == "n"
    assert framework.schedule(pod_info(make_pod("peer", cpu="1", priority=5)), cache).node is None
