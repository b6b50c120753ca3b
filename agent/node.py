"""The Node object an agent registers and the status it reports (pure).

Capacity comes from the runtime (or `--capacity-*` flags), allocatable is
capacity minus `--reserved-*`; the Ready condition's heartbeat time moves at
most every `heartbeat_interval` seconds, since the Lease is the real heartbeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.runtime import NodeFacts
from corral.api import quantity, to_seconds, to_timestamp
from corral.api.v1 import core_pb2

HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"
OS_LABEL = "kubernetes.io/os"
ARCH_LABEL = "kubernetes.io/arch"
# Kubernetes reports at most this many images.
MAX_IMAGES = 50
AGENT_VERSION = "corral-agent/0.1.0"


class FlagError(ValueError):
    """A malformed --labels, --taints, --capacity-* or --reserved-* value."""


def parse_labels(text: str) -> dict[str, str]:
    """`a=b,c=d` as a dict."""
    labels: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise FlagError(f"--labels: {part!r} is not KEY=VALUE")
        labels[key] = value
    return labels


def parse_taints(text: str) -> list[core_pb2.Taint]:
    """`key=value:Effect,key2:Effect` as taints."""
    taints = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        head, colon, effect = part.rpartition(":")
        if not colon or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise FlagError(f"--taints: {part!r} is not KEY[=VALUE]:EFFECT with EFFECT one of "
                            "NoSchedule, PreferNoSchedule, NoExecute")
        key, _, value = head.partition("=")
        if not key:
            raise FlagError(f"--taints: {part!r} has no key")
        taints.append(core_pb2.Taint(key=key, value=value, effect=effect))
    return taints


@dataclass
class NodeShape:
    """What the flags say about the node, beside what the runtime reports."""

    name: str
    address: str
    hostname: str
    port: int
    labels: dict[str, str]
    taints: list[core_pb2.Taint]
    zone: str = ""
    capacity_cpu: str = ""
    capacity_memory: str = ""
    max_pods: int = 110
    reserved_cpu: str = "0"
    reserved_memory: str = "0"


def _millis(text: str, what: str) -> int:
    try:
        return quantity.cpu_millis(text) if text else 0
    except quantity.InvalidQuantity as error:
        raise FlagError(f"{what}: {error}") from None


def _bytes(text: str, what: str) -> int:
    try:
        return quantity.to_int(text) if text else 0
    except quantity.InvalidQuantity as error:
        raise FlagError(f"{what}: {error}") from None


def resources(shape: NodeShape, facts: NodeFacts) -> tuple[dict[str, str], dict[str, str]]:
    """(capacity, allocatable) as quantities."""
    cpu = _millis(shape.capacity_cpu, "--capacity-cpu") or facts.cpu_millis
    memory = _bytes(shape.capacity_memory, "--capacity-memory") or facts.memory_bytes
    capacity = {"cpu": _format_millis(cpu), "memory": str(memory), "pods": str(shape.max_pods)}
    free_cpu = max(0, cpu - _millis(shape.reserved_cpu, "--reserved-cpu"))
    free_memory = max(0, memory - _bytes(shape.reserved_memory, "--reserved-memory"))
    allocatable = {"cpu": _format_millis(free_cpu), "memory": str(free_memory),
                   "pods": str(shape.max_pods)}
    return capacity, allocatable


def _format_millis(millis: int) -> str:
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def node_labels(shape: NodeShape, facts: NodeFacts) -> dict[str, str]:
    labels = {HOSTNAME_LABEL: shape.name, OS_LABEL: facts.operating_system or "linux"}
    if facts.architecture:
        labels[ARCH_LABEL] = {"x86_64": "amd64", "aarch64": "arm64"}.get(
            facts.architecture, facts.architecture)
    if shape.zone:
        labels[ZONE_LABEL] = shape.zone
    labels.update(shape.labels)
    return labels


def new_node(shape: NodeShape, facts: NodeFacts) -> core_pb2.Node:
    node = core_pb2.Node()
    node.metadata.name = shape.name
    node.metadata.labels.update(node_labels(shape, facts))
    node.spec.taints.extend(shape.taints)
    return node


def node_status(
    shape: NodeShape,
    facts: NodeFacts,
    *,
    ready: bool,
    message: str,
    old: core_pb2.NodeStatus,
    now: float,
    heartbeat_interval: float,
) -> core_pb2.NodeStatus:
    """The status to report; equal to `old` when nothing changed and no heartbeat is due."""
    status = core_pb2.NodeStatus()
    capacity, allocatable = resources(shape, facts)
    status.capacity.update(capacity)
    status.allocatable.update(allocatable)
    status.addresses.add(type="InternalIP", address=shape.address)
    status.addresses.add(type="Hostname", address=shape.hostname)
    status.daemon_endpoints.kubelet_endpoint.Port = shape.port
    info = status.node_info
    info.machine_id = facts.machine_id
    info.kernel_version = facts.kernel_version
    info.os_image = facts.os_image
    info.container_runtime_version = facts.runtime_version
    info.kubelet_version = AGENT_VERSION
    info.operating_system = facts.operating_system
    info.architecture = facts.architecture
    images = sorted(facts.images, key=lambda image: -image[1])[:MAX_IMAGES]
    for names, size in images:
        status.images.add(names=names, size_bytes=size)
    status.phase = "Running"
    condition = status.conditions.add(type="Ready", status="True" if ready else "False")
    condition.reason = "AgentReady" if ready else "ContainerRuntimeUnreachable"
    condition.message = message
    previous = next((c for c in old.conditions if c.type == "Ready"), None)
    if previous is not None and previous.status == condition.status:
        condition.last_transition_time.CopyFrom(previous.last_transition_time)
    else:
        condition.last_transition_time.CopyFrom(to_timestamp(now))
    beat = to_seconds(previous.last_heartbeat_time) if previous is not None else 0.0
    if previous is not None and now - beat < heartbeat_interval:
        condition.last_heartbeat_time.CopyFrom(previous.last_heartbeat_time)
    else:
        condition.last_heartbeat_time.CopyFrom(to_timestamp(now))
    return status


def merge_registration(existing: core_pb2.Node, wanted: core_pb2.Node) -> bool:
    """Adds the agent's labels to a Node registered before; True when it changed.
    Taints set by others (or cordoning) are left as they are."""
    changed = False
    for key, value in wanted.metadata.labels.items():
        if existing.metadata.labels.get(key) != value:
            existing.metadata.labels[key] = value
            changed = True
    return changed


def taints_text(taints: Sequence[core_pb2.Taint]) -> str:
    return ",".join(f"{t.key}={t.value}:{t.effect}" for t in taints)
