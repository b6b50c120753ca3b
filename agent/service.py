"""The agent: one loop that wires its two sides and the periodic work together.

The node side (node_reporter.py) registers the Node, reports its status and
renews its Lease; the pod side (pod_sync.py) makes the node's containers match
the pods bound to it; the metrics sampler (metrics_sampler.py) publishes their
usage. This module starts them in order (the runtime, the Node, the caches, a
first housekeeping pass) and runs until cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from agent.config import AgentConfig
from agent.metrics_sampler import MetricsSampler
from agent.node_reporter import NodeReporter
from agent.pod_sources import PodSources
from agent.pod_sync import PodSync
from agent.runtime import Runtime, RuntimeUnavailable
from corral.api import errors
from corral.api.v1 import core_pb2
from corral.client import Client, EventRecorder, Informer, SharedInformers, run_workers

# agent/cli.py builds its agents from these.
__all__ = ["Agent", "AgentConfig"]

log = logging.getLogger("corral.agent")

# The source of the Events an agent records (the kubelet's are "kubelet").
EVENT_COMPONENT = "agent"


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        client: Client,
        runtime: Runtime,
        informers: SharedInformers | None = None,
        recorder: EventRecorder | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.runtime = runtime
        self.node_name = config.node_name
        self.informers = informers or SharedInformers(client)
        # Events about the node's pods (Pulled, Started, BackOff, Unhealthy, ...), written
        # by `run` in the background; a recorder passed in is run by whoever passed it.
        self._own_recorder = recorder is None
        self.recorder = recorder or EventRecorder(client, EVENT_COMPONENT, host=config.node_name)
        self.node_reporter = NodeReporter(config, client, runtime)
        self.pod_sync = PodSync(config, client, runtime, PodSources(self.informers),
                                self.recorder)
        self.ready = asyncio.Event()

    @property
    def pods(self) -> Informer[core_pb2.Pod]:
        """The cache of the pods bound to this node."""
        return self.pod_sync.pods

    async def run(self) -> None:
        """Runs until cancelled; containers are left running (a restarted agent adopts them)."""
        self.pod_sync.watch()
        await self._wait_for_runtime()
        await self.runtime.start(self.pod_sync.on_runtime_event)
        await self.node_reporter.register()
        tasks = [asyncio.create_task(self.pods.run(), name=f"pods-{self.node_name}")]
        if self._own_recorder:
            tasks.append(asyncio.create_task(self.recorder.run(),
                                             name=f"events-{self.node_name}"))
        self.informers.start()
        try:
            await self.pods.wait_for_sync()
            await self.informers.wait_for_sync()
            await self.pod_sync.housekeeping()
            sampler = MetricsSampler(self.node_name, self.runtime, self.client, self.pods,
                                     self.config.metrics_interval)
            tasks += [
                asyncio.create_task(run_workers(self.pod_sync.queue, self.pod_sync.sync,
                                                self.config.workers, log)),
                asyncio.create_task(self._every(self.config.lease_interval,
                                                self.node_reporter.renew_lease)),
                asyncio.create_task(self._every(self.config.status_interval,
                                                self.node_reporter.report_status)),
                asyncio.create_task(self._every(self.config.housekeeping_interval,
                                                self.pod_sync.housekeeping)),
                asyncio.create_task(self._every(self.config.metrics_interval, sampler.sample)),
            ]
            self.ready.set()
            log.info("event=agent_ready node=%s pods=%d", self.node_name, len(self.pods))
            await asyncio.gather(*tasks)
        finally:
            self.pod_sync.queue.shutdown()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.pod_sync.close()

    async def _every(self, seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()
            except asyncio.CancelledError:
                raise
            except (errors.ApiError, RuntimeUnavailable) as error:
                log.warning("event=periodic_failed node=%s action=%s error=%s: %s",
                            self.node_name, getattr(action, "__name__", action),
                            type(error).__name__, error)
            except Exception:
                log.exception("event=periodic_failed node=%s action=%s", self.node_name,
                              getattr(action, "__name__", action))

    async def _wait_for_runtime(self) -> None:
        delay = 0.5
        while not await self.runtime.ping():
            log.warning("event=runtime_unreachable node=%s retry_in=%.1fs", self.node_name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
