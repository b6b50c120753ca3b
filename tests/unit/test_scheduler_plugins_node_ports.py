"""scheduler/plugins/node_ports.py: NodePorts: host ports taken on a node, by its pods or
nominated ones."""

from __future__ import annotations

from scheduler.model import pod_info
from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_filter,
)


def test_host_port_taken_on_a_node_refuses_a_second_pod_with_it() -> None:
    cache = cache_of([make_node("a"), make_node("b")],
                     [make_pod("web", host_port=8080, node_name="a")])
    pod = make_pod("web2", host_port=8080)
    assert run_filter("NodePorts", pod, cache, "a") == (
        "node(s) didn't have free ports for the requested pod ports"
    )
    assert run_filter("NodePorts", pod, cache, "b") is None
    assert run_filter("NodePorts", make_pod("other", host_port=9090), cache, "a") is None


def test_host_ports_on_different_protocols_do_not_conflict() -> None:
    cache = cache_of([make_node("a")], [make_pod("dns", host_port=53, node_name="a")])
    udp = make_pod("dns-udp", host_port=53)
    udp.spec.containers[0].ports[0].protocol = "UDP"
    assert run_filter("NodePorts", udp, cache, "a") is None


def test_host_ports_of_pods_nominated_to_a_node_count_as_taken() -> None:
    cache = cache_of([make_node("n")])
    cache.nominate(pod_info(make_pod("vip", host_port=80, priority=10)), "n")
    assert run_filter("NodePorts", make_pod("p", host_port=80), cache, "n") == (
        "node(s) didn't have free ports for the requested pod ports"
    )
    assert run_filter("NodePorts", make_pod("p", host_port=81), cache, "n") is None
