"""Every built-in filter, on hand-made nodes and pods (no network)."""

from __future__ import annotations

from typing import Any

import pytest

from corral.api.v1 import core_pb2
from scheduler import filters as _registers_filters  # noqa: F401
from scheduler.cache import Cache
from scheduler.framework import FILTERS, CycleState, Framework, Reasons
from scheduler.model import ZONE_LABEL, InvalidPod, PodInfo, pod_info
from scheduler.testing import make_node, make_pod


def cache_of(nodes: list[core_pb2.Node], pods: list[core_pb2.Pod] = ()) -> Cache:  # type: ignore[assignment]
    cache = Cache()
    for node in nodes:
        cache.set_node(node)
    for pod in pods:
        cache.add_pod(pod_info(pod))
    return cache


def run_filter(name: str, pod: core_pb2.Pod | PodInfo, cache: Cache, node: str) -> Reasons:
    """The filter's verdict on one node; None also when its pre-step says "nothing to check"."""
    info = pod if isinstance(pod, PodInfo) else pod_info(pod)
    plugin = FILTERS[name]
    state = CycleState()
    if plugin.prefilter is not None and not plugin.prefilter(state, info, cache):
        return None
    return plugin.filter(state, info, cache.nodes[node])


# -- node state ----------------------------------------------------------------------------------


def test_node_ready_refuses_a_node_whose_ready_condition_is_not_true() -> None:
    cache = cache_of([make_node("up"), make_node("down", ready=False)])
    assert run_filter("NodeReady", make_pod("p"), cache, "up") is None
    assert run_filter("NodeReady", make_pod("p"), cache, "down") == "node(s) were not ready"


def test_cordoned_node_takes_only_pods_tolerating_unschedulable() -> None:
    cache = cache_of([make_node("n", unschedulable=True)])
    assert run_filter("NodeUnschedulable", make_pod("p"), cache, "n") == (
        "node(s) were unschedulable"
    )
    tolerant = make_pod("t", spec={"tolerations": [
        {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}
    ]})
    assert run_filter("NodeUnschedulable", tolerant, cache, "n") is None


# -- resources -----------------------------------------------------------------------------------


def test_node_with_4_cpu_and_3_5_requested_takes_0_5_cpu_and_refuses_0_6() -> None:
    cache = cache_of(
        [make_node("n", cpu="4")],
        [make_pod("a", cpu="2", node_name="n"), make_pod("b", cpu="1500m", node_name="n")],
    )
    assert run_filter("NodeResourcesFit", make_pod("half", cpu="0.5"), cache, "n") is None
    assert run_filter("NodeResourcesFit", make_pod("more", cpu="0.6"), cache, "n") == (
        "Insufficient cpu"
    )


def test_memory_is_checked_in_bytes() -> None:
    cache = cache_of([make_node("n", memory="1Gi")], [make_pod("a", memory="768Mi", node_name="n")])
    assert run_filter("NodeResourcesFit", make_pod("p", memory="256Mi"), cache, "n") is None
    assert run_filter("NodeResourcesFit", make_pod("p", memory="257Mi"), cache, "n") == (
        "Insufficient memory"
    )


def test_pod_without_requests_still_counts_against_pod_capacity() -> None:
    cache = cache_of([make_node("n", pods="2")], [make_pod("a", node_name="n")])
    assert run_filter("NodeResourcesFit", make_pod("b"), cache, "n") is None
    cache.add_pod(pod_info(make_pod("b", node_name="n")))
    assert run_filter("NodeResourcesFit", make_pod("c"), cache, "n") == "Too many pods"


def test_every_shortage_is_reported() -> None:
    cache = cache_of([make_node("n", cpu="1", memory="1Gi")])
    pod = make_pod("big", cpu="2", memory="2Gi")
    assert run_filter("NodeResourcesFit", pod, cache, "n") == (
        "Insufficient cpu", "Insufficient memory"
    )


def test_extended_resources_must_be_allocatable_on_the_node() -> None:
    cache = cache_of([make_node("gpu", extra_resources={"nvidia.com/gpu": "1"}), make_node("cpu")])
    pod = make_pod("train")
    pod.spec.containers[0].resources.requests["nvidia.com/gpu"] = "1"
    assert run_filter("NodeResourcesFit", pod, cache, "gpu") is None
    assert run_filter("NodeResourcesFit", pod, cache, "cpu") == "Insufficient nvidia.com/gpu"


def test_init_container_requests_count_when_larger_than_the_containers() -> None:
    pod = make_pod("p", cpu="100m", spec={"initContainers": [
        {"name": "init", "image": "i", "resources": {"requests": {"cpu": "2"}}}
    ]})
    assert pod_info(pod).cpu == 2000


def test_a_bad_quantity_names_the_pod_container_and_resource() -> None:
    pod = make_pod("p", cpu="lots")
    with pytest.raises(InvalidPod, match=r"pod default/p container main: requests.cpu"):
        pod_info(pod)


# -- node selector and affinity ------------------------------------------------------------------


def node_affinity(*terms: list[dict[str, Any]]) -> dict[str, Any]:
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": term} for term in terms]
    }}}}


def test_node_selector_needs_every_label() -> None:
    cache = cache_of([make_node("a", labels={"disk": "ssd", "zone": "z1"}),
                      make_node("b", labels={"disk": "hdd"})])
    pod = make_pod("p", spec={"nodeSelector": {"disk": "ssd"}})
    assert run_filter("NodeAffinity", pod, cache, "a") is None
    assert run_filter("NodeAffinity", pod, cache, "b") == (
        "node(s) didn't match Pod's node affinity/selector"
    )


@pytest.mark.parametrize(
    ("expression", "matching"),
    [
        ({"key": "disk", "operator": "In", "values": ["ssd", "nvme"]}, {"a"}),
        ({"key": "disk", "operator": "NotIn", "values": ["ssd"]}, {"b", "c"}),
        ({"key": "disk", "operator": "Exists"}, {"a", "b"}),
        ({"key": "disk", "operator": "DoesNotExist"}, {"c"}),
        ({"key": "cores", "operator": "Gt", "values": ["8"]}, {"b"}),
        ({"key": "cores", "operator": "Lt", "values": ["8"]}, {"a"}),
    ],
)
def test_required_node_affinity_operators(expression: dict[str, Any], matching: set[str]) -> None:
    cache = cache_of([
        make_node("a", labels={"disk": "ssd", "cores": "4"}),
        make_node("b", labels={"disk": "hdd", "cores": "16"}),
        make_node("c"),
    ])
    pod = make_pod("p", spec=node_affinity([expression]))
    assert {n for n in "abc" if run_filter("NodeAffinity", pod, cache, n) is None} == matching


def test_node_affinity_terms_are_ored_and_expressions_anded() -> None:
    cache = cache_of([
        make_node("a", labels={"disk": "ssd", "gpu": "yes"}),
        make_node("b", labels={"disk": "ssd"}),
        make_node("c", labels={"arch": "arm"}),
    ])
    pod = make_pod("p", spec=node_affinity(
        [{"key": "disk", "operator": "In", "values": ["ssd"]},
         {"key": "gpu", "operator": "Exists"}],
        [{"key": "arch", "operator": "In", "values": ["arm"]}],
    ))
    assert {n for n in "abc" if run_filter("NodeAffinity", pod, cache, n) is None} == {"a", "c"}


def test_match_fields_selects_a_node_by_name() -> None:
    cache = cache_of([make_node("a"), make_node("b")])
    pod = make_pod("p", spec={"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}
        ]}}}})
    assert run_filter("NodeAffinity", pod, cache, "a") is not None
    assert run_filter("NodeAffinity", pod, cache, "b") is None


# -- taints --------------------------------------------------------------------------------------


def test_no_schedule_taint_needs_a_toleration() -> None:
    cache = cache_of([make_node("gpu", taints=[("dedicated", "gpu", "NoSchedule")])])
    assert run_filter("TaintToleration", make_pod("p"), cache, "gpu") == (
        "node(s) had untolerated taint {dedicated: gpu}"
    )
    equal = make_pod("e", spec={"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]})
    exists = make_pod("x", spec={"tolerations": [{"key": "dedicated", "operator": "Exists"}]})
    everything = make_pod("all", spec={"tolerations": [{"operator": "Exists"}]})
    wrong_value = make_pod("w", spec={"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "cpu"}]})
    wrong_effect = make_pod("f", spec={"tolerations": [
        {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]})
    assert run_filter("TaintToleration", equal, cache, "gpu") is None
    assert run_filter("TaintToleration", exists, cache, "gpu") is None
    assert run_filter("TaintToleration", everything, cache, "gpu") is None
    assert run_filter("TaintToleration", wrong_value, cache, "gpu") is not None
    assert run_filter("TaintToleration", wrong_effect, cache, "gpu") is not None


def test_no_execute_taint_blocks_scheduling_and_prefer_no_schedule_does_not() -> None:
    cache = cache_of([make_node("x", taints=[("evict", "", "NoExecute")]),
                      make_node("soft", taints=[("meh", "", "PreferNoSchedule")])])
    assert run_filter("TaintToleration", make_pod("p"), cache, "x") == (
        "node(s) had untolerated taint {evict: }"
    )
    assert run_filter("TaintToleration", make_pod("p"), cache, "soft") is None


# -- host ports ----------------------------------------------------------------------------------


def test_host_port_taken_on_a_node_refuses_a_second_pod_with_it() -> None:
    cache = cache_of([make_node("a"), make_node("b")],
                     [make_pod("web", host_port=8080, node_name="a")])
    pod = make_pod("web2", host_port=8080)
    assert run_filter("NodePorts", pod, cache, "a") == (
        "node(s) didn't have free ports for the requested pod ports"
    )
    assert run_filter("NodePorts", pod, cache, "b") is None
    assert run_filter("NodePorts", make_pod("other", host_port=9090), cache, "a") is None


def test_host_ports_on_different_protocols_do_not_conflict() -> None:
    cache = cache_of([make_node("a")], [make_pod("dns", host_port=53, node_name="a")])
    udp = make_pod("dns-udp", host_port=53)
    udp.spec.containers[0].ports[0].protocol = "UDP"
    assert run_filter("NodePorts", udp, cache, "a") is None


# -- inter-pod affinity --------------------------------------------------------------------------


def anti_affinity(app: str, key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}}


def affinity(app: str, key: str = ZONE_LABEL) -> dict[str, Any]:
    return {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}}


def zoned_nodes() -> list[core_pb2.Node]:
    return [make_node("a1", labels={ZONE_LABEL: "a"}), make_node("a2", labels={ZONE_LABEL: "a"}),
            make_node("b1", labels={ZONE_LABEL: "b"})]


def test_anti_affinity_on_hostname_refuses_nodes_with_a_matching_pod() -> None:
    cache = cache_of(zoned_nodes(), [make_pod("web-0", labels={"app": "web"}, node_name="a1")])
    pod = make_pod("web-1", labels={"app": "web"}, spec=anti_affinity("web"))
    assert run_filter("InterPodAffinity", pod, cache, "a1") == (
        "node(s) didn't match pod anti-affinity rules"
    )
    assert run_filter("InterPodAffinity", pod, cache, "a2") is None


def test_anti_affinity_on_zone_refuses_the_whole_zone() -> None:
    cache = cache_of(zoned_nodes(), [make_pod("db-0", labels={"app": "db"}, node_name="a1")])
    pod = make_pod("db-1", labels={"app": "db"}, spec=anti_affinity("db", ZONE_LABEL))
    assert run_filter("InterPodAffinity", pod, cache, "a2") is not None
    assert run_filter("InterPodAffinity", pod, cache, "b1") is None


def test_existing_pods_anti_affinity_keeps_matching_pods_away() -> None:
    cache = cache_of(zoned_nodes(), [
        make_pod("loner", labels={"app": "loner"}, node_name="a1", spec=anti_affinity("noisy"))
    ])
    noisy = make_pod("noisy", labels={"app": "noisy"})
    assert run_filter("InterPodAffinity", noisy, cache, "a1") == (
        "node(s) didn't satisfy existing pods anti-affinity rules"
    )
    assert run_filter("InterPodAffinity", noisy, cache, "a2") is None
    assert run_filter("InterPodAffinity", make_pod("quiet"), cache, "a1") is None


def test_anti_affinity_only_counts_pods_of_the_terms_namespaces() -> None:
    cache = cache_of(zoned_nodes(), [
        make_pod("web-0", namespace="other", labels={"app": "web"}, node_name="a1")
    ])
    pod = make_pod("web-1", labels={"app": "web"}, spec=anti_affinity("web"))
    assert run_filter("InterPodAffinity", pod, cache, "a1") is None


def test_affinity_requires_a_matching_pod_in_the_same_zone() -> None:
    cache = cache_of(zoned_nodes(), [make_pod("cache-0", labels={"app": "cache"}, node_name="a1")])
    pod = make_pod("web", labels={"app": "web"}, spec=affinity("cache"))
    assert run_filter("InterPodAffinity", pod, cache, "a2") is None
    assert run_filter("InterPodAffinity", pod, cache, "b1") == (
        "node(s) didn't match pod affinity rules"
    )


def test_first_pod_of_a_self_affine_group_may_go_anywhere() -> None:
    cache = cache_of(zoned_nodes())
    first = make_pod("web-0", labels={"app": "web"}, spec=affinity("web"))
    assert run_filter("InterPodAffinity", first, cache, "b1") is None
    stranger = make_pod("other", labels={"app": "other"}, spec=affinity("web"))
    assert run_filter("InterPodAffinity", stranger, cache, "b1") is not None


# -- topology spread -----------------------------------------------------------------------------


def spread(max_skew: int, when: str = "DoNotSchedule", key: str = ZONE_LABEL) -> dict[str, Any]:
    return {"topologySpreadConstraints": [{
        "maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": {"app": "web"}},
    }]}


def test_topology_spread_refuses_the_zone_that_would_exceed_max_skew() -> None:
    cache = cache_of(zoned_nodes(), [
        make_pod("w0", labels={"app": "web"}, node_name="a1"),
        make_pod("w1", labels={"app": "web"}, node_name="a2"),
        make_pod("w2", labels={"app": "web"}, node_name="b1"),
    ])
    pod = make_pod("w3", labels={"app": "web"}, spec=spread(1))
    # zone a has 2, zone b has 1: a would become 3 - 1 = 2 > 1.
    assert run_filter("PodTopologySpread", pod, cache, "a1") == (
        "node(s) didn't match pod topology spread constraints"
    )
    assert run_filter("PodTopologySpread", pod, cache, "b1") is None
    assert run_filter("PodTopologySpread", make_pod("w3", labels={"app": "web"}, spec=spread(2)),
                      cache, "a1") is None


def test_topology_spread_refuses_nodes_without_the_key() -> None:
    cache = cache_of([*zoned_nodes(), make_node("nozone")])
    pod = make_pod("w", labels={"app": "web"}, spec=spread(1))
    assert "missing required label" in str(run_filter("PodTopologySpread", pod, cache, "nozone"))


def test_schedule_anyway_constraints_do_not_filter() -> None:
    cache = cache_of(zoned_nodes(), [make_pod("w0", labels={"app": "web"}, node_name="a1"),
                                     make_pod("w1", labels={"app": "web"}, node_name="a2")])
    pod = make_pod("w2", labels={"app": "web"}, spec=spread(1, "ScheduleAnyway"))
    assert run_filter("PodTopologySpread", pod, cache, "a1") is None


# -- the whole cycle -----------------------------------------------------------------------------


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


# -- namespaceSelector in pod affinity terms -----------------------------------------------------


def namespace(name: str, **labels: str) -> core_pb2.Namespace:
    ns = core_pb2.Namespace()
    ns.metadata.name = name
    ns.metadata.labels.update(labels)
    return ns


def team_namespaces(cache: Cache) -> Cache:
    for ns in (namespace("default"), namespace("ns-a", team="a"), namespace("ns-b", team="b")):
        cache.set_namespace(ns)
    return cache


def selecting_team(kind: str, app: str, team: dict[str, str] | None,
                   namespaces: list[str] | None = None) -> dict[str, Any]:
    term: dict[str, Any] = {"labelSelector": {"matchLabels": {"app": app}},
                            "topologyKey": "kubernetes.io/hostname"}
    if team is not None:
        term["namespaceSelector"] = {"matchLabels": team} if team else {}
    if namespaces is not None:
        term["namespaces"] = namespaces
    return {"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}


def test_anti_affinity_namespace_selector_only_counts_pods_in_namespaces_with_those_labels(
) -> None:
    cache = team_namespaces(cache_of(zoned_nodes(), [
        make_pod("web-a", namespace="ns-a", labels={"app": "web"}, node_name="a1"),
        make_pod("web-b", namespace="ns-b", labels={"app": "web"}, node_name="a2"),
    ]))
    pod = make_pod("web", labels={"app": "web"},
                   spec=selecting_team("podAntiAffinity", "web", {"team": "a"}))
    assert run_filter("InterPodAffinity", pod, cache, "a1") == (
        "node(s) didn't match pod anti-affinity rules"
    )
    assert run_filter("InterPodAffinity", pod, cache, "a2") is None


def test_affinity_namespace_selector_only_counts_pods_in_namespaces_with_those_labels() -> None:
    cache = team_namespaces(cache_of(zoned_nodes(), [
        make_pod("cache-a", namespace="ns-a", labels={"app": "cache"}, node_name="a1"),
        make_pod("cache-b", namespace="ns-b", labels={"app": "cache"}, node_name="b1"),
    ]))
    pod = make_pod("web", spec=selecting_team("podAffinity", "cache", {"team": "a"}))
    assert run_filter("InterPodAffinity", pod, cache, "a1") is None
    assert run_filter("InterPodAffinity", pod, cache, "b1") == (
        "node(s) didn't match pod affinity rules"
    )


def test_namespace_selector_adds_to_the_listed_namespaces() -> None:
    cache = team_namespaces(cache_of(zoned_nodes(), [
        make_pod("web-0", labels={"app": "web"}, node_name="a1"),
        make_pod("web-b", namespace="ns-b", labels={"app": "web"}, node_name="a2"),
    ]))
    pod = make_pod("web", spec=selecting_team(
        "podAntiAffinity", "web", {"team": "a"}, namespaces=["default"]))
    assert run_filter("InterPodAffinity", pod, cache, "a1") is not None
    assert run_filter("InterPodAffinity", pod, cache, "a2") is None


def test_empty_namespace_selector_selects_every_namespace() -> None:
    cache = team_namespaces(cache_of(zoned_nodes(), [
        make_pod("web-b", namespace="ns-b", labels={"app": "web"}, node_name="a2"),
    ]))
    pod = make_pod("web", spec=selecting_team("podAntiAffinity", "web", {}))
    assert run_filter("InterPodAffinity", pod, cache, "a2") is not None
    assert run_filter("InterPodAffinity", pod, cache, "a1") is None


def test_existing_pods_anti_affinity_namespace_selector_looks_at_the_incoming_pods_namespace(
) -> None:
    cache = team_namespaces(cache_of(zoned_nodes(), [
        make_pod("loner", labels={"app": "loner"}, node_name="a1",
                 spec=selecting_team("podAntiAffinity", "noisy", {"team": "a"})),
    ]))
    noisy_a = make_pod("noisy", namespace="ns-a", labels={"app": "noisy"})
    noisy_b = make_pod("noisy", namespace="ns-b", labels={"app": "noisy"})
    assert run_filter("InterPodAffinity", noisy_a, cache, "a1") == (
        "node(s) didn't satisfy existing pods anti-affinity rules"
    )
    assert run_filter("InterPodAffinity", noisy_b, cache, "a1") is None


def test_a_namespace_label_change_changes_which_pods_a_term_selects() -> None:
    cache = team_namespaces(cache_of(zoned_nodes(), [
        make_pod("web-b", namespace="ns-b", labels={"app": "web"}, node_name="a2"),
    ]))
    pod = pod_info(make_pod("web", spec=selecting_team("podAntiAffinity", "web", {"team": "a"})))
    assert run_filter("InterPodAffinity", pod, cache, "a2") is None
    assert cache.set_namespace(namespace("ns-b", team="a")) is True
    assert cache.set_namespace(namespace("ns-b", team="a")) is False  # unchanged
    assert run_filter("InterPodAffinity", pod, cache, "a2") is not None
    cache.remove_namespace("ns-b")
    assert run_filter("InterPodAffinity", pod, cache, "a2") is None


def test_a_bad_namespace_selector_names_the_pod_and_the_field() -> None:
    spec = selecting_team("podAffinity", "web", None)
    term = spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    term["namespaceSelector"] = {"matchExpressions": [{"key": "team", "operator": "Bogus"}]}
    with pytest.raises(InvalidPod, match=r"pod default/p: namespaceSelector: .*Bogus"):
        pod_info(make_pod("p", spec=spec))


# -- nominated pods ------------------------------------------------------------------------------


def test_resources_of_pods_nominated_to_a_node_count_for_less_or_equally_important_pods() -> None:
    cache = cache_of([make_node("n", cpu="2")], [make_pod("low", cpu="1", node_name="n")])
    cache.nominate(pod_info(make_pod("vip", cpu="1", priority=10)), "n")
    for priority in (0, 10):
        assert run_filter("NodeResourcesFit", make_pod("p", cpu="1", priority=priority),
                          cache, "n") == "Insufficient cpu"
    assert run_filter("NodeResourcesFit", make_pod("p", cpu="1", priority=11), cache, "n") is None
    # The nominated pod itself does not count against itself.
    assert run_filter("NodeResourcesFit", make_pod("vip", cpu="1", priority=10), cache, "n") is None


def test_host_ports_of_pods_nominated_to_a_node_count_as_taken() -> None:
    cache = cache_of([make_node("n")])
    cache.nominate(pod_info(make_pod("vip", host_port=80, priority=10)), "n")
    assert run_filter("NodePorts", make_pod("p", host_port=80), cache, "n") == (
        "node(s) didn't have free ports for the requested pod ports"
    )
    assert run_filter("NodePorts", make_pod("p", host_port=81), cache, "n") is None
