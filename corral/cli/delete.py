"""`corral delete`: objects by name, from manifests, by label selector, or all of a kind."""

from __future__ import annotations

import asyncio
import time

import click

from corral.api import errors, kinds, metadata
from corral.cli.apply import files_option, plan
from corral.cli.args import parse_targets
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

CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
           # kubectl's older spellings
           "true": "Background", "false": "Orphan"}
WAIT_POLL_SECONDS = 0.2


@click.command()
@click.argument("args", nargs=-1, metavar="[KIND NAME... | KIND/NAME... | KIND]")
@files_option(required=False)
@click.option("-l", "--selector", "label_selector", default="", metavar="SELECTOR",
              help="Delete the objects of KIND that match.")
@click.option("--all", "all_objects", is_flag=True, help="Delete every object of KIND.")
@click.option("--cascade", type=click.Choice(sorted(CASCADE)), default="background",
              show_default=True,
              help="What happens to owned objects: deleted after (background), "
                   "before (foreground), or kept (orphan).")
@click.option("--grace-period", type=int, default=None,
              help="Seconds a pod gets to stop; 0 to stop at once.")
@click.option("--wait/--no-wait", default=False, show_default=True,
              help="Wait until the objects are gone.")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Seconds --wait waits.")
@click.option("--ignore-not-found", is_flag=True, help="An absent object is not an error.")
@namespace_option
@global_options
def delete(args: tuple[str, ...], filenames: tuple[str, ...], label_selector: str,
           all_objects: bool, cascade: str, grace_period: int | None, wait: bool,
           timeout: float, ignore_not_found: bool) -> None:
    """Delete objects.

    \b
    Examples:
      corral delete pod web db
      corral delete deploy/web svc/web
      corral delete -f app.yaml
      corral delete pods -l app=web
      corral delete pods --all --wait
    """
    namespace = settings().namespace
    targets = parse_targets(args)
    by_selector = bool(label_selector) or all_objects
    if filenames and targets:
        raise click.UsageError("give either -f or objects, not both")
    if by_selector:
        if filenames or len(targets) != 1 or targets[0].name:
            raise click.UsageError("-l and --all take one KIND, without names")
    elif not filenames:
        if not targets:
            raise click.UsageError("name what to delete (KIND NAME, KIND/NAME, -f, -l or --all)")
        if any(not target.name for target in targets):
            raise click.UsageError(
                f"name the {targets[0].kind} to delete, or use -l SELECTOR or --all"
            )
    planned = plan(filenames) if filenames else []

    async def body(client: Client) -> bool:
        objects: list[tuple[kinds.Kind, str, str]] = []  # kind, namespace, name
        if filenames:
            objects = [(item.kind, item.namespace, metadata(item.obj).name)
                       for item in planned]
        elif by_selector:
            kind = kind_arg(targets[0].kind)
            found = await client.list_all(kind, namespace, label_selector=label_selector)
            objects = [(kind, namespace, metadata(obj).name) for obj in found.items]
            if not objects:
                echo_err(f"No resources found in {namespace} namespace."
                         if kind.namespaced else "No resources found.")
        else:
            objects = [(kind_arg(t.kind), namespace, t.name) for t in targets]
        ok = True
        deleted = []
        for kind, where, name in objects:
            try:
                await client.delete(kind, name, where, grace_period_seconds=grace_period,
                                    propagation_policy=CASCADE[cascade])
            except errors.NotFound as error:
                if not ignore_not_found:
                    echo_err(f"error: {error.message}")
                    ok = False
                continue
            click.echo(f'{resource_name(kind)} "{name}" deleted')
            deleted.append((kind, where, name))
        if wait:
            await _wait_gone(client, deleted, timeout)
        return ok

    if not run(body):
        raise PartialFailure()


async def _wait_gone(client: Client, objects: list[tuple[kinds.Kind, str, str]],
                     timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for kind, namespace, name in objects:
        while True:
            try:
                await client.get(kind, name, namespace)
            except errors.NotFound:
                break
            if time.monotonic() > deadline:
                raise CliError(f'timed out after {timeout:g}s waiting for {resource_name(kind)} '
                               f'"{name}" to be deleted (finalizers or a graceful stop may '
                               "still be running)")
            await asyncio.sleep(WAIT_POLL_SECONDS)
