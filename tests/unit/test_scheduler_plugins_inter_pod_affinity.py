"""scheduler/plugins/inter_pod_affinity.py: InterPodAffinity: required affinity and
anti-affinity to other pods, namespaceSelector included (filter), preferred ones (score)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.cache import Cache
from scheduler.model import ZONE_LABEL, InvalidPod, pod_info
from scheduler.testing import (
    cache_of,
    make_namespace,
    make_node,
    make_pod,
    run_filter,
    run_score,
    zoned_nodes,
)


def anti_affinity(app: str, key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}}


def affinity(app: str, key: str = ZONE_LABEL) -> dict[str, Any]:
    return {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}}


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


def team_namespaces(cache: Cache) -> Cache:
    for ns in (make_namespace("default"), make_namespace("ns-a", team="a"),
               make_namespace("ns-b", team="b")):
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
    assert cache.set_namespace(make_namespace("ns-b", team="a")) is True
    assert cache.set_namespace(make_namespace("ns-b", team="a")) is False  # unchanged
    assert run_filter("InterPodAffinity", pod, cache, "a2") is not None
    cache.remove_namespace("ns-b")
    assert run_filter("InterPodAffinity", pod, cache, "a2") is None


def test_a_bad_namespace_selector_names_the_pod_and_the_field() -> None:
    spec = selecting_team("podAffinity", "web", None)
    term = spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    term["namespaceSelector"] = {"matchExpressions": [{"key": "team", "operator": "Bogus"}]}
    with pytest.raises(InvalidPod, match=r"pod default/p: namespaceSelector: .*Bogus"):
        pod_info(make_pod("p", spec=spec))


def test_preferred_pod_affinity_and_anti_affinity_weigh_matching_pods_per_domain() -> None:
    nodes = [make_node("a", labels={ZONE_LABEL: "za"}), make_node("b", labels={ZONE_LABEL: "zb"})]
    cache = cache_of(nodes, [make_pod("cache-0", labels={"app": "cache"}, node_name="a")])
    near = make_pod("web", spec={"affinity": {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": ZONE_LABEL}}]}}})
    far = make_pod("batch", spec={"affinity": {"podAntiAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": ZONE_LABEL}}]}}})
    assert run_score("InterPodAffinity", near, cache) == {"a": 100.0, "b": 0.0}
    assert run_score("InterPodAffinity", far, cache) == {"a": 0.0, "b": 100.0}


def test_preferred_pod_affinity_namespace_selector_only_weighs_pods_of_selected_namespaces(
) -> None:
    nodes = [make_node("a", labels={ZONE_LABEL: "za"}), make_node("b", labels={ZONE_LABEL: "zb"})]
    cache = cache_of(nodes, [
        make_pod("cache-a", namespace="ns-a", labels={"app": "cache"}, node_name="a"),
        make_pod("cache-b", namespace="ns-b", labels={"app": "cache"}, node_name="b"),
        make_pod("cache-b2", namespace="ns-b", labels={"app": "cache"}, node_name="b"),
    ])
    for name, team in (("ns-a", "a"), ("ns-b", "b")):
        cache.set_namespace(make_namespace(name, team=team))
    near = make_pod("web", spec={"affinity": {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": "cache"}},
            "namespaceSelector": {"matchLabels": {"team": "a"}},
            "topologyKey": ZONE_LABEL}}]}}})
    assert run_score("InterPodAffinity", near, cache) == {"a": 100.0, "b": 0.0}
