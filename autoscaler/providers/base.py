"""The provider interface: start and stop the machine behind a node, list what is running.

A provider only runs agents; the agent registers its Node with the API server. A node the
provider started carries the group label (config.GROUP_LABEL), so the autoscaler can tell
its groups' nodes apart from any other node.
"""

from __future__ import annotations

import abc
import secrets
from dataclasses import dataclass

from autoscaler.config import GROUP_LABEL, NodeGroup


class ProviderError(Exception):
    """Starting, stopping or listing nodes failed; the message says which node and why."""


@dataclass(frozen=True)
class ProviderNode:
    name: str
    group: str
    started: float  # seconds since the epoch


class Provider(abc.ABC):
    name = "provider"

    @abc.abstractmethod
    async def start_node(self, group: NodeGroup, name: str) -> None:
        """Starts an agent that registers node `name` shaped like `group`'s template."""

    @abc.abstractmethod
    async def stop_node(self, node: ProviderNode) -> None:
        """Stops the agent of `node` and removes what it left behind."""

    @abc.abstractmethod
    async def list_nodes(self) -> list[ProviderNode]:
        """The nodes this provider runs now, of every group."""

    async def close(self) -> None:  # noqa: B027 (optional hook)
        """Releases what the provider holds (not the nodes, unless they cannot outlive it)."""


def new_node_name(group: NodeGroup) -> str:
    """`GROUP-xxxxx`: unique enough for the nodes of one cluster."""
    return f"{group.name}-{secrets.token_hex(3)[:5]}"


def agent_node_args(group: NodeGroup, name: str) -> list[str]:
    """The agent flags that give node `name` its group's labels and taints."""
    labels = {**group.labels, GROUP_LABEL: group.name}
    args = ["--node-name", name, "--labels", ",".join(f"{k}={v}" for k, v in labels.items())]
    if group.taints:
        args += ["--taints", ",".join(
            f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}"
            for t in group.taints
        )]
    args += ["--max-pods", str(int(group.capacity.get("pods", "110")))]
    return args
