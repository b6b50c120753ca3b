"""scheduler/plugins/pod_topology_spread.py: PodTopologySpread: DoNotSchedule constraints
(filter), ScheduleAnyway constraints (score)."""

from __future__ import annotations

from typing import Any

from scheduler.model import ZONE_LABEL
from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_filter,
    run_score,
    zoned_nodes,
)


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


def test_schedule_anyway_spread_prefers_the_emptier_domain() -> None:
    nodes = [make_node("a", labels={ZONE_LABEL: "za"}), make_node("b", labels={ZONE_LABEL: "zb"})]
    cache = cache_of(nodes, [make_pod("w0", labels={"app": "web"}, node_name="a")])
    pod = make_pod("w1", labels={"app": "web"}, spec={"topologySpreadConstraints": [{
        "maxSkew": 1, "topologyKey": ZONE_LABEL, "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": "web"}}}]})
    assert run_score("PodTopologySpread", pod, cache) == {"a": 0.0, "b": 100.0}
