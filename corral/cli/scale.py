"""`corral scale`: set the replicas of Deployments and ReplicaSets."""

from __future__ import annotations

import click

from corral.api import errors
from corral.cli.args import parse_scale_target
from corral.cli.common import (
    CliError,
    PartialFailure,
    echo_err,
    global_options,
    kind_arg,
    namespace_option,
    run,
    settings,
)
from corral.cli.printers import resource_name
from corral.client import Client


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="KIND NAME... | KIND/NAME...")
@click.option("--replicas", type=click.IntRange(min=0), required=True, help="The new count.")
@click.option("--current-replicas", type=int, default=None,
              help="Only scale if the count is this now.")
@namespace_option
@global_options
def scale(args: tuple[str, ...], replicas: int, current_replicas: int | None) -> None:
    """Set the replicas of Deployments or ReplicaSets.

    \b
    Examples:
      corral scale deploy/web --replicas=3
      corral scale deployment web --replicas 3
    """
    targets = parse_scale_target(args)
    resolved = [(kind_arg(target.kind), target.name) for target in targets]
    for kind, _ in resolved:
        if not kind.scalable:
            raise CliError(f"{kind.name} cannot be scaled (only Deployment and ReplicaSet)")
    namespace = settings().namespace

    async def body(client: Client) -> bool:
        ok = True
        for kind, name in resolved:
            try:
                if current_replicas is not None:
                    now = await client.scale(kind, name, namespace)
                    if now.replicas != current_replicas:
                        echo_err(f"error: {resource_name(kind)}/{name} has {now.replicas} "
                                 f"replicas, not {current_replicas}; not scaled")
                        ok = False
                        continue
                await client.scale(kind, name, namespace, replicas)
            except errors.NotFound as error:
                echo_err(f"error: {error.message}")
                ok = False
                continue
            click.echo(f"{resource_name(kind)}/{name} scaled")
        return ok

    if not run(body):
        raise PartialFailure()
