"""Helpers for controller tests: objects to create, a stand-in for the scheduler
and agents, the controller manager run in-process, and waiting for conditions."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from controller.manager import LEASE_NAME, ControllerManager, Options
from corral.api import errors
from corral.api.v1 import apps_pb2, core_pb2
from corral.client import LeaderElection
from corral.client.client import Client

T = TypeVar("T")


def template(app: str, image: str) -> core_pb2.PodTemplateSpec:
    t = core_pb2.PodTemplateSpec()
    t.metadata.labels["app"] = app
    t.spec.containers.add(name="main", image=image)
    return t


def deployment(
    name: str, namespace: str, *, replicas: int = 3, image: str = "app:1",
    max_surge: str = "1", max_unavailable: str = "0", strategy: str = "RollingUpdate",
    progress_deadline: int | None = None, history: int | None = None,
) -> apps_pb2.Deployment:
    d = apps_pb2.Deployment()
    d.metadata.name = name
    d.metadata.namespace = namespace
    d.spec.replicas = replicas
    d.spec.selector.match_labels["app"] = name
    d.spec.template.CopyFrom(template(name, image))
    d.spec.strategy.type = strategy
    if strategy == "RollingUpdate":
        d.spec.strategy.rolling_update.max_surge = max_surge
        d.spec.strategy.rolling_update.max_unavailable = max_unavailable
    if progress_deadline is not None:
        d.spec.progress_deadline_seconds = progress_deadline
    if history is not None:
        d.spec.revision_history_limit = history
    return d


def replica_set(name: str, namespace: str, replicas: int, image: str = "app:1"
                ) -> apps_pb2.ReplicaSet:
    rs = apps_pb2.ReplicaSet()
    rs.metadata.name = name
    rs.metadata.namespace = namespace
    rs.spec.replicas = replicas
    rs.spec.selector.match_labels["app"] = name
    rs.spec.template.CopyFrom(template(name, image))
    return rs


def is_ready(pod: core_pb2.Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def is_live(pod: core_pb2.Pod) -> bool:
    return not pod.metadata.HasField("deletion_timestamp")


async def live_pods(client: Client, namespace: str, selector: str = "") -> list[core_pb2.Pod]:
    listed = await client.list(core_pb2.Pod, namespace, label_selector=selector)
    return [p for p in listed.items if is_live(p)]


class FakeNodes:
    """Plays scheduler and agent for one namespace: binds every pending pod to a node
    and marks it Running and Ready, except pods whose image is in `broken`."""

    def __init__(self, client: Client, namespace: str, nodes: tuple[str, ...] = ("node-a",),
                 broken: tuple[str, ...] = ("broken:1",), period: float = 0.05) -> None:
        self.client = client
        self.namespace = namespace
        self.nodes = nodes
        self.broken = broken
        self.period = period
        self._next = 0

    async def step(self) -> None:
        pods = await live_pods(self.client, self.namespace)
        for pod in pods:
            try:
                if not pod.spec.node_name:
                    node = self.nodes[self._next % len(self.nodes)]
                    self._next += 1
                    await self.client.bind([(pod.metadata.namespace, pod.metadata.name, node,
                                             pod.metadata.uid)])
                elif not is_ready(pod) and pod.status.phase != "Running" and not any(
                    c.image in self.broken for c in pod.spec.containers
                ):
                    await self.client.update_status(running_and_ready(pod))
            except (errors.NotFound, errors.Conflict):
                continue

    async def run(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.period)


def running_and_ready(pod: core_pb2.Pod) -> core_pb2.Pod:
    ready = core_pb2.Pod()
    ready.CopyFrom(pod)
    ready.status.phase = "Running"
    del ready.status.conditions[:]
    now = time.time()
    for type_ in ("PodScheduled", "Initialized", "ContainersReady", "Ready"):
        cond = ready.status.conditions.add(type=type_, status="True")
        cond.last_transition_time.FromSeconds(int(now))
    return ready


@contextlib.asynccontextmanager
async def background(coro: Awaitable[Any]) -> AsyncIterator[asyncio.Task[Any]]:
    task = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@contextlib.asynccontextmanager
async def running_manager(client: Client, **options: Any) -> AsyncIterator[ControllerManager]:
    """The controller manager in this event loop (no leader election unless asked)."""
    options.setdefault("election", LeaderElection(lease_name=LEASE_NAME, enabled=False))
    manager = ControllerManager(client, Options(**options))
    async with background(manager.run()) as task:
        ready = asyncio.ensure_future(manager.ready.wait())
        done, _ = await asyncio.wait([ready, task], timeout=30,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
        assert ready in done, "the controller manager did not start in 30 s"
        yield manager


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Calls check until it returns something truthy (and returns that)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await check()
        except (AssertionError, errors.NotFound) as error:
            last = error
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval)
