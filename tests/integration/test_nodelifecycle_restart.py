"""The node lifecycle controller started after the whole cluster was down (`make down`,
`make up` later): every lease and heartbeat is old, but the controller must measure
from when it first saw them, so nothing is marked NotReady or evicted at once."""

from __future__ import annotations

import asyncio
import copy
import time

import pytest
from google.protobuf.message import Message

from controller.nodelifecycle import AGENT_FINALIZER, NODE_LEASE_NAMESPACE, UNREACHABLE_TAINT
from corral.api.v1 import coordination_pb2, core_pb2
from corral.client.client import Client
from tests.integration.controller_harness import running_manager

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

LONG_AGO = time.time() - 3600  # the cluster was down for an hour
GRACE = 4.0
EVICTION = 1.0


async def _node(client: Client, name: str, *, ready: str) -> None:
    node = core_pb2.Node()
    node.metadata.name = name
    node.status.capacity["cpu"] = "4"
    node.status.capacity["pods"] = "110"
    if ready == "Unknown":  # left so by the controller that ran before the shutdown
        node.spec.taints.add(key=UNREACHABLE_TAINT, effect="NoExecute")
    changed = copy.deepcopy(await client.create(node))
    condition = changed.status.conditions.add(type="Ready", status=ready, reason="AgentReady")
    condition.last_transition_time.FromSeconds(int(LONG_AGO))
    condition.last_heartbeat_time.FromSeconds(int(LONG_AGO))
    await client.update_status(changed)
    lease = coordination_pb2.Lease()
    lease.metadata.name = name
    lease.metadata.namespace = NODE_LEASE_NAMESPACE
    lease.spec.holder_identity = name
    lease.spec.lease_duration_seconds = 40
    lease.spec.renew_time.FromSeconds(int(LONG_AGO))
    await client.create(lease)


async def _pod_on(client: Client, node: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = f"on-{node}"
    pod.metadata.namespace = "apps"
    pod.metadata.finalizers.append(AGENT_FINALIZER)
    pod.spec.containers.add(name="app", image="corral/busybox:1")
    created = await client.create(pod)
    await client.bind([("apps", created.metadata.name, node, created.metadata.uid)])
    return created


async def _renew(client: Client, name: str) -> None:
    def renew(lease: Message) -> None:
        assert isinstance(lease, coordination_pb2.Lease)
        lease.spec.renew_time.FromNanoseconds(time.time_ns())

    await client.update_with_retry(coordination_pb2.Lease, name, NODE_LEASE_NAMESPACE, renew)


async def _ready_status(client: Client, name: str) -> str:
    node = await client.get(core_pb2.Node, name)
    return next(c.status for c in node.status.conditions if c.type == "Ready")


async def _pod_names(client: Client) -> set[str]:
    return {p.metadata.name for p in (await client.list(core_pb2.Pod, "apps")).items
            if not p.metadata.HasField("deletion_timestamp")}


async def test_a_restarted_controller_gives_nodes_with_old_leases_a_full_grace_period(
    private_apiserver,
):
    async with Client(private_apiserver.address) as client:
        ns = core_pb2.Namespace()
        ns.metadata.name = "apps"
        await client.create(ns)  # corral-node-lease exists from the API server's first start
        await _node(client, "was-ready", ready="True")
        await _node(client, "was-unknown", ready="Unknown")
        await _pod_on(client, "was-ready")
        await _pod_on(client, "was-unknown")
        both = {"on-was-ready", "on-was-unknown"}

        async with running_manager(client, controllers=("nodelifecycle",),
                                   node_monitor_grace_period=GRACE,
                                   pod_eviction_timeout=EVICTION, node_monitor_period=0.2):
            started = time.monotonic()
            # Within the grace period: nothing happens, whatever the objects' timestamps say.
            while time.monotonic() - started < GRACE - 1.0:
                assert await _ready_status(client, "was-ready") == "True"
                assert await _pod_names(client) == both
                await asyncio.sleep(0.2)

            # One agent comes back in time: its node stays Ready, its pod stays. The other
            # stays silent: its pod goes, but only after grace + eviction timeout.
            await _renew(client, "was-ready")
            renewed = time.monotonic()
            evicted_at: float | None = None
            while time.monotonic() - renewed < GRACE - 1.0 or evicted_at is None:
                assert time.monotonic() - started < 3 * GRACE, "the silent node's pod stayed"
                assert await _ready_status(client, "was-ready") == "True"
                names = await _pod_names(client)
                assert "on-was-ready" in names
                if evicted_at is None and "on-was-unknown" not in names:
                    evicted_at = time.monotonic()
                await asyncio.sleep(0.2)
            assert evicted_at - started >= GRACE + EVICTION - 0.5
