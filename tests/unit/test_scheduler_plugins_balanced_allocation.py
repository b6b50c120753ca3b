"""scheduler/plugins/balanced_allocation.py: BalancedAllocation: even cpu and memory use scores
higher."""

from __future__ import annotations

from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_score,
)


def test_balanced_allocation_prefers_even_cpu_and_memory_use() -> None:
    cache = cache_of([make_node("cpu-heavy", cpu="4", memory="4Gi"),
                      make_node("even", cpu="4", memory="4Gi")],
                     [make_pod("x", cpu="2", memory="100Mi", node_name="cpu-heavy")])
    got = run_score("BalancedAllocation", make_pod("p", cpu="1", memory="1Gi"), cache)
    assert got["even"] == 100.0
    assert got["cpu-heavy"] < got["even"]
