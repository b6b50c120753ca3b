"""The autoscaler service: wires the client, the shared informers, leader election, the
HPA loop and (with a node groups file) the cluster autoscaler loop. Health and metrics
are served by the runner (corral/client/runner.py), as for every service.

Only the leader acts; the others wait for the lease. A leader that loses the lease stops
its loops and campaigns again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

from autoscaler import config as node_groups
from autoscaler import hpa
from autoscaler.cluster import ClusterAutoscaler, Settings
from autoscaler.hpa import DEFAULT_MAX_AGE, DEFAULT_SYNC_PERIOD, HpaController, MetricsSource
from autoscaler.providers.base import Provider
from corral.api.v1 import autoscaling_pb2, core_pb2, metrics_pb2
from corral.client import Client, EventRecorder, LeaderElection, SharedInformers
from scheduler.config import load_config as load_scheduler_config
from scheduler.framework import Framework

LEASE_NAME = "corral-autoscaler"
HOST = socket.gethostname()

_log = logging.getLogger("corral.autoscaler")


@dataclass
class Options:
    server: str | None = None
    sync_period: float = DEFAULT_SYNC_PERIOD
    tuning: hpa.Tuning = field(default_factory=hpa.Tuning)
    metrics_max_age: float = DEFAULT_MAX_AGE
    hpa_workers: int = 2
    # The cluster autoscaler runs only with a node groups file.
    node_groups_file: Path | None = None
    provider: str = "docker"
    hollow_log_dir: Path | None = None
    # The scheduler's plugin config, for the scale-up simulation.
    scheduler_config_file: Path | None = None
    cluster: Settings = field(default_factory=Settings)
    election: LeaderElection = field(
        default_factory=lambda: LeaderElection(lease_name=LEASE_NAME))


def make_provider(options: Options, cluster_config: node_groups.Config, server: str) -> Provider:
    if options.provider == "hollow":
        from autoscaler.providers.hollow import HollowProvider

        return HollowProvider(server, log_dir=options.hollow_log_dir)
    if options.provider == "docker":
        from autoscaler.providers.docker import DockerProvider

        return DockerProvider(server, cluster_config.docker)
    raise ValueError(f"--provider: {options.provider!r} is not one of docker, hollow")



class Autoscaler:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.client = Client(options.server, timeout=30.0, retries=8)
        self.cluster_config = (
            node_groups.load(options.node_groups_file) if options.node_groups_file else None
        )
        self.scheduler_config = (
            load_scheduler_config(options.scheduler_config_file)
            if options.scheduler_config_file else None
        )
        if self.scheduler_config is not None:
            Framework(self.scheduler_config)  # fail now, with the config's own message
        self.hpa: HpaController | None = None
        self.cluster: ClusterAutoscaler | None = None

    async def run(self) -> None:
        _log.info("event=started server=%s cluster_autoscaler=%s",
                  self.client.address, self.cluster_config is not None)
        try:
            if not self.options.election.enabled:
                await self.lead()
                return
            elector = self.options.election.elector(self.client)
            while True:
                await elector.run(self.lead)
                _log.warning("event=lost_leadership identity=%s", elector.identity)
        finally:
            await self.client.close()

    async def lead(self) -> None:
        """The loops, while this process leads."""
        informers = SharedInformers(self.client)
        hpas = informers.informer(autoscaling_pb2.HorizontalPodAutoscaler)
        pods = informers.informer(core_pb2.Pod)
        pod_metrics = informers.informer(metrics_pb2.PodMetrics)
        source = MetricsSource(pods, pod_metrics, self.options.metrics_max_age)
        # Kubernetes' component names, as `corral describe` shows them in FROM.
        hpa_events = EventRecorder(self.client, "horizontal-pod-autoscaler", host=HOST)
        cluster_events = EventRecorder(self.client, "cluster-autoscaler", host=HOST)
        self.hpa = HpaController(
            self.client, hpas, source, hpa_events,
            sync_period=self.options.sync_period, tuning=self.options.tuning,
            workers=self.options.hpa_workers,
        )
        loops = [self.hpa.run()]
        provider: Provider | None = None
        if self.cluster_config is not None:
            provider = make_provider(self.options, self.cluster_config, self.client.address)
            self.cluster = ClusterAutoscaler(
                self.client, informers.informer(core_pb2.Node), pods, self.cluster_config,
                provider, cluster_events, self.options.cluster,
                scheduler_config=self.scheduler_config,
            )
        recorders = [asyncio.create_task(recorder.run(), name=f"events-{recorder.component}")
                     for recorder in (hpa_events, cluster_events)]
        informers.start()
        try:
            await informers.wait_for_sync()
            _log.info("event=caches_synced")
            if self.cluster is not None:
                loops.append(self.cluster.run())
            await asyncio.gather(*loops)
        finally:
            # What was decided last is worth writing down before leaving.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(hpa_events.flush(2.0), cluster_events.flush(2.0))
            for task in recorders:
                task.cancel()
            await asyncio.gather(*recorders, return_exceptions=True)
            await informers.stop()
            if provider is not None:
                with contextlib.suppress(Exception):
                    await provider.close()
