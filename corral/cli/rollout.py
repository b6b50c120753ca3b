"""`corral rollout`: watch, inspect, undo, restart, pause and resume a
Deployment's rollout.

    corral rollout status deploy/web [--timeout 5m]
    corral rollout history deploy/web [--revision 2]
    corral rollout undo deploy/web [--to-revision 2]
    corral rollout restart deploy/web
    corral rollout pause deploy/web
    corral rollout resume deploy/web

Undo works as in kubectl: the template of the chosen revision's ReplicaSet is
copied back into the Deployment, and the Deployment controller rolls to it
(making that ReplicaSet current again under a new revision number).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import time
from collections.abc import Callable

import click

from corral.api import apps
from corral.api.v1 import apps_pb2
from corral.cli.args import parse_targets
from corral.cli.common import (
    CliError,
    global_options,
    kind_arg,
    namespace_option,
    run,
    settings,
)
from corral.client import Client

RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
WHAT = "deployment.apps"
# Exit code of `rollout status` when the rollout exceeded its progress deadline
# or the wait timed out.
EXIT_NOT_ROLLED_OUT = 1


def deployment_target(args: tuple[str, ...]) -> str:
    """The Deployment's name from `deploy/NAME` or `deployment NAME`."""
    targets = parse_targets(args)
    if len(targets) != 1 or not targets[0].name:
        raise click.UsageError("name one deployment: deploy/NAME or deployment NAME")
    kind = kind_arg(targets[0].kind)
    if kind.name != "Deployment":
        raise CliError(f"{kind.name} has no rollout: only deployments do (deploy/NAME)")
    return targets[0].name


# -- pure helpers --------------------------------------------------------------------------


def status_line(d: apps_pb2.Deployment) -> tuple[str, bool]:
    """(what `rollout status` says now, whether the rollout is done); raises CliError
    when it has exceeded its progress deadline (kubectl's wording)."""
    name = d.metadata.name
    if d.metadata.generation <= d.status.observed_generation:
        progressing = next((c for c in d.status.conditions if c.type == apps.PROGRESSING),
                           None)
        if progressing is not None and progressing.reason == apps.TIMED_OUT:
            raise CliError(f'deployment "{name}" exceeded its progress deadline',
                           EXIT_NOT_ROLLED_OUT)
        s = d.status
        wanted = d.spec.replicas
        if s.updated_replicas < wanted:
            return (f'Waiting for deployment "{name}" rollout to finish: {s.updated_replicas} '
                    f"out of {wanted} new replicas have been updated..."), False
        if s.replicas > s.updated_replicas:
            return (f'Waiting for deployment "{name}" rollout to finish: '
                    f"{s.replicas - s.updated_replicas} old replicas are pending "
                    "termination..."), False
        if s.available_replicas < s.updated_replicas:
            return (f'Waiting for deployment "{name}" rollout to finish: '
                    f"{s.available_replicas} of {s.updated_replicas} updated replicas are "
                    "available..."), False
        return f'deployment "{name}" successfully rolled out', True
    return "Waiting for deployment spec update to be observed...", False


def parse_duration(text: str) -> float:
    """Seconds in "90", "90s", "5m", "1h", "1m30s"; 0 means no limit."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    text = text.strip()
    if not text:
        raise click.BadParameter("empty duration")
    if text.replace(".", "", 1).isdigit():
        return float(text)
    total, number = 0.0, ""
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            total += float(number) * units[char]
            number = ""
        else:
            raise click.BadParameter(f'"{text}" is not a duration like 30s, 5m or 1h')
    if number:
        raise click.BadParameter(f'"{text}" is not a duration like 30s, 5m or 1h (unit missing)')
    return total


async def owned_replica_sets(client: Client, d: apps_pb2.Deployment) -> list[apps_pb2.ReplicaSet]:
    listed = await client.list_all(apps_pb2.ReplicaSet, d.metadata.namespace)
    return [
        rs for rs in listed.items
        if any(ref.uid == d.metadata.uid and ref.controller
               for ref in rs.metadata.owner_references)
    ]


def revision_of(rs: apps_pb2.ReplicaSet) -> int:
    return apps.parse_revision(rs.metadata.annotations.get(apps.REVISION_ANNOTATION))


# -- the work, callable without click --------------------------------------------------------


async def undo_deployment(client: Client, namespace: str, name: str, to_revision: int = 0) -> str:
    """Rolls `name` back to `to_revision` (0: the one before the current); the message
    to print."""
    d = await client.get(apps_pb2.Deployment, name, namespace)
    if d.spec.paused:
        raise CliError(f'deployment "{name}" is paused; resume it before rolling back '
                       f"(corral rollout resume deploy/{name})")
    sets = await owned_replica_sets(client, d)
    by_revision = {revision_of(rs): rs for rs in sets if revision_of(rs) > 0}
    if to_revision < 0:
        raise CliError(f"--to-revision must be 0 or more, got {to_revision}")
    if to_revision == 0:
        current = apps.parse_revision(d.metadata.annotations.get(apps.REVISION_ANNOTATION))
        earlier = sorted(r for r in by_revision if r != current)
        if not earlier:
            raise CliError(f'no rollout history found for deployment "{name}": nothing to '
                           "roll back to")
        to_revision = earlier[-1]
    target = by_revision.get(to_revision)
    if target is None:
        known = ", ".join(str(r) for r in sorted(by_revision)) or "none"
        raise CliError(f'unable to find revision {to_revision} of deployment "{name}" '
                       f"(revisions: {known})")
    template = apps.without_hash_label(target.spec.template)
    if template == d.spec.template:
        return f"{WHAT}/{name} skipped rollback (current template already matches revision " \
               f"{to_revision})"
    changed = copy.deepcopy(d)
    changed.spec.template.CopyFrom(template)
    await client.update(changed)
    return f"{WHAT}/{name} rolled back"


async def _edit(client: Client, namespace: str, name: str,
                mutate: Callable[[apps_pb2.Deployment], bool | None]) -> bool:
    """Read-modify-write of the Deployment; False when mutate found nothing to do."""
    changed = True

    def apply(obj: object) -> bool:
        nonlocal changed
        assert isinstance(obj, apps_pb2.Deployment)
        changed = mutate(obj) is not False
        return changed

    await client.update_with_retry(apps_pb2.Deployment, name, namespace, apply)
    return changed


async def set_paused(client: Client, namespace: str, name: str, paused: bool) -> str:
    def change(d: apps_pb2.Deployment) -> bool:
        if d.spec.paused == paused:
            return False
        d.spec.paused = paused
        return True

    changed = await _edit(client, namespace, name, change)
    verb = "paused" if paused else "resumed"
    return f"{WHAT}/{name} {verb}" if changed else f"{WHAT}/{name} already {verb}"


async def restart(client: Client, namespace: str, name: str) -> str:
    def change(d: apps_pb2.Deployment) -> bool:
        if d.spec.paused:
            raise CliError(f'can\'t restart paused deployment "{name}" (run rollout resume '
                           "first)")
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        d.spec.template.metadata.annotations[RESTARTED_AT_ANNOTATION] = stamp
        return True

    await _edit(client, namespace, name, change)
    return f"{WHAT}/{name} restarted"


async def watch_status(client: Client, namespace: str, name: str, timeout: float,
                       echo: Callable[[str], None], poll: float = 0.5) -> None:
    """Prints progress lines (each once) until the rollout is complete; CliError when it
    exceeds its deadline or `timeout` (0: none) passes."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    last = ""
    while True:
        d = await client.get(apps_pb2.Deployment, name, namespace)
        line, done = status_line(d)
        if line != last:
            echo(line)
            last = line
        if done:
            return
        if deadline is not None and time.monotonic() >= deadline:
            raise CliError(f"timed out waiting for the rollout of deployment \"{name}\" "
                           "to finish", EXIT_NOT_ROLLED_OUT)
        await asyncio.sleep(poll)


# -- commands ------------------------------------------------------------------------------

_TARGET = click.argument("args", nargs=-1, required=True, metavar="deploy/NAME")


@click.group(name="rollout")
def rollout_group() -> None:
    """Manage the rollout of a Deployment."""


@rollout_group.command(name="status")
@_TARGET
@click.option("--timeout", default="0", metavar="DURATION",
              help="Give up after this long (30s, 5m; 0: wait forever).")
@click.option("--watch/--no-watch", "-w", default=True,
              help="Wait for the rollout to finish (default) or print the state once.")
@namespace_option
@global_options
def status(args: tuple[str, ...], timeout: str, watch: bool) -> None:
    """Show a rollout's progress until it completes.

    Exits 0 when the rollout is complete, 1 when it exceeded its progress
    deadline or --timeout passed.
    """
    name = deployment_target(args)
    limit = parse_duration(timeout)
    namespace = settings().namespace

    async def body(client: Client) -> None:
        if not watch:
            line, _ = status_line(await client.get(apps_pb2.Deployment, name, namespace))
            click.echo(line)
            return
        await watch_status(client, namespace, name, limit, click.echo)

    run(body)


@rollout_group.command(name="history")
@_TARGET
@click.option("--revision", type=click.IntRange(min=0), default=0,
              help="Show the pod template of this revision.")
@namespace_option
@global_options
def history(args: tuple[str, ...], revision: int) -> None:
    """List a Deployment's revisions (or show one)."""
    name = deployment_target(args)
    namespace = settings().namespace

    async def body(client: Client) -> None:
        d = await client.get(apps_pb2.Deployment, name, namespace)
        sets = sorted(await owned_replica_sets(client, d), key=revision_of)
        if revision:
            chosen = next((rs for rs in sets if revision_of(rs) == revision), None)
            if chosen is None:
                raise CliError(f'unable to find revision {revision} of deployment "{name}"')
            click.echo(f"{WHAT}/{name} with revision #{revision}")
            click.echo(_describe_template(chosen))
            return
        click.echo(f"{WHAT}/{name}")
        click.echo(f"{'REVISION':<10}{'CHANGE-CAUSE'}")
        for rs in sets:
            if revision_of(rs) <= 0:
                continue
            cause = rs.metadata.annotations.get(apps.CHANGE_CAUSE_ANNOTATION, "<none>")
            click.echo(f"{revision_of(rs):<10}{cause}")

    run(body)


def _describe_template(rs: apps_pb2.ReplicaSet) -> str:
    t = rs.spec.template
    lines = ["Pod Template:"]
    labels = ",".join(f"{k}={v}" for k, v in sorted(t.metadata.labels.items())) or "<none>"
    lines.append(f"  Labels:\t{labels}")
    for key, value in sorted(t.metadata.annotations.items()):
        lines.append(f"  Annotations:\t{key}: {value}")
    lines.append("  Containers:")
    for c in t.spec.containers:
        lines.append(f"   {c.name}:")
        lines.append(f"    Image:\t{c.image}")
        if c.command:
            lines.append(f"    Command:\t{' '.join(c.command)}")
        if c.args:
            lines.append(f"    Args:\t{' '.join(c.args)}")
        for port in c.ports:
            lines.append(f"    Port:\t{port.container_port}/{port.protocol or 'TCP'}")
        for env in c.env:
            lines.append(f"    Env:\t{env.name}={env.value}")
    return "\n".join(lines)


@rollout_group.command(name="undo")
@_TARGET
@click.option("--to-revision", type=click.IntRange(min=0), default=0,
              help="The revision to roll back to (default: the previous one).")
@namespace_option
@global_options
def undo(args: tuple[str, ...], to_revision: int) -> None:
    """Roll a Deployment back to an earlier revision."""
    name = deployment_target(args)
    namespace = settings().namespace
    click.echo(run(lambda client: undo_deployment(client, namespace, name, to_revision)))


@rollout_group.command(name="restart")
@_TARGET
@namespace_option
@global_options
def restart_command(args: tuple[str, ...]) -> None:
    """Replace every pod of a Deployment by rolling out an unchanged template."""
    name = deployment_target(args)
    namespace = settings().namespace
    click.echo(run(lambda client: restart(client, namespace, name)))


@rollout_group.command(name="pause")
@_TARGET
@namespace_option
@global_options
def pause(args: tuple[str, ...]) -> None:
    """Stop a Deployment's rollout where it is (scaling still works)."""
    name = deployment_target(args)
    namespace = settings().namespace
    click.echo(run(lambda client: set_paused(client, namespace, name, True)))


@rollout_group.command(name="resume")
@_TARGET
@namespace_option
@global_options
def resume(args: tuple[str, ...]) -> None:
    """Let a paused Deployment's rollout go on."""
    name = deployment_target(args)
    namespace = settings().namespace
    click.echo(run(lambda client: set_paused(client, namespace, name, False)))
