"""scheduler/plugins/node_resources_fit.py: NodeResourcesFit: requests against what the node
has left, nominated pods included."""

from __future__ import annotations

import pytest

from scheduler.model import InvalidPod, pod_info
from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_filter,
)


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


def test_resources_of_pods_nominated_to_a_node_count_for_less_or_equally_important_pods() -> None:
    cache = cache_of([make_node("n", cpu="2")], [make_pod("low", cpu="1", node_name="n")])
    cache.nominate(pod_info(make_pod("vip", cpu="1", priority=10)), "n")
    for priority in (0, 10):
        assert run_filter("NodeResourcesFit", make_pod("p", cpu="1", priority=priority),
                          cache, "n") == "Insufficient cpu"
    assert run_filter("NodeResourcesFit", make_pod("p", cpu="1", priority=11), cache, "n") is None
    # The nominated pod itself does not count against itself.
    assert run_filter("NodeResourcesFit", make_pod("vip", cpu="1", priority=10), cache, "n") is None
