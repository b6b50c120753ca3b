"""scheduler/plugins/owner_spread.py: OwnerSpread: replicas of one owner spread over nodes."""

from __future__ import annotations

from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_score,
)


def test_owner_spread_prefers_nodes_without_replicas_of_the_same_owner() -> None:
    cache = cache_of([make_node("a"), make_node("b")],
                     [make_pod("r0", owner_uid="rs-1", node_name="a"),
                      make_pod("other", owner_uid="rs-2", node_name="b")])
    assert run_score("OwnerSpread", make_pod("r1", owner_uid="rs-1"), cache) == {
        "a": 0.0, "b": 100.0
    }
