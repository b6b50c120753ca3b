"""scheduler/plugins/least_allocated.py: LeastAllocated: emptier nodes score higher."""

from __future__ import annotations

import pytest

from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_score,
)


def test_least_allocated_prefers_the_emptier_node() -> None:
    cache = cache_of([make_node("busy", cpu="4", memory="4Gi"),
                      make_node("idle", cpu="4", memory="4Gi")],
                     [make_pod("x", cpu="3", memory="3Gi", node_name="busy")])
    got = run_score("LeastAllocated", make_pod("p", cpu="1", memory="1Gi"), cache)
    # idle: (3/4 free cpu, 3/4 free memory) → 75; busy: nothing free → 0.
    assert got == {"busy": 0.0, "idle": 75.0}


def test_least_allocated_counts_pods_without_requests_as_100m_and_200mi() -> None:
    cache = cache_of([make_node("n", cpu="1", memory="1000Mi")])
    got = run_score("LeastAllocated", make_pod("p"), cache)
    assert got == {"n": pytest.approx((90 + 80) / 2)}
