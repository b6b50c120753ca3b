"""Docker nodes: one agent container per node on the local engine, from corral's service
image, so the cluster autoscaler works in the compose cluster. The agent drives the same
engine through its socket, so a node's pods are sibling containers, labelled with the node
(corral.node=NAME); they are removed with it.

Containers are found again by their labels, so a restarted autoscaler knows its nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors

from autoscaler.config import DockerOptions, NodeGroup
from autoscaler.providers.base import Provider, ProviderError, ProviderNode, agent_node_args

LABEL_GROUP = "corral.autoscaler.group"
LABEL_NODE = "corral.autoscaler.node"
LABEL_STARTED = "corral.autoscaler.started"
# The label the agent puts on the pod containers it makes.
AGENT_POD_LABEL = "corral.node"
DEFAULT_IMAGE_ENV = "CORRAL_IMAGE"
DEFAULT_IMAGE = "corral/corral:dev"
SOCKET = "/var/run/docker.sock"

_log = logging.getLogger("corral.autoscaler.docker")


def container_name(node: str) -> str:
    return f"corral-node-{node}"


class DockerProvider(Provider):
    name = "docker"

    def __init__(self, server: str, options: DockerOptions, *,
                 engine: Any | None = None) -> None:
        self.options = options
        self.image = options.image or os.environ.get(DEFAULT_IMAGE_ENV) or DEFAULT_IMAGE
        self.server = options.server or server
        self._engine = engine

    @property
    def engine(self) -> Any:
        if self._engine is None:
            try:
                self._engine = docker.from_env()
            except docker.errors.DockerException as error:
                raise ProviderError(f"cannot reach the Docker engine: {error}") from None
        return self._engine

    def run_arguments(self, group: NodeGroup, name: str) -> dict[str, Any]:
        """The containers.run keyword arguments for node `name` (pure, for tests)."""
        root = str(Path(self.options.agent_root) / name)
        # The image's entrypoint is `python3 -m`: the command names the service.
        command = [
            "agent", "--server", self.server, "--runtime", "docker",
            "--root-dir", root,
            "--capacity-cpu", group.capacity["cpu"],
            "--capacity-memory", group.capacity["memory"],
            *agent_node_args(group, name),
        ]
        if self.options.pod_network:
            command += ["--pod-network", self.options.pod_network]
        if self.options.pause_image:
            command += ["--pause-image", self.options.pause_image]
        command += self.options.agent_args
        arguments: dict[str, Any] = {
            "image": self.image,
            "command": command,
            "name": container_name(name),
            "hostname": name,
            "detach": True,
            "labels": {LABEL_GROUP: group.name, LABEL_NODE: name,
                       LABEL_STARTED: str(int(time.time()))},
            # The agent drives the engine and writes volume files at the same path as the
            # host sees them (the engine resolves bind mounts on the host).
            "volumes": {SOCKET: {"bind": SOCKET, "mode": "rw"},
                        root: {"bind": root, "mode": "rw"}},
            "restart_policy": {"Name": "unless-stopped"},
            # root, as in the compose file: the agent drives the engine through its socket.
            "user": "0:0",
            "init": True,
        }
        if self.options.network == "host":
            arguments["network_mode"] = "host"
            # Many agents share the host's ports: let each pick a free one.
            command += ["--listen", "0.0.0.0:0"]
        else:
            arguments["network"] = self.options.network
        return arguments

    async def start_node(self, group: NodeGroup, name: str) -> None:
        arguments = self.run_arguments(group, name)
        def run() -> Any:
            container = self.engine.containers.run(**arguments)
            for network in self.options.networks:
                self.engine.networks.get(network).connect(container)
            return container
        try:
            container = await asyncio.to_thread(run)
        except docker.errors.ImageNotFound:
            raise ProviderError(
                f"cannot start node {name}: image {self.image} is not on this engine "
                "(build it with `make up` or `deploy/cluster images`, or set docker.image)"
            ) from None
        except docker.errors.DockerException as error:
            raise ProviderError(f"cannot start node {name}: {error}") from None
        _log.info("event=started_docker_node node=%s group=%s container=%s",
                  name, group.name, container.short_id)

    async def stop_node(self, node: ProviderNode) -> None:
        if not node.name:
            raise ProviderError("cannot stop a node without a name")

        def stop() -> None:
            try:
                container = self.engine.containers.get(container_name(node.name))
                container.remove(force=True)
            except docker.errors.NotFound:
                pass
            # Whatever pods the agent left running (it was drained first, so normally none).
            for leftover in self.engine.containers.list(
                all=True, filters={"label": f"{AGENT_POD_LABEL}={node.name}"}
            ):
                with contextlib.suppress(docker.errors.NotFound):
                    leftover.remove(force=True, v=True)
        try:
            await asyncio.to_thread(stop)
        except docker.errors.DockerException as error:
            raise ProviderError(f"cannot stop node {node.name}: {error}") from None
        _log.info("event=stopped_docker_node node=%s", node.name)

    async def list_nodes(self) -> list[ProviderNode]:
        def listed() -> list[ProviderNode]:
            nodes = []
            for container in self.engine.containers.list(
                all=True, filters={"label": LABEL_NODE}
            ):
                labels = container.labels
                nodes.append(ProviderNode(
                    labels[LABEL_NODE], labels.get(LABEL_GROUP, ""),
                    float(labels.get(LABEL_STARTED, "0") or 0),
                ))
            return nodes
        try:
            return await asyncio.to_thread(listed)
        except docker.errors.DockerException as error:
            raise ProviderError(f"cannot list the autoscaler's containers: {error}") from None

    async def close(self) -> None:
        if self._engine is not None:
            await asyncio.to_thread(self._engine.close)
