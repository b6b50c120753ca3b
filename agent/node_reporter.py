"""The node side of an agent: registers its Node, reports the node's status
(capacity, images, the Ready condition) and renews its Lease, the heartbeat the
node lifecycle controller watches. What the Node says is computed in
agent/node.py; this module reads the runtime and talks to the API.
"""

from __future__ import annotations

import contextlib
import logging
import time

from agent.config import AgentConfig
from agent.node import merge_registration, new_node, node_status
from agent.runtime import NodeFacts, Runtime, RuntimeUnavailable
from corral.api import errors, to_timestamp
from corral.api.v1 import coordination_pb2, core_pb2
from corral.client import Client

log = logging.getLogger("corral.agent")

LEASE_NAMESPACE = "corral-node-lease"


class NodeReporter:
    def __init__(self, config: AgentConfig, client: Client, runtime: Runtime) -> None:
        self.config = config
        self.client = client
        self.runtime = runtime
        self.node_name = config.node_name
        # The Node as last written, and what the runtime last said about the machine.
        self.node: core_pb2.Node | None = None
        self.facts: NodeFacts | None = None
        self.runtime_ready = False

    async def register(self) -> None:
        """Creates the Node (or adds our labels to one registered before), reports its
        status and takes the Lease."""
        self.facts = await self.runtime.node_facts()
        wanted = new_node(self.config.shape(), self.facts)
        try:
            node = await self.client.get(core_pb2.Node, self.node_name)
            if merge_registration(node, wanted):
                node = await self.client.update(node)
        except errors.NotFound:
            try:
                node = await self.client.create(wanted)
                log.info("event=node_registered node=%s", self.node_name)
            except errors.AlreadyExists:
                node = await self.client.get(core_pb2.Node, self.node_name)
        self.node = node
        await self.report_status()
        namespace = core_pb2.Namespace()
        namespace.metadata.name = LEASE_NAMESPACE
        with contextlib.suppress(errors.AlreadyExists):
            await self.client.create(namespace)
        await self.renew_lease()

    async def report_status(self) -> None:
        assert self.node is not None
        self.runtime_ready = await self.runtime.ping()
        if self.runtime_ready:
            with contextlib.suppress(RuntimeUnavailable):
                self.facts = await self.runtime.node_facts()
        assert self.facts is not None
        message = ("the agent is posting ready status" if self.runtime_ready
                   else "the container runtime does not answer")
        status = node_status(
            self.config.shape(), self.facts, ready=self.runtime_ready, message=message,
            old=self.node.status, now=time.time(),
            heartbeat_interval=self.config.heartbeat_interval,
        )
        if status == self.node.status:
            return
        node = core_pb2.Node()
        node.CopyFrom(self.node)
        node.status.CopyFrom(status)
        # The agent alone writes its node's status: no resourceVersion, no conflict.
        node.metadata.resource_version = ""
        try:
            self.node = await self.client.update_status(node)
        except errors.NotFound:
            log.warning("event=node_deleted node=%s: registering again", self.node_name)
            await self.register()

    async def renew_lease(self) -> None:
        now = to_timestamp(time.time())
        try:
            lease = await self.client.get(coordination_pb2.Lease, self.node_name, LEASE_NAMESPACE)
        except errors.NotFound:
            lease = coordination_pb2.Lease()
            lease.metadata.name = self.node_name
            lease.metadata.namespace = LEASE_NAMESPACE
            if self.node is not None:
                lease.metadata.owner_references.add(
                    api_version="v1", kind="Node", name=self.node_name, uid=self.node.metadata.uid)
            lease.spec.holder_identity = self.node_name
            lease.spec.lease_duration_seconds = self.config.lease_duration
            lease.spec.acquire_time.CopyFrom(now)
            lease.spec.renew_time.CopyFrom(now)
            with contextlib.suppress(errors.AlreadyExists):
                await self.client.create(lease)
            return
        lease.spec.holder_identity = self.node_name
        lease.spec.lease_duration_seconds = self.config.lease_duration
        lease.spec.renew_time.CopyFrom(now)
        await self.client.update(lease)
