"""corral-controller: runs corral's controllers (ReplicaSet, Deployment, node
lifecycle, garbage collector, namespace) behind leader election.

corral-controller --server 10.0.0.1:7443
corral-controller --server 127.0.0.1:7443 --node-monitor-grace-period 5 --pod-eviction-timeout 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from controller.manager import ALL_CONTROLLERS, LEASE_NAME, ControllerManager, Options
from corral.client import Client
from corral.client import log as corral_log
from corral.client import metrics as corral_metrics

logger = logging.getLogger("corral.controller")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="corral-controller", description=__doc__.splitlines()[0])
    p.add_argument("--server", default=None,
                   help="API server address (default $CORRAL_SERVER or 127.0.0.1:7443)")
    p.add_argument("--controllers", default=",".join(ALL_CONTROLLERS),
                   help="comma-separated controllers to run (default: all: %(default)s)")
    p.add_argument("--workers", type=int, default=4,
                   help="concurrent syncs per controller (default %(default)s)")
    p.add_argument("--node-monitor-grace-period", type=float, default=40.0,
                   help="seconds without a lease renewal before a node is NotReady "
                        "(default %(default)s)")
    p.add_argument("--pod-eviction-timeout", type=float, default=60.0,
                   help="seconds a node may be NotReady before its pods are deleted "
                        "(default %(default)s)")
    p.add_argument("--node-monitor-period", type=float, default=5.0,
                   help="seconds between looks at every node (default %(default)s)")
    p.add_argument("--leader-elect", action=argparse.BooleanOptionalAction, default=True,
                   help="act only while holding the leader lease (default: on)")
    p.add_argument("--leader-elect-lease-name", default=LEASE_NAME,
                   help="the Lease in corral-system (default %(default)s)")
    p.add_argument("--leader-elect-lease-duration", type=float, default=15.0)
    p.add_argument("--leader-elect-renew-deadline", type=float, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=float, default=2.0)
    p.add_argument("--identity", default=None, help="leader election identity "
                   "(default: host name and process id)")
    p.add_argument("--metrics-port", type=int, default=10257,
                   help="Prometheus /metrics port; 0 picks a free one, -1 disables "
                        "(default %(default)s)")
    p.add_argument("--health-listen", default="127.0.0.1:10258",
                   help="gRPC health service address; empty disables (default %(default)s)")
    p.add_argument("--log-level", default=None, help="debug, info, warning or error")
    return p.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    controllers = tuple(c.strip() for c in args.controllers.split(",") if c.strip())
    extra = {"identity": args.identity} if args.identity else {}
    return Options(
        controllers=controllers,
        workers=args.workers,
        node_monitor_grace_period=args.node_monitor_grace_period,
        pod_eviction_timeout=args.pod_eviction_timeout,
        node_monitor_period=args.node_monitor_period,
        leader_elect=args.leader_elect,
        lease_name=args.leader_elect_lease_name,
        lease_duration=args.leader_elect_lease_duration,
        renew_deadline=args.leader_elect_renew_deadline,
        retry_period=args.leader_elect_retry_period,
        **extra,
    )


async def _serve_health(address: str) -> grpc.aio.Server:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(address)
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    return server


async def run(args: argparse.Namespace, options: Options) -> int:
    health_server = await _serve_health(args.health_listen) if args.health_listen else None
    if args.metrics_port >= 0:
        port = corral_metrics.serve(args.metrics_port)
        logger.info("event=metrics_listening port=%d", port)
    async with Client(args.server) as client:
        manager = ControllerManager(client, options)
        main = asyncio.create_task(manager.run(), name="controller-manager")
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, main.cancel)
        try:
            await main
        except asyncio.CancelledError:
            logger.info("event=stopped reason=signal")
            return 0
        finally:
            if health_server is not None:
                with contextlib.suppress(Exception):
                    await health_server.stop(1)
    # run() returns only when leadership was lost: exit so a fresh start competes again.
    logger.error("event=fatal reason=lost-leadership identity=%s", options.identity)
    return 1


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    corral_log.setup("controller", args.log_level)
    try:
        options = options_from(args)
    except ValueError as error:
        print(f"corral-controller: error: {error}", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(run(args, options)))
