"""`corral expose`: a Service in front of a Deployment, ReplicaSet, Pod or Service."""

from __future__ import annotations

from typing import Any

import click

from corral.api import errors, metadata
from corral.api.v1 import core_pb2
from corral.cli.args import parse_targets
from corral.cli.common import CliError, global_options, kind_arg, namespace_option, run, settings
from corral.client import Client

EXPOSABLE = ("Deployment", "ReplicaSet", "Pod", "Service")


def selector_of(kind: str, source: Any) -> dict[str, str]:
    """The labels that pick the source's pods, as a Service selector (equality only)."""
    if kind == "Pod":
        labels = dict(source.metadata.labels)
    elif kind == "Service":
        labels = dict(source.spec.selector)
    else:
        if source.spec.selector.match_expressions:
            raise CliError(f"{kind.lower()}/{source.metadata.name} selects its pods with "
                           "matchExpressions, which a Service cannot; pass --selector")
        labels = dict(source.spec.selector.match_labels)
    if not labels:
        raise CliError(f"{kind.lower()}/{source.metadata.name} has no labels to select its "
                       "pods by; pass --selector")
    return labels


def parse_selector(text: str) -> dict[str, str]:
    """`app=web,tier=front` → {"app": "web", "tier": "front"}."""
    pairs = [part.partition("=") for part in text.split(",") if part.strip()]
    if not pairs or any(not key.strip() or not sep for key, sep, _ in pairs):
        raise click.BadParameter(f"{text!r}: expected KEY=VALUE[,KEY=VALUE...]",
                                 param_hint="--selector")
    return {key.strip(): value.strip() for key, _, value in pairs}


def service_for(name: str, namespace: str, selector: dict[str, str], *, port: int,
                target_port: str, protocol: str, type_: str) -> core_pb2.Service:
    service = core_pb2.Service()
    service.metadata.name, service.metadata.namespace = name, namespace
    service.spec.selector.update(selector)
    service.spec.type = type_
    service.spec.ports.add(port=port, target_port=target_port or str(port), protocol=protocol)
    return service


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="KIND NAME | KIND/NAME")
@click.option("--port", type=click.IntRange(1, 65535), required=True,
              help="The port the Service serves on.")
@click.option("--target-port", default="",
              help="The pods' port, a number or a container port name (default: --port).")
@click.option("--protocol", type=click.Choice(["TCP", "UDP"]), default="TCP", show_default=True)
@click.option("--type", "type_", type=click.Choice(["ClusterIP", "NodePort", "LoadBalancer"]),
              default="ClusterIP", show_default=True)
@click.option("--name", default="", help="The Service's name (default: the exposed object's).")
@click.option("--selector", default="", help="Pick the pods by these labels instead.")
@namespace_option
@global_options
def expose(args: tuple[str, ...], port: int, target_port: str, protocol: str, type_: str,
           name: str, selector: str) -> None:
    """Create a Service for the pods of a Deployment, ReplicaSet, Pod or Service.

    \b
    Examples:
      corral expose deployment/web --port 80 --target-port 8080
      corral expose deploy web --port 80 --type NodePort
    """
    targets = parse_targets(args)
    if len(targets) != 1 or not targets[0].name:
        raise click.UsageError("name one object to expose: KIND NAME or KIND/NAME")
    kind = kind_arg(targets[0].kind)
    if kind.name not in EXPOSABLE:
        raise CliError(f"cannot expose a {kind.name}: only {', '.join(EXPOSABLE)}")
    chosen = parse_selector(selector) if selector else None
    namespace = settings().namespace

    async def body(client: Client) -> str:
        source = await client.get(kind, targets[0].name, namespace)
        labels = chosen if chosen is not None else selector_of(kind.name, source)
        service = service_for(name or targets[0].name, metadata(source).namespace, labels,
                              port=port, target_port=target_port, protocol=protocol,
                              type_=type_)
        try:
            created = await client.create(service)
        except errors.AlreadyExists:
            raise CliError(f'service "{service.metadata.name}" already exists; pick another '
                           "with --name") from None
        return str(created.metadata.name)

    click.echo(f"service/{run(body)} exposed")
