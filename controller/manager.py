"""The controller manager: runs corral's controllers in one process, on one set of
shared informers, while this process holds the leader lease (so two replicas may
run and exactly one acts)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from controller.base import Controller
from controller.deployment import DeploymentController
from controller.endpointslice import EndpointSliceController
from controller.garbagecollector import GarbageCollector
from controller.namespace import NamespaceController
from controller.nodelifecycle import (
    DEFAULT_EVICTION_TIMEOUT,
    DEFAULT_GRACE_PERIOD,
    DEFAULT_MONITOR_PERIOD,
    NodeLifecycleController,
)
from controller.replicaset import ReplicaSetController
from corral.client import Client, EventRecorder, LeaderElection, SharedInformers

ALL_CONTROLLERS = ("replicaset", "deployment", "nodelifecycle", "garbagecollector", "namespace",
                   "endpointslice")
LEASE_NAME = "corral-controller-manager"
COMPONENT = "controller-manager"

_log = logging.getLogger("corral.controller")


@dataclass
class Options:
    controllers: tuple[str, ...] = ALL_CONTROLLERS
    workers: int = 4
    node_monitor_grace_period: float = DEFAULT_GRACE_PERIOD
    pod_eviction_timeout: float = DEFAULT_EVICTION_TIMEOUT
    node_monitor_period: float = DEFAULT_MONITOR_PERIOD
    election: LeaderElection = field(
        default_factory=lambda: LeaderElection(lease_name=LEASE_NAME))
    resync_period: float = 0.0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.controllers) - set(ALL_CONTROLLERS))
        if unknown:
            raise ValueError(f"unknown controllers {', '.join(unknown)}; "
                             f"known: {', '.join(ALL_CONTROLLERS)}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        for name in ("node_monitor_grace_period", "pod_eviction_timeout", "node_monitor_period"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name.replace('_', '-')} must be positive, "
                                 f"got {getattr(self, name)}")


class ControllerManager:
    def __init__(self, client: Client, options: Options | None = None) -> None:
        self.client = client
        self.options = options or Options()
        self.controllers: dict[str, Controller] = {}
        self.ready = asyncio.Event()

    def build(self, informers: SharedInformers, recorder: EventRecorder) -> dict[str, Controller]:
        o = self.options
        makers = {
            "replicaset": lambda: ReplicaSetController(
                self.client, informers, recorder, workers=o.workers),
            "deployment": lambda: DeploymentController(
                self.client, informers, recorder, workers=o.workers),
            "nodelifecycle": lambda: NodeLifecycleController(
                self.client, informers, recorder, grace_period=o.node_monitor_grace_period,
                eviction_timeout=o.pod_eviction_timeout, monitor_period=o.node_monitor_period),
            "garbagecollector": lambda: GarbageCollector(
                self.client, informers, recorder, workers=o.workers),
            "namespace": lambda: NamespaceController(self.client, informers, recorder),
            "endpointslice": lambda: EndpointSliceController(
                self.client, informers, recorder, workers=o.workers),
        }
        return {name: makers[name]() for name in o.controllers}

    async def run_controllers(self) -> None:
        """Runs every controller until cancelled (or one of them fails)."""
        informers = SharedInformers(self.client, resync_period=self.options.resync_period)
        recorder = EventRecorder(self.client, COMPONENT)
        self.controllers = self.build(informers, recorder)
        informers.start()
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(recorder.run(), name="event-recorder")
        ]
        try:
            while not await informers.wait_for_sync(timeout=30):
                _log.warning("event=waiting_for_caches informers=%s", ",".join(
                    i.describe() for i in informers.informers() if not i.has_synced))
            _log.info("event=caches_synced controllers=%s", ",".join(self.controllers))
            tasks += [
                asyncio.create_task(controller.run(), name=f"controller-{name}")
                for name, controller in self.controllers.items()
            ]
            self.ready.set()
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a controller only ends by failing: let it surface
        finally:
            self.ready.clear()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await informers.stop()

    async def run(self) -> None:
        """With leader election: waits for the lease, runs while holding it, and returns
        when it is lost (the caller should then exit, as Kubernetes' does)."""
        if not self.options.election.enabled:
            await self.run_controllers()
            return
        await self.options.election.elector(self.client).run(self.run_controllers)
