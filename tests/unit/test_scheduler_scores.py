"""Every built-in score and the normalizers (no network)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from corral.api.v1 import core_pb2
from scheduler import scores as _registers_scores  # noqa: F401
from scheduler.cache import Cache
from scheduler.framework import (
    SCORES,
    Config,
    CycleState,
    Framework,
    normalize_by_max,
    normalize_min_max,
    normalize_reversed,
)
from scheduler.model import ZONE_LABEL, pod_info
from scheduler.testing import make_node, make_pod


def scores_of(name: str, pod, cache: Cache, nodes: list[str] | None = None) -> dict[str, float]:
    """The plugin's normalized 0-100 scores per node (all 0 when its pre-step skips)."""
    plugin = SCORES[name]
    info = pod_info(pod)
    infos = [cache.nodes[n] for n in (nodes or [n.name for n in cache.node_list()])]
    state = CycleState()
    if plugin.prescore is not None and not plugin.prescore(state, info, cache, infos):
        return {node.name: 0.0 for node in infos}
    raw = [plugin.score(state, info, node) for node in infos]
    if plugin.normalize is not None:
        raw = plugin.normalize(raw)
    return {node.name: round(value, 2) for node, value in zip(infos, raw, strict=True)}


def cache_of(nodes, pods=()) -> Cache:
    cache = Cache()
    for node in nodes:
        cache.set_node(node)
    for pod in pods:
        cache.add_pod(pod_info(pod))
    return cache


def test_normalizers_map_to_0_100() -> None:
    assert normalize_by_max([0, 5, 10]) == [0, 50, 100]
    assert normalize_by_max([0, 0]) == [0, 0]
    assert normalize_reversed([0, 1, 2]) == [100, 50, 0]
    assert normalize_reversed([0, 0]) == [100, 100]
    assert normalize_min_max([-4, 0, 4]) == [0, 50, 100]


def test_least_allocated_prefers_the_emptier_node() -> None:
    cache = cache_of([make_node("busy", cpu="4", memory="4Gi"),
                      make_node("idle", cpu="4", memory="4Gi")],
                     [make_pod("x", cpu="3", memory="3Gi", node_name="busy")])
    got = scores_of("LeastAllocated", make_pod("p", cpu="1", memory="1Gi"), cache)
    # idle: (3/4 free cpu, 3/4 free memory) → 75; busy: nothing free → 0.
    assert got == {"busy": 0.0, "idle": 75.0}


def test_least_allocated_counts_pods_without_requests_as_100m_and_200mi() -> None:
    cache = cache_of([make_node("n", cpu="1", memory="1000Mi")])
    got = scores_of("LeastAllocated", make_pod("p"), cache)
    assert got == {"n": pytest.approx((90 + 80) / 2)}


def test_balanced_allocation_prefers_even_cpu_and_memory_use() -> None:
    cache = cache_of([make_node("cpu-heavy", cpu="4", memory="4Gi"),
                      make_node("even", cpu="4", memory="4Gi")],
                     [make_pod("x", cpu="2", memory="100Mi", node_name="cpu-heavy")])
    got = scores_of("BalancedAllocation", make_pod("p", cpu="1", memory="1Gi"), cache)
    assert got["even"] == 100.0
    assert got["cpu-heavy"] < got["even"]


def test_preferred_node_affinity_sums_weights_of_matching_terms() -> None:
    cache = cache_of([make_node("both", labels={"ssd": "1", "fast": "1"}),
                      make_node("ssd", labels={"ssd": "1"}), make_node("none")])
    pod = make_pod("p", spec={"affinity": {"nodeAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 30, "preference": {"matchExpressions": [
                {"key": "ssd", "operator": "Exists"}]}},
            {"weight": 10, "preference": {"matchExpressions": [
                {"key": "fast", "operator": "Exists"}]}},
        ]}}})
    assert scores_of("NodeAffinity", pod, cache) == {"both": 100.0, "ssd": 75.0, "none": 0.0}


def test_prefer_no_schedule_taints_lower_the_score_unless_tolerated() -> None:
    cache = cache_of([make_node("clean"),
                      make_node("tainted", taints=[("spot", "", "PreferNoSchedule")])])
    assert scores_of("TaintToleration", make_pod("p"), cache) == {"clean": 100.0, "tainted": 0.0}
    tolerant = make_pod("t", spec={"tolerations": [{"key": "spot", "operator": "Exists"}]})
    assert scores_of("TaintToleration", tolerant, cache) == {"clean": 100.0, "tainted": 100.0}


def test_preferred_pod_affinity_and_anti_affinity_weigh_matching_pods_per_domain() -> None:
    nodes = [make_node("a", labels={ZONE_LABEL: "za"}), make_node("b", labels={ZONE_LABEL: "zb"})]
    cache = cache_of(nodes, [make_pod("cache-0", labels={"app": "cache"}, node_name="a")])
    near = make_pod("web", spec={"affinity": {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": ZONE_LABEL}}]}}})
    far = make_pod("batch", spec={"affinity": {"podAntiAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": ZONE_LABEL}}]}}})
    assert scores_of("InterPodAffinity", near, cache) == {"a": 100.0, "b": 0.0}
    assert scores_of("InterPodAffinity", far, cache) == {"a": 0.0, "b": 100.0}


def test_schedule_anyway_spread_prefers_the_emptier_domain() -> None:
    nodes = [make_node("a", labels={ZONE_LABEL: "za"}), make_node("b", labels={ZONE_LABEL: "zb"})]
    cache = cache_of(nodes, [make_pod("w0", labels={"app": "web"}, node_name="a")])
    pod = make_pod("w1", labels={"app": "web"}, spec={"topologySpreadConstraints": [{
        "maxSkew": 1, "topologyKey": ZONE_LABEL, "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": "web"}}}]})
    assert scores_of("PodTopologySpread", pod, cache) == {"a": 0.0, "b": 100.0}


def test_owner_spread_prefers_nodes_without_replicas_of_the_same_owner() -> None:
    cache = cache_of([make_node("a"), make_node("b")],
                     [make_pod("r0", owner_uid="rs-1", node_name="a"),
                      make_pod("other", owner_uid="rs-2", node_name="b")])
    assert scores_of("OwnerSpread", make_pod("r1", owner_uid="rs-1"), cache) == {
        "a": 0.0, "b": 100.0
    }


def test_image_locality_prefers_nodes_that_have_the_image() -> None:
    cache = cache_of([make_node("has", images={"app:1": 500 * 1024 * 1024}),
                      make_node("lacks")])
    got = scores_of("ImageLocality", make_pod("p", image="app:1"), cache)
    assert got["has"] > got["lacks"] == 0.0


def test_image_names_are_normalized() -> None:
    cache = cache_of([make_node("has", images={"docker.io/library/nginx:latest": 10**9})])
    assert scores_of("ImageLocality", make_pod("p", image="nginx"), cache)["has"] > 0


def test_equal_nodes_are_chosen_at_random_so_they_fill_evenly() -> None:
    cache = cache_of([make_node(f"n{i}", cpu="100", memory="100Gi") for i in range(4)])
    framework = Framework(Config(scores={"LeastAllocated": 1}), rng=random.Random(1))
    placed: Counter[str] = Counter()
    for i in range(40):
        pod = pod_info(make_pod(f"p{i}", cpu="1", memory="1Gi"))
        result = framework.schedule(pod, cache)
        assert result.node is not None
        cache.assume(pod, result.node)
        placed[result.node] += 1
    # Least allocated keeps them level: every node gets 10.
    assert set(placed.values()) == {10}


def test_preferred_pod_affinity_namespace_selector_only_weighs_pods_of_selected_namespaces(
) -> None:
    nodes = [make_node("a", labels={ZONE_LABEL: "za"}), make_node("b", labels={ZONE_LABEL: "zb"})]
    cache = cache_of(nodes, [
        make_pod("cache-a", namespace="ns-a", labels={"app": "cache"}, node_name="a"),
        make_pod("cache-b", namespace="ns-b", labels={"app": "cache"}, node_name="b"),
        make_pod("cache-b2", namespace="ns-b", labels={"app": "cache"}, node_name="b"),
    ])
    for name, team in (("ns-a", "a"), ("ns-b", "b")):
        namespace = core_pb2.Namespace()
        namespace.metadata.name = name
        namespace.metadata.labels["team"] = team
        cache.set_namespace(namespace)
    near = make_pod("web", spec={"affinity": {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": "cache"}},
            "namespaceSelector": {"matchLabels": {"team": "a"}},
            "topologyKey": ZONE_LABEL}}]}}})
    assert scores_of("InterPodAffinity", near, cache) == {"a": 100.0, "b": 0.0}
