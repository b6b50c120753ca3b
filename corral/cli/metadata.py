"""`corral label` and `corral annotate`: change an object's labels or annotations."""

from __future__ import annotations

from typing import Any

import click
from google.protobuf.message import Message

from corral.api import errors, metadata
from corral.cli.args import MetadataChanges, parse_metadata_changes
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
from corral.cli.printers import object_name
from corral.client import Client


def apply_changes(values: Any, changes: MetadataChanges, overwrite: bool, what: str) -> bool:
    """Changes a labels or annotations map in place; whether anything changed.
    Refuses to change an existing value without `overwrite`, as kubectl does."""
    for key, value in changes.set.items():
        if key in values and values[key] != value and not overwrite:
            raise CliError(
                f"'{key}' already has a value ({values[key]}), and --overwrite is false"
            )
    changed = False
    for key, value in changes.set.items():
        if values.get(key) != value:
            values[key] = value
            changed = True
    for key in changes.remove:
        if key in values:
            del values[key]
            changed = True
    return changed


def _command(what: str, field: str, past: str) -> click.Command:
    @click.command(name=what, help=(
        f"Set ({what} key=value) or remove (key-) {field} of objects.\n\n"
        f"\b\nExamples:\n  corral {what} pod web tier=frontend\n"
        f"  corral {what} deploy/web owner- --overwrite"
    ))
    @click.argument("args", nargs=-1, required=True,
                    metavar="KIND NAME... | KIND/NAME... KEY=VALUE... KEY-...")
    @click.option("--overwrite", is_flag=True, help="Allow changing existing values.")
    @click.option("-l", "--selector", "label_selector", default="", metavar="SELECTOR",
                  help="Change every object of the kind that matches.")
    @click.option("--all", "all_objects", is_flag=True, help="Change every object of the kind.")
    @namespace_option
    @global_options
    def command(args: tuple[str, ...], overwrite: bool, label_selector: str,
                all_objects: bool) -> None:
        changes = parse_metadata_changes(args, what)
        namespace = settings().namespace
        if not changes.targets:
            raise click.UsageError("name the objects to change")
        by_selector = bool(label_selector) or all_objects
        if by_selector and (len(changes.targets) != 1 or changes.targets[0].name):
            raise click.UsageError("-l and --all take a kind, not names")
        if not by_selector and any(not t.name for t in changes.targets):
            raise click.UsageError("name the objects (or use -l or --all)")

        async def body(client: Client) -> bool:
            pairs: list[tuple[Any, str]] = []
            if by_selector:
                kind = kind_arg(changes.targets[0].kind)
                found = await client.list_all(kind, namespace, label_selector=label_selector)
                pairs = [(kind, metadata(obj).name) for obj in found.items]
            else:
                pairs = [(kind_arg(t.kind), t.name) for t in changes.targets]
            ok = True
            for kind, name in pairs:
                changed = False

                def mutate(obj: Message) -> bool:
                    nonlocal changed
                    values = getattr(metadata(obj), field)
                    changed = apply_changes(values, changes, overwrite, what)
                    return changed

                try:
                    obj = await client.update_with_retry(kind, name, namespace, mutate)
                except (errors.NotFound, errors.Invalid) as error:
                    echo_err(f"error: {error.message}")
                    ok = False
                    continue
                click.echo(f"{object_name(obj)} {past if changed else 'not ' + past}")
            return ok

        if not run(body):
            raise PartialFailure()

    return command


label = _command("label", "labels", "labeled")
annotate = _command("annotate", "annotations", "annotated")
