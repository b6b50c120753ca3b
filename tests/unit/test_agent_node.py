"""Node registration: flags, capacity and allocatable, heartbeat throttling."""

from __future__ import annotations

from typing import Any

import pytest

from agent.node import FlagError, NodeShape, new_node, node_status, parse_labels, parse_taints
from agent.runtime import NodeFacts
from corral.api.v1 import core_pb2

FACTS = NodeFacts(cpu_millis=2000, memory_bytes=8 * 1024**3, images=[(["corral/busybox:1"], 2)],
                  runtime_version="docker://20.10", kernel_version="6.1", os_image="Debian",
                  architecture="x86_64")


def shape(**overrides: Any) -> NodeShape:
    values: dict[str, Any] = {"name": "n1", "address": "10.0.0.1", "hostname": "host",
                                 "port": 10250, "labels": {}, "taints": []}
    values.update(overrides)
    return NodeShape(**values)


def test_labels_and_taints_flags_parse_or_say_what_is_wrong() -> None:
    assert parse_labels("a=1, b=2") == {"a": "1", "b": "2"}
    [taint] = parse_taints("gpu=yes:NoSchedule")
    assert (taint.key, taint.value, taint.effect) == ("gpu", "yes", "NoSchedule")
    with pytest.raises(FlagError, match="--labels: 'oops' is not KEY=VALUE"):
        parse_labels("oops")
    with pytest.raises(FlagError, match="EFFECT"):
        parse_taints("gpu=yes:Sometimes")


def test_allocatable_is_capacity_minus_reserved() -> None:
    status = node_status(shape(reserved_cpu="500m", reserved_memory="1Gi"), FACTS, ready=True,
                         message="", old=core_pb2.NodeStatus(), now=100.0,
                         heartbeat_interval=40)
    assert dict(status.capacity) == {"cpu": "2", "memory": str(8 * 1024**3), "pods": "110"}
    assert status.allocatable["cpu"] == "1500m"
    assert status.allocatable["memory"] == str(7 * 1024**3)
    assert status.daemon_endpoints.kubelet_endpoint.Port == 10250
    assert [(a.type, a.address) for a in status.addresses] == [("InternalIP", "10.0.0.1"),
                                                              ("Hostname", "host")]


def test_unchanged_status_is_equal_until_the_heartbeat_is_due() -> None:
    first = node_status(shape(), FACTS, ready=True, message="", old=core_pb2.NodeStatus(),
                        now=100.0, heartbeat_interval=40)
    again = node_status(shape(), FACTS, ready=True, message="", old=first, now=130.0,
                        heartbeat_interval=40)
    assert again == first
    later = node_status(shape(), FACTS, ready=True, message="", old=first, now=141.0,
                        heartbeat_interval=40)
    assert later != first
    down = node_status(shape(), FACTS, ready=False, message="no docker", old=first, now=131.0,
                       heartbeat_interval=40)
    [ready] = down.conditions
    assert ready.status == "False"
    assert ready.last_transition_time.seconds == 131


def test_new_node_carries_hostname_zone_and_flag_labels() -> None:
    node = new_node(shape(zone="z1", labels={"disk": "ssd"}), FACTS)
    assert node.metadata.labels["kubernetes.io/hostname"] == "n1"
    assert node.metadata.labels["topology.kubernetes.io/zone"] == "z1"
    assert node.metadata.labels["kubernetes.io/arch"] == "amd64"
    assert node.metadata.labels["disk"] == "ssd"
