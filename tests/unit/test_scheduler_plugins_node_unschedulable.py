"""scheduler/plugins/node_unschedulable.py: NodeUnschedulable: cordoned nodes."""

from __future__ import annotations

from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_filter,
)


def test_cordoned_node_takes_only_pods_tolerating_unschedulable() -> None:
    cache = cache_of([make_node("n", unschedulable=True)])
    assert run_filter("NodeUnschedulable", make_pod("p"), cache, "n") == (
        "node(s) were unschedulable"
    )
    tolerant = make_pod("t", spec={"tolerations": [
        {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}
    ]})
    assert run_filter("NodeUnschedulable", tolerant, cache, "n") is None
