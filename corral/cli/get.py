"""`corral get`: objects as tables, YAML, JSON or names; -w to follow changes."""

from __future__ import annotations

import time
from dataclasses import dataclass

import click
from google.protobuf.message import Message

from corral.api import errors, kinds, metadata
from corral.cli.args import Target, parse_targets
from corral.cli.common import (
    PartialFailure,
    echo_err,
    global_options,
    kind_arg,
    namespace_option,
    run,
    settings,
)
from corral.cli.output import render, render_event
from corral.cli.printers import Table, headers, row
from corral.client import Client

# What `get all` shows, as kubectl's "all" category.
ALL = ("pods", "services", "deployments", "replicasets", "horizontalpodautoscalers")


@dataclass(frozen=True)
class GetOptions:
    namespace: str  # "" for all namespaces
    all_namespaces: bool
    label_selector: str
    field_selector: str
    output: str  # "", wide, yaml, json, name
    watch: bool
    watch_only: bool
    show_labels: bool

    @property
    def table(self) -> bool:
        return self.output in ("", "wide")

    def table_columns(self, kind: kinds.Kind) -> dict[str, bool]:
        return {"wide": self.output == "wide", "labels": self.show_labels,
                "namespace": self.all_namespaces and kind.namespaced}


@click.command()
@click.argument("args", nargs=-1, metavar="KIND [NAME...] | KIND/NAME...")
@click.option("-A", "--all-namespaces", is_flag=True, help="List across all namespaces.")
@click.option("-l", "--selector", "label_selector", default="", metavar="SELECTOR",
              help="Label selector: app=web,tier!=db,env in (a,b).")
@click.option("--field-selector", default="", metavar="SELECTOR",
              help="Field selector: status.phase=Running,spec.nodeName=n1.")
@click.option("-o", "--output", default="", type=click.Choice(["", "wide", "yaml", "json", "name"]),
              help="Output format (default: a table).")
@click.option("-w", "--watch", is_flag=True, help="After listing, print changes as they happen.")
@click.option("--watch-only", is_flag=True, help="Print changes only, without listing first.")
@click.option("--show-labels", is_flag=True, help="Add a LABELS column.")
@namespace_option
@global_options
def get(args: tuple[str, ...], all_namespaces: bool, label_selector: str, field_selector: str,
        output: str, watch: bool, watch_only: bool, show_labels: bool) -> None:
    """Show objects: kinds by name, plural or short name (po, deploy, svc, ...)."""
    targets = parse_targets(args)
    if targets and targets[0].kind == "all" and not targets[0].name:
        targets = [Target(kind) for kind in ALL] + targets[1:]
    if not targets:
        raise click.UsageError(
            "name a kind, e.g. `corral get pods`; `corral api-resources` lists them"
        )
    if all_namespaces and any(target.name for target in targets):
        raise click.UsageError("-A cannot be used with object names")
    options = GetOptions(
        namespace="" if all_namespaces else settings().namespace,
        all_namespaces=all_namespaces, label_selector=label_selector,
        field_selector=field_selector, output=output, watch=watch or watch_only,
        watch_only=watch_only, show_labels=show_labels,
    )
    if options.watch:
        kinds_named = {kind_arg(target.kind).name for target in targets}
        if len(kinds_named) > 1:
            raise click.UsageError("watch one kind at a time")
    try:
        ok = run(lambda client: _get(client, targets, options))
    except KeyboardInterrupt:
        if options.watch:
            return  # Ctrl-C is how a watch ends
        raise
    if not ok:
        raise PartialFailure()


async def _get(client: Client, targets: list[Target], options: GetOptions) -> bool:
    ok = True
    groups: list[tuple[kinds.Kind, list[Message], str]] = []  # kind, objects, resourceVersion
    for target in targets:
        kind = kind_arg(target.kind)
        if target.name:
            try:
                obj = await client.get(kind, target.name, options.namespace)
            except errors.NotFound as error:
                echo_err(f"error: {error.message}")
                ok = False
                continue
            version = metadata(obj).resource_version
            if groups and groups[-1][0] == kind:
                groups[-1][1].append(obj)
                groups[-1] = (kind, groups[-1][1], max(groups[-1][2], version, key=_revision))
            else:
                groups.append((kind, [obj], version))
        else:
            result = await client.list_all(
                kind, options.namespace, label_selector=options.label_selector,
                field_selector=options.field_selector,
            )
            groups.append((kind, result.items, result.resource_version))
    tables: dict[str, Table] = {}
    if not options.watch_only:
        _print_groups(groups, options, tables, single=len(targets) == 1 and bool(targets[0].name))
    if options.watch and groups:
        kind = groups[0][0]
        names = [t.name for t in targets if t.name]
        await _watch(client, kind, names, groups[0][2], options, tables)
    return ok


def _print_groups(groups: list[tuple[kinds.Kind, list[Message], str]], options: GetOptions,
                  tables: dict[str, Table], *, single: bool) -> None:
    if not options.table:
        objs = [obj for _, items, _ in groups for obj in items]
        if objs or options.output != "name":
            click.echo(render(objs, options.output, single=single), nl=False)
        return
    now = time.time()
    printed = False
    for kind, objs, _ in groups:
        if not objs:
            continue
        if printed:
            click.echo()
        columns = options.table_columns(kind)
        table = tables.setdefault(kind.name, Table(headers(kind, **columns)))
        for line in table.render([row(obj, now, **columns) for obj in objs]):
            click.echo(line)
        printed = True
    if groups and not printed and not options.watch:
        where = "" if options.all_namespaces else f" in {options.namespace} namespace"
        scoped = any(kind.namespaced for kind, _, _ in groups)
        echo_err(f"No resources found{where if scoped else ''}.")


async def _watch(client: Client, kind: kinds.Kind, names: list[str], resource_version: str,
                 options: GetOptions, tables: dict[str, Table]) -> None:
    """Prints a row (or a document) per change until interrupted."""
    field_selector = options.field_selector
    if len(names) == 1:
        field_selector = ",".join(filter(None, [field_selector, f"metadata.name={names[0]}"]))
    columns = options.table_columns(kind)
    table = tables.get(kind.name)
    header = table is None
    if table is None:
        table = tables.setdefault(kind.name, Table(headers(kind, **columns)))
    while True:
        stream = client.watch(
            kind, options.namespace, label_selector=options.label_selector,
            field_selector=field_selector, resource_version=resource_version,
        )
        async for event in stream:
            resource_version = event.resource_version or resource_version
            obj = event.object
            if obj is None or (names and metadata(obj).name not in names):
                continue
            if options.table:
                for line in table.render([row(obj, time.time(), **columns)], header=header):
                    click.echo(line)
                header = False
            else:
                click.echo(render_event(obj, options.output), nl=False)
        # The server ended the stream (it restarts, say): go on from the last change seen.


def _revision(version: str) -> int:
    return int(version) if version.isdigit() else 0
