"""corral-autoscaler: scales pods with load (HorizontalPodAutoscalers) and, given a node
groups file, nodes with pods (the cluster autoscaler).

    corral-autoscaler --server 10.0.0.1:7443
    corral-autoscaler --server 10.0.0.1:7443 --node-groups groups.yaml --provider docker
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from autoscaler import config as node_groups
from autoscaler import hpa
from autoscaler.cluster import Settings
from autoscaler.hpa import DEFAULT_MAX_AGE, DEFAULT_SYNC_PERIOD
from autoscaler.service import Autoscaler, Options
from corral.client import log as corral_log
from corral.client import metrics as corral_metrics
from scheduler.config import InvalidConfig as InvalidSchedulerConfig


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="corral-autoscaler", description=__doc__.splitlines()[0])
    p.add_argument("--server", default=None,
                   help="API server address (default $CORRAL_SERVER or 127.0.0.1:7443)")
    hpa_flags = p.add_argument_group("horizontal pod autoscaling")
    hpa_flags.add_argument("--sync-period", type=_positive, default=DEFAULT_SYNC_PERIOD,
                           help="seconds between evaluations of each HPA (default %(default)s)")
    hpa_flags.add_argument("--tolerance", type=_non_negative, default=hpa.DEFAULT_TOLERANCE,
                           help="no change while current/target is within this of 1 "
                                "(default %(default)s)")
    hpa_flags.add_argument("--cpu-initialization-period", type=_non_negative,
                           default=hpa.DEFAULT_CPU_INITIALIZATION_PERIOD,
                           help="seconds after a pod starts when its cpu samples are only "
                                "trusted once it is ready (default %(default)s)")
    hpa_flags.add_argument("--initial-readiness-delay", type=_non_negative,
                           default=hpa.DEFAULT_INITIAL_READINESS_DELAY,
                           help="seconds after start in which readiness changes are treated "
                                "as start-up (default %(default)s)")
    hpa_flags.add_argument("--metrics-max-age", type=_positive, default=DEFAULT_MAX_AGE,
                           help="older PodMetrics samples count as missing (default "
                                "%(default)s s)")
    hpa_flags.add_argument("--hpa-workers", type=int, default=2,
                           help="HPAs synced at once (default %(default)s)")
    cluster = p.add_argument_group("cluster autoscaling (only with --node-groups)")
    cluster.add_argument("--node-groups", type=Path, default=None,
                         help="YAML file of node groups; without it nodes are not scaled")
    cluster.add_argument("--provider", choices=("docker", "hollow"), default="docker",
                         help="where new nodes run (default %(default)s)")
    cluster.add_argument("--scheduler-config", type=Path, default=None,
                         help="the scheduler's --config, so the scale-up simulation runs the "
                              "same filters (default: the scheduler's defaults)")
    cluster.add_argument("--hollow-log-dir", type=Path, default=None,
                         help="where hollow agents write their logs (default: discarded)")
    defaults = Settings()
    cluster.add_argument("--scan-interval", type=_positive, default=defaults.scan_interval,
                         help="seconds between passes (default %(default)s)")
    cluster.add_argument("--scale-down-enabled", default="true", choices=("true", "false"),
                         help="remove unneeded nodes (default %(default)s)")
    cluster.add_argument("--scale-down-utilization-threshold", type=_fraction,
                         default=defaults.scale_down_utilization_threshold,
                         help="a node whose requests are below this share of allocatable may "
                              "go (default %(default)s)")
    cluster.add_argument("--scale-down-unneeded-time", type=_non_negative,
                         default=defaults.scale_down_unneeded_time,
                         help="seconds a node must be unneeded before it goes (default "
                              "%(default)s)")
    cluster.add_argument("--scale-down-delay-after-add", type=_non_negative,
                         default=defaults.scale_down_delay_after_add,
                         help="seconds after a scale-up before scale-down resumes (default "
                              "%(default)s)")
    cluster.add_argument("--max-node-provision-time", type=_positive,
                         default=defaults.max_node_provision_time,
                         help="seconds a new node has to become ready (default %(default)s)")
    cluster.add_argument("--max-graceful-termination", type=_non_negative,
                         default=defaults.max_graceful_termination,
                         help="seconds to wait for a drained node's pods (default "
                              "%(default)s)")
    service = p.add_argument_group("service")
    service.add_argument("--leader-elect", default="true", choices=("true", "false"),
                         help="campaign for the corral-autoscaler lease (default %(default)s)")
    service.add_argument("--lease-duration", type=_positive, default=15.0)
    service.add_argument("--renew-deadline", type=_positive, default=10.0)
    service.add_argument("--retry-period", type=_positive, default=2.0)
    service.add_argument("--health-listen", default="0.0.0.0:8086",
                         help="address of the gRPC health service (default %(default)s)")
    service.add_argument("--metrics-port", type=int, default=8085,
                         help="Prometheus /metrics port; 0 picks one, -1 disables "
                              "(default %(default)s)")
    service.add_argument("--log-level", default=None, help="debug, info, warning or error")
    return p.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        server=args.server,
        sync_period=args.sync_period,
        tuning=hpa.Tuning(args.tolerance, args.cpu_initialization_period,
                          args.initial_readiness_delay),
        metrics_max_age=args.metrics_max_age,
        hpa_workers=max(1, args.hpa_workers),
        node_groups_file=args.node_groups,
        provider=args.provider,
        hollow_log_dir=args.hollow_log_dir,
        scheduler_config_file=args.scheduler_config,
        cluster=Settings(
            scan_interval=args.scan_interval,
            scale_down_enabled=args.scale_down_enabled == "true",
            scale_down_utilization_threshold=args.scale_down_utilization_threshold,
            scale_down_unneeded_time=args.scale_down_unneeded_time,
            scale_down_delay_after_add=args.scale_down_delay_after_add,
            max_node_provision_time=args.max_node_provision_time,
            max_graceful_termination=args.max_graceful_termination,
        ),
        leader_elect=args.leader_elect == "true",
        lease_duration=args.lease_duration,
        renew_deadline=args.renew_deadline,
        retry_period=args.retry_period,
        health_listen=args.health_listen,
    )


async def _run(service: Autoscaler) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    running = asyncio.create_task(service.run())
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([running, stopper], return_when=asyncio.FIRST_COMPLETED)
        if running in done:
            running.result()
    finally:
        for task in (running, stopper):
            task.cancel()
        await asyncio.gather(running, stopper, return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    corral_log.setup("autoscaler", args.log_level)
    try:
        service = Autoscaler(options_from(args))
    except node_groups.InvalidConfig as error:
        print(f"corral-autoscaler: --node-groups: {error}", file=sys.stderr)
        sys.exit(2)
    except InvalidSchedulerConfig as error:
        print(f"corral-autoscaler: --scheduler-config: {error}", file=sys.stderr)
        sys.exit(2)
    if args.metrics_port >= 0:
        corral_metrics.serve(args.metrics_port)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(service))
