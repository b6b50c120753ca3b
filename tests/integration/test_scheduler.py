"""The scheduler against a real API server and etcd: nodes are created directly (no agents),
the scheduler runs in-process (or as processes for leader election)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from corral.api import errors
from corral.api.v1 import core_pb2
from corral.client import LeaderElection
from corral.client.client import Client
from scheduler.service import LEASE_NAME, Options, Scheduler
from scheduler.testing import make_node, make_pod
from tests.apiserver_process import ApiServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def scheduler_running(address: str, **options: Any) -> AsyncIterator[Scheduler]:
    client = Client(address)
    scheduler = Scheduler(
        client, Options(election=LeaderElection(lease_name=LEASE_NAME, enabled=False), **options))
    task = asyncio.create_task(scheduler.run())
    try:
        await asyncio.wait_for(scheduler.leading.wait(), 30)
        yield scheduler
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()


async def create_pod(client: Client, pod: core_pb2.Pod) -> core_pb2.Pod:
    pod.metadata.uid = ""  # the server assigns it
    return await client.create(pod)


async def wait_for(
    client: Client, name: str, check: Callable[[core_pb2.Pod], bool], timeout: float = 20
) -> core_pb2.Pod:
    deadline = time.monotonic() + timeout
    while True:
        pod = await client.get(core_pb2.Pod, name, "default")
        if check(pod):
            return pod
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {name} did not get there in {timeout}s: {pod}")
        await asyncio.sleep(0.1)


def bound(pod: core_pb2.Pod) -> bool:
    return bool(pod.spec.node_name)


def unschedulable(pod: core_pb2.Pod) -> bool:
    return any(c.type == "PodScheduled" and c.status == "False" for c in pod.status.conditions)


def scheduled_condition(pod: core_pb2.Pod) -> Any:
    return next(c for c in pod.status.conditions if c.type == "PodScheduled")


ANTI_AFFINITY = {"affinity": {"podAntiAffinity": {
    "requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
    ]
}}}


async def test_anti_affinity_spreads_three_replicas_and_leaves_the_fourth_pending(
    private_apiserver: ApiServerProcess,
) -> None:
    async with Client(private_apiserver.address) as client:
        for i in range(3):
            await client.create(make_node(f"node-{i}"))
        async with scheduler_running(private_apiserver.address):
            for i in range(4):
                await create_pod(client, make_pod(f"web-{i}", labels={"app": "web"},
                                                  cpu="100m", spec=ANTI_AFFINITY))
            placed = [await wait_for(client, f"web-{i}", lambda p: bound(p) or unschedulable(p))
                      for i in range(4)]
            nodes = [p.spec.node_name for p in placed if p.spec.node_name]
            assert sorted(nodes) == ["node-0", "node-1", "node-2"]
            pending = next(p for p in placed if not p.spec.node_name)
            condition = scheduled_condition(pending)
            assert condition.reason == "Unschedulable"
            assert condition.message == (
                "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."
            )
            await asyncio.sleep(1.5)
            listed = await client.list(core_pb2.Event, "default")
            reasons = {(e.involved_object.name, e.reason) for e in listed.items}
            assert (pending.metadata.name, "FailedScheduling") in reasons
            assert ("web-0", "Scheduled") in reasons or ("web-1", "Scheduled") in reasons


async def test_tainted_node_only_receives_tolerating_pods(
    private_apiserver: ApiServerProcess,
) -> None:
    async with Client(private_apiserver.address) as client:
        await client.create(make_node("gpu", taints=[("dedicated", "gpu", "NoSchedule")]))
        await client.create(make_node("plain"))
        tolerating = {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                       "effect": "NoSchedule"}],
                      "nodeSelector": {"kubernetes.io/hostname": "gpu"}}
        async with scheduler_running(private_apiserver.address):
            for i in range(6):
                await create_pod(client, make_pod(f"plain-{i}"))
            await create_pod(client, make_pod("trainer", spec=tolerating))
            for i in range(6):
                assert (await wait_for(client, f"plain-{i}", bound)).spec.node_name == "plain"
            assert (await wait_for(client, "trainer", bound)).spec.node_name == "gpu"


async def test_a_node_added_later_receives_the_pending_pod(
    private_apiserver: ApiServerProcess,
) -> None:
    async with Client(private_apiserver.address) as client:
        await client.create(make_node("small", cpu="1"))
        async with scheduler_running(private_apiserver.address):
            await create_pod(client, make_pod("big", cpu="2"))
            pending = await wait_for(client, "big", unschedulable)
            assert scheduled_condition(pending).message == (
                "0/1 nodes are available: 1 Insufficient cpu."
            )
            started = time.monotonic()
            await client.create(make_node("large", cpu="4"))
            placed = await wait_for(client, "big", bound)
            assert placed.spec.node_name == "large"
            # Retried because the node appeared, not by polling.
            assert time.monotonic() - started < 5


async def test_no_node_is_overcommitted_by_concurrent_decisions(
    private_apiserver: ApiServerProcess,
) -> None:
    async with Client(private_apiserver.address) as client:
        for i in range(3):
            await client.create(make_node(f"n{i}", cpu="1", pods="10"))
        async with scheduler_running(private_apiserver.address):
            await asyncio.gather(*(create_pod(client, make_pod(f"p{i}", cpu="300m"))
                                   for i in range(12)))
            await asyncio.sleep(3)
            pods = (await client.list(core_pb2.Pod, "default")).items
            per_node: dict[str, int] = {}
            for pod in pods:
                if pod.spec.node_name:
                    per_node[pod.spec.node_name] = per_node.get(pod.spec.node_name, 0) + 1
            # 1 cpu takes three 300m pods: 9 bound, 3 pending.
            assert per_node == {"n0": 3, "n1": 3, "n2": 3}


async def test_high_priority_pod_preempts_a_lower_priority_one(
    private_apiserver: ApiServerProcess,
) -> None:
    async with Client(private_apiserver.address) as client:
        await client.create(make_node("only", cpu="1"))
        async with scheduler_running(private_apiserver.address):
            await create_pod(client, make_pod("low", cpu="800m", priority=1,
                                              spec={"terminationGracePeriodSeconds": 0}))
            await wait_for(client, "low", bound)
            await create_pod(client, make_pod("vip", cpu="800m", priority=100))
            assert (await wait_for(client, "vip", bound)).spec.node_name == "only"
            with pytest.raises(errors.NotFound):
                await client.get(core_pb2.Pod, "low", "default")


def start_scheduler_process(address: str, identity: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--server", address, "--identity", identity,
         "--metrics-listen", "", "--health-listen", ""],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def test_a_killed_leader_is_replaced_within_the_lease_duration(
    private_apiserver: ApiServerProcess,
) -> None:
    address = private_apiserver.address
    async with Client(address) as client:
        await client.create(make_node("n1"))
        first = start_scheduler_process(address, "first")
        second = None
        try:
            await create_pod(client, make_pod("before"))
            await wait_for(client, "before", bound, timeout=30)
            second = start_scheduler_process(address, "second")
            await asyncio.sleep(3)  # the standby is up and waiting
            lease = await client.get("Lease", "corral-scheduler", "corral-system")
            assert lease.spec.holder_identity == "first"
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed = time.monotonic()
            await create_pod(client, make_pod("after"))
            await wait_for(client, "after", bound, timeout=30)
            assert time.monotonic() - killed < 18  # lease 15 s + retry period
            lease = await client.get("Lease", "corral-scheduler", "corral-system")
            assert lease.spec.holder_identity == "second"
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
