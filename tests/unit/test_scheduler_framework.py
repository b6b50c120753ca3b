"""The framework: plugin registry, the cycle's messages, sampling, and the cache's
assumptions."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from scheduler.cache import Cache
from scheduler.config import Config, InvalidConfig
from scheduler.framework import Framework
from scheduler.model import HOSTNAME_LABEL, pod_info
from scheduler.plugins import filter_plugin
from scheduler.testing import cache_of, make_node, make_pod


def cache_with_nodes(count: int, **kwargs) -> Cache:
    cache = Cache()
    for i in range(count):
        cache.set_node(make_node(f"n{i:04d}", **kwargs))
    return cache


def test_unknown_plugin_names_the_registered_ones() -> None:
    with pytest.raises(InvalidConfig, match=r"no filter plugin named 'Nope' \(registered: Node"):
        Framework(Config(filters=["Nope"]))


def test_a_new_filter_is_one_small_function() -> None:
    @filter_plugin("TestOnlyEvenNodes")
    def only_even(state, pod, node):
        return None if int(str(node.name)[1:]) % 2 == 0 else "node(s) were odd"

    framework = Framework(Config(filters=["NodeReady", "TestOnlyEvenNodes"]))
    cache = cache_with_nodes(4)
    result = framework.schedule(pod_info(make_pod("p")), cache)
    assert result.node in {"n0000", "n0002"}
    cache.set_node(make_node("n0000", ready=False))
    cache.set_node(make_node("n0002", ready=False))
    result = framework.schedule(pod_info(make_pod("p")), cache)
    assert result.message == (
        "0/4 nodes are available: 2 node(s) were not ready, 2 node(s) were odd."
    )


def test_unschedulable_message_counts_reasons_node_by_node() -> None:
    nodes = [make_node(f"small-{i}", cpu="1") for i in range(3)]
    nodes += [make_node(f"gpu-{i}", cpu="8", taints=[("dedicated", "gpu", "NoSchedule")])
              for i in range(2)]
    cache = cache_of(nodes)
    result = Framework().schedule(pod_info(make_pod("p", cpu="2")), cache)
    assert result.node is None
    assert result.message == (
        "0/5 nodes are available: 3 Insufficient cpu, "
        "2 node(s) had untolerated taint {dedicated: gpu}."
    )


def test_with_no_nodes_the_message_says_so() -> None:
    result = Framework().schedule(pod_info(make_pod("p")), Cache())
    assert result.node is None
    assert result.message == "0/0 nodes are available: no nodes in the cluster."


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
def test_a_module_listed_under_plugins_registers_its_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written against the import the framework's docs first gave third-party modules.
    (tmp_path / "corral_test_third_party_plugins.py").write_text(
        "from scheduler.framework import filter_plugin\n"
        "\n"
        "@filter_plugin('TestOnlyNodeZero')\n"
        "def only_node_zero(state, pod, node):\n"
        "    return None if node.name == 'n0000' else 'node(s) were not n0000'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    framework = Framework(Config(plugins=["corral_test_third_party_plugins"],
                                 filters=["NodeReady", "TestOnlyNodeZero"]))
    assert framework.schedule(pod_info(make_pod("p")), cache_with_nodes(3)).node == "n0000"


def test_a_plugins_module_that_cannot_be_imported_is_named() -> None:
    with pytest.raises(InvalidConfig, match=r"plugins: cannot import 'no_such_plugins'"):
        Framework(Config(plugins=["no_such_plugins"]))


def test_adaptive_sampling_looks_for_5_percent_of_nodes_and_at_least_100() -> None:
    framework = Framework()
    assert framework.feasible_nodes_to_find(50) == 50
    assert framework.feasible_nodes_to_find(1000) == 100
    assert framework.feasible_nodes_to_find(5000) == 250
    assert Framework(Config(percentage_of_nodes_to_score=42)).feasible_nodes_to_find(1000) == 420
    assert Framework(Config(percentage_of_nodes_to_score=100)).feasible_nodes_to_find(5000) == 5000


def test_sampling_stops_early_and_rotates_over_all_nodes() -> None:
    framework = Framework(Config(percentage_of_nodes_to_score=10, min_feasible_nodes=10))
    cache = cache_with_nodes(200, cpu="1000")
    chosen = set()
    for i in range(10):
        result = framework.schedule(pod_info(make_pod(f"p{i}")), cache)
        assert result.evaluated == 20
        chosen.add(result.node)
    # Each cycle looked at the next 20 nodes: ten cycles chose from ten disjoint windows.
    assert len({int(str(name)[1:]) // 20 for name in chosen}) == 10


def test_assumed_pod_counts_until_forgotten() -> None:
    cache = cache_with_nodes(1, cpu="1")
    framework = Framework(rng=random.Random(0))
    first = pod_info(make_pod("a", cpu="1"))
    cache.assume(first, str(framework.schedule(first, cache).node))
    assert framework.schedule(pod_info(make_pod("b", cpu="1")), cache).node is None
    cache.forget(first.key)
    assert framework.schedule(pod_info(make_pod("b", cpu="1")), cache).node == "n0000"


def test_confirmed_binding_replaces_the_assumption_without_double_counting() -> None:
    cache = cache_with_nodes(1, cpu="2")
    cache.assume(pod_info(make_pod("a", cpu="1")), "n0000")
    cache.add_pod(pod_info(make_pod("a", cpu="1", node_name="n0000")))
    node = cache.nodes["n0000"]
    assert (node.requested_cpu, node.pod_count, cache.is_assumed("default/a")) == (1000, 1, False)
    cache.forget("default/a")  # a confirmed pod is not forgotten
    assert node.pod_count == 1
    cache.remove_pod("default/a")
    assert (node.requested_cpu, node.pod_count) == (0, 0)


def test_deleted_node_keeps_its_pods_counted_but_takes_no_more() -> None:
    cache = cache_with_nodes(2)
    cache.add_pod(pod_info(make_pod("a", node_name="n0000")))
    cache.remove_node("n0000")
    assert [n.name for n in cache.node_list()] == ["n0001"]
    cache.remove_pod("default/a")
    assert "n0000" not in cache.nodes


def test_anti_affinity_index_forgets_terms_of_removed_pods() -> None:
    cache = cache_with_nodes(2)
    spec = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": HOSTNAME_LABEL}]}}}
    cache.add_pod(pod_info(make_pod("a", node_name="n0000", spec=spec)))
    incoming = pod_info(make_pod("x", labels={"app": "x"}))
    assert len(cache.anti_affinity_selecting(incoming)) == 1
    cache.remove_pod("default/a")
    assert cache.anti_affinity_selecting(incoming) == []
