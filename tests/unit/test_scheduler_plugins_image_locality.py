"""scheduler/plugins/image_locality.py: ImageLocality: nodes that have the pod's images score
higher."""

from __future__ import annotations

from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_score,
)


def test_image_locality_prefers_nodes_that_have_the_image() -> None:
    cache = cache_of([make_node("has", images={"app:1": 500 * 1024 * 1024}),
                      make_node("lacks")])
    got = run_score("ImageLocality", make_pod("p", image="app:1"), cache)
    assert got["has"] > got["lacks"] == 0.0


def test_image_names_are_normalized() -> None:
    cache = cache_of([make_node("has", images={"docker.io/library/nginx:latest": 10**9})])
    assert run_score("ImageLocality", make_pod("p", image="nginx"), cache)["has"] > 0
