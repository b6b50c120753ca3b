"""scheduler/plugins/node_affinity.py: NodeAffinity: nodeSelector and required node affinity
(filter), preferred node affinity (score)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_filter,
    run_score,
)


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
    assert run_score("NodeAffinity", pod, cache) == {"both": 100.0, "ssd": 75.0, "none": 0.0}
