"""corral-autoscaler: scales pods with load (HorizontalPodAutoscalers) and, given a node
groups file, nodes with pods (the cluster autoscaler).

    corral-autoscaler --server 10.0.0.1:7443
    corral-autoscaler --server 10.0.0.1:7443 --node-groups groups.yaml --provider docker
"""

from __future__ import annotations

from pathlib import Path

import click

from autoscaler import hpa
from autoscaler.cluster import Settings
from autoscaler.hpa import DEFAULT_MAX_AGE, DEFAULT_SYNC_PERIOD
from autoscaler.service import LEASE_NAME, Autoscaler, Options
from corral.client import configfile, runner

POSITIVE = click.FloatRange(min=0, min_open=True)
NON_NEGATIVE = click.FloatRange(min=0)
FRACTION = click.FloatRange(min=0, max=1, min_open=True)
DEFAULTS = Settings()


@runner.command("autoscaler", health_listen="0.0.0.0:8086", metrics_listen="0.0.0.0:8085",
                lease_name=LEASE_NAME)
# Horizontal pod autoscaling.
@click.option("--sync-period", type=POSITIVE, default=DEFAULT_SYNC_PERIOD, show_default=True,
              help="Seconds between evaluations of each HPA.")
@click.option("--tolerance", type=NON_NEGATIVE, default=hpa.DEFAULT_TOLERANCE, show_default=True,
              help="No change while current/target is within this of 1.")
@click.option("--cpu-initialization-period", type=NON_NEGATIVE,
              default=hpa.DEFAULT_CPU_INITIALIZATION_PERIOD, show_default=True,
              help="Seconds after a pod starts when its cpu samples are only trusted once it "
                   "is ready.")
@click.option("--initial-readiness-delay", type=NON_NEGATIVE,
              default=hpa.DEFAULT_INITIAL_READINESS_DELAY, show_default=True,
              help="Seconds after start in which readiness changes are treated as start-up.")
@click.option("--metrics-max-age", type=POSITIVE, default=DEFAULT_MAX_AGE, show_default=True,
              help="Seconds after which PodMetrics samples count as missing.")
@click.option("--hpa-workers", type=int, default=2, show_default=True,
              help="HPAs synced at once.")
# Cluster autoscaling (only with --node-groups).
@click.option("--node-groups", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML file of node groups; without it nodes are not scaled.")
@click.option("--provider", type=click.Choice(("docker", "hollow")), default="docker",
              show_default=True, help="Where new nodes run.")
@click.option("--scheduler-config", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="The scheduler's --config, so the scale-up simulation runs the same filters "
                   "(default: the scheduler's defaults).")
@click.option("--hollow-log-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where hollow agents write their logs (default: discarded).")
@click.option("--scan-interval", type=POSITIVE, default=DEFAULTS.scan_interval,
              show_default=True, help="Seconds between cluster autoscaler passes.")
@click.option("--scale-down-enabled", type=click.Choice(("true", "false")), default="true",
              show_default=True, help="Remove unneeded nodes.")
@click.option("--scale-down-utilization-threshold", type=FRACTION,
              default=DEFAULTS.scale_down_utilization_threshold, show_default=True,
              help="A node whose requests are below this share of allocatable may go.")
@click.option("--scale-down-unneeded-time", type=NON_NEGATIVE,
              default=DEFAULTS.scale_down_unneeded_time, show_default=True,
              help="Seconds a node must be unneeded before it goes.")
@click.option("--scale-down-delay-after-add", type=NON_NEGATIVE,
              default=DEFAULTS.scale_down_delay_after_add, show_default=True,
              help="Seconds after a scale-up before scale-down resumes.")
@click.option("--max-node-provision-time", type=POSITIVE,
              default=DEFAULTS.max_node_provision_time, show_default=True,
              help="Seconds a new node has to become ready.")
@click.option("--max-graceful-termination", type=NON_NEGATIVE,
              default=DEFAULTS.max_graceful_termination, show_default=True,
              help="Seconds to wait for a drained node's pods.")
def main(
    flags: runner.Flags, sync_period: float, tolerance: float, cpu_initialization_period: float,
    initial_readiness_delay: float, metrics_max_age: float, hpa_workers: int,
    node_groups: Path | None, provider: str, scheduler_config: Path | None,
    hollow_log_dir: Path | None, scan_interval: float, scale_down_enabled: str,
    scale_down_utilization_threshold: float, scale_down_unneeded_time: float,
    scale_down_delay_after_add: float, max_node_provision_time: float,
    max_graceful_termination: float,
) -> runner.Service:
    """Scales pods with load and, given --node-groups, nodes with pods."""
    options = Options(
        server=flags.server,
        sync_period=sync_period,
        tuning=hpa.Tuning(tolerance, cpu_initialization_period, initial_readiness_delay),
        metrics_max_age=metrics_max_age,
        hpa_workers=max(1, hpa_workers),
        node_groups_file=node_groups,
        provider=provider,
        hollow_log_dir=hollow_log_dir,
        scheduler_config_file=scheduler_config,
        cluster=Settings(
            scan_interval=scan_interval,
            scale_down_enabled=scale_down_enabled == "true",
            scale_down_utilization_threshold=scale_down_utilization_threshold,
            scale_down_unneeded_time=scale_down_unneeded_time,
            scale_down_delay_after_add=scale_down_delay_after_add,
            max_node_provision_time=max_node_provision_time,
            max_graceful_termination=max_graceful_termination,
        ),
        election=flags.election,
    )
    try:
        return Autoscaler(options).run
    except configfile.InvalidConfig as error:
        # The node groups file and the scheduler config share one loader; the message
        # names the file (and the key) that is wrong.
        raise click.UsageError(str(error)) from None
