"""corral-controller: runs corral's controllers (ReplicaSet, Deployment, node
lifecycle, garbage collector, namespace) behind leader election.

corral-controller --server 10.0.0.1:7443
corral-controller --server 127.0.0.1:7443 --node-monitor-grace-period 5 --pod-eviction-timeout 5
"""

from __future__ import annotations

import logging

import click

from controller.manager import ALL_CONTROLLERS, LEASE_NAME, ControllerManager, Options
from corral.client import Client, runner

logger = logging.getLogger("corral.controller")


def options_from(flags: runner.Flags, controllers: str, workers: int,
                 node_monitor_grace_period: float, pod_eviction_timeout: float,
                 node_monitor_period: float) -> Options:
    try:
        return Options(
            controllers=tuple(c.strip() for c in controllers.split(",") if c.strip()),
            workers=workers,
            node_monitor_grace_period=node_monitor_grace_period,
            pod_eviction_timeout=pod_eviction_timeout,
            node_monitor_period=node_monitor_period,
            election=flags.election,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from None


@runner.command("controller", health_listen="127.0.0.1:10258", metrics_listen="0.0.0.0:10257",
                lease_name=LEASE_NAME)
@click.option("--controllers", default=",".join(ALL_CONTROLLERS), show_default=True,
              help="Comma-separated controllers to run.")
@click.option("--workers", type=int, default=4, show_default=True,
              help="Concurrent syncs per controller.")
@click.option("--node-monitor-grace-period", type=float, default=40.0, show_default=True,
              help="Seconds without a lease renewal before a node is NotReady.")
@click.option("--pod-eviction-timeout", type=float, default=60.0, show_default=True,
              help="Seconds a node may be NotReady before its pods are deleted.")
@click.option("--node-monitor-period", type=float, default=5.0, show_default=True,
              help="Seconds between looks at every node.")
def main(flags: runner.Flags, controllers: str, workers: int, node_monitor_grace_period: float,
         pod_eviction_timeout: float, node_monitor_period: float) -> runner.Service:
    """Runs corral's controllers behind leader election."""
    options = options_from(flags, controllers, workers, node_monitor_grace_period,
                           pod_eviction_timeout, node_monitor_period)

    async def serve() -> int:
        async with Client(flags.server) as client:
            await ControllerManager(client, options).run()
        # run() returns only when leadership was lost: exit so a fresh start competes again.
        logger.error("event=fatal reason=lost-leadership identity=%s", options.election.identity)
        return 1

    return serve
