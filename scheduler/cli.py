"""corral-scheduler's flags: parses them and builds the scheduler; the runner does the rest."""

from __future__ import annotations

import logging

import click

from corral.api import DEFAULT_SCHEDULER_NAME
from corral.client import Client, runner
from scheduler.config import Config, InvalidConfig, load_config
from scheduler.framework import Framework
from scheduler.service import LEASE_NAME, Options, Scheduler

_log = logging.getLogger("corral.scheduler")


@runner.command("scheduler", health_listen="0.0.0.0:10251", metrics_listen="0.0.0.0:10259",
                lease_name=LEASE_NAME)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML file choosing plugins, weights and sampling (see scheduler/config.py).")
@click.option("--scheduler-name", default=DEFAULT_SCHEDULER_NAME, show_default=True,
              help="Schedule pods whose spec.schedulerName is this.")
@click.option("--percentage-of-nodes-to-score", type=click.IntRange(0, 100), default=None,
              help="Overrides the config: 0 adaptive, 100 every node.")
@click.option("--bind-batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.option("--event-qps", type=float, default=20.0, show_default=True,
              help="Events written per second at most (the rest are dropped).")
def main(
    flags: runner.Flags, config_path: str | None, scheduler_name: str,
    percentage_of_nodes_to_score: int | None, bind_batch_size: int, event_qps: float,
) -> runner.Service:
    """Binds pending pods to nodes."""
    try:
        config = load_config(config_path) if config_path else Config()
        if percentage_of_nodes_to_score is not None:
            config.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        Framework(config)  # fail now, with the config's own message, not in the loop
    except InvalidConfig as error:
        raise click.UsageError(str(error)) from None
    options = Options(
        scheduler_name=scheduler_name, config=config, election=flags.election,
        bind_batch_size=bind_batch_size, event_qps=event_qps,
    )

    async def serve() -> None:
        async with Client(flags.server) as client:
            scheduler = Scheduler(client, options)
            _log.info("event=starting server=%s identity=%s scheduler_name=%s",
                      client.address, options.election.identity, options.scheduler_name)
            await scheduler.run()

    return serve
