"""scheduler/plugins/node_ready.py: NodeReady: only ready nodes take pods."""

from __future__ import annotations

from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_filter,
)


def test_node_ready_refuses_a_node_whose_ready_condition_is_not_true() -> None:
    cache = cache_of([make_node("up"), make_node("down", ready=False)])
    assert run_filter("NodeReady", make_pod("p"), cache, "up") is None
    assert run_filter("NodeReady", make_pod("p"), cache, "down") == "node(s) were not ready"
