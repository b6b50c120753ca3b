"""What one agent is told by its flags: the node it runs as, where it keeps
pod files, and how often it does each periodic thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.node import NodeShape
from corral.api.v1 import core_pb2


@dataclass
class AgentConfig:
    node_name: str
    address: str = "127.0.0.1"
    hostname: str = ""
    # The port of the agent's own gRPC service (Logs, Exec), as advertised in the Node.
    port: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[core_pb2.Taint] = field(default_factory=list)
    zone: str = ""
    capacity_cpu: str = ""
    capacity_memory: str = ""
    max_pods: int = 110
    reserved_cpu: str = "0"
    reserved_memory: str = "0"
    root_dir: Path = Path("/var/lib/corral-agent")
    backoff_base: float = 10.0
    backoff_cap: float = 300.0
    backoff_reset: float = 600.0
    lease_duration: int = 40
    lease_interval: float = 10.0
    status_interval: float = 10.0
    heartbeat_interval: float = 40.0
    housekeeping_interval: float = 10.0
    metrics_interval: float = 15.0
    workers: int = 8

    def shape(self) -> NodeShape:
        return NodeShape(
            name=self.node_name, address=self.address, hostname=self.hostname or self.node_name,
            port=self.port, labels=self.labels, taints=self.taints, zone=self.zone,
            capacity_cpu=self.capacity_cpu, capacity_memory=self.capacity_memory,
            max_pods=self.max_pods, reserved_cpu=self.reserved_cpu,
            reserved_memory=self.reserved_memory,
        )
