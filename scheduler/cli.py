"""corral-scheduler's flags: parses them and wires the client, metrics, health and loop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import click
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from corral.api import DEFAULT_SCHEDULER_NAME
from corral.client import Client, metrics
from corral.client import log as corral_log
from scheduler.config import Config, InvalidConfig, load_config
from scheduler.framework import Framework
from scheduler.service import LEASE_NAME, Options, Scheduler

_log = logging.getLogger("corral.scheduler")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--server", envvar="CORRAL_SERVER", default=None,
              help="API server address (default $CORRAL_SERVER or 127.0.0.1:7443).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML file choosing plugins, weights and sampling (see scheduler/framework.py).")
@click.option("--scheduler-name", default=DEFAULT_SCHEDULER_NAME, show_default=True,
              help="Schedule pods whose spec.schedulerName is this.")
@click.option("--leader-elect/--no-leader-elect", default=True, show_default=True,
              help="Act only while holding the Lease corral-system/<lease-name>.")
@click.option("--lease-name", default=LEASE_NAME, show_default=True)
@click.option("--identity", default=None, help="Leader election identity (default host-pid).")
@click.option("--percentage-of-nodes-to-score", type=click.IntRange(0, 100), default=None,
              help="Overrides the config: 0 adaptive, 100 every node.")
@click.option("--bind-batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.option("--event-qps", type=float, default=20.0, show_default=True,
              help="Events written per second at most (the rest are dropped).")
@click.option("--metrics-port", type=int, default=10259, show_default=True,
              help="Prometheus /metrics port; 0 picks one, -1 disables.")
@click.option("--health-port", type=int, default=10251, show_default=True,
              help="gRPC health port; 0 picks one, -1 disables.")
@click.option("--log-level", default=None, help="debug, info, warning or error.")
def main(
    server: str | None, config_path: str | None, scheduler_name: str, leader_elect: bool,
    lease_name: str, identity: str | None, percentage_of_nodes_to_score: int | None,
    bind_batch_size: int, event_qps: float, metrics_port: int, health_port: int,
    log_level: str | None,
) -> None:
    """Binds pending pods to nodes."""
    corral_log.setup("scheduler", log_level)
    try:
        config = load_config(config_path) if config_path else Config()
        if percentage_of_nodes_to_score is not None:
            config.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        Framework(config)  # fail now, with the config's own message, not in the loop
    except InvalidConfig as error:
        raise click.UsageError(str(error)) from None
    options = Options(
        scheduler_name=scheduler_name, config=config, leader_elect=leader_elect,
        identity=identity or f"{socket.gethostname()}-{os.getpid()}", lease_name=lease_name,
        bind_batch_size=bind_batch_size, event_qps=event_qps,
    )
    asyncio.run(_serve(server, options, metrics_port, health_port))


async def _serve(server: str | None, options: Options, metrics_port: int, health_port: int) -> None:
    if metrics_port >= 0:
        _log.info("event=metrics_listening port=%d", metrics.serve(metrics_port))
    health_server = None
    health_servicer = health.aio.HealthServicer()
    if health_port >= 0:
        health_server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, health_server)
        port = health_server.add_insecure_port(f"0.0.0.0:{health_port}")
        await health_server.start()
        _log.info("event=health_listening port=%d", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Client(server) as client:
        scheduler = Scheduler(client, options)
        _log.info("event=starting server=%s identity=%s scheduler_name=%s",
                  client.address, options.identity, options.scheduler_name)
        running = asyncio.create_task(scheduler.run())
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([running, stopping], return_when=asyncio.FIRST_COMPLETED)
        running.cancel()
        try:
            await running
        except asyncio.CancelledError:
            pass
        finally:
            stopping.cancel()
            if health_server is not None:
                await health_server.stop(1)
    _log.info("event=stopped")
