"""`corral edit`: an object in $EDITOR, written back if it changed."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import click

from corral.api import errors, metadata
from corral.cli.args import parse_targets
from corral.cli.common import CliError, global_options, kind_arg, namespace_option, run, settings
from corral.cli.manifest import ManifestError, dump_yaml, load_text, to_object
from corral.cli.printers import object_name
from corral.client import Client

HEADER = (
    "# Edit the object below and save to update it; an unchanged file changes nothing.\n"
    "# The update is refused if someone else changed the object since it was read.\n"
    "#\n"
)


def editor_command() -> list[str]:
    """$CORRAL_EDITOR, $VISUAL or $EDITOR (split like a shell would), else vi."""
    for variable in ("CORRAL_EDITOR", "VISUAL", "EDITOR"):
        value = os.environ.get(variable, "").strip()
        if value:
            return shlex.split(value)
    return ["vi"]


def _kept(message: str, path: Path) -> CliError:
    return CliError(f"{message}; your edited copy is kept in {path}")


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="KIND NAME | KIND/NAME")
@namespace_option
@global_options
def edit(args: tuple[str, ...]) -> None:
    """Edit an object in $EDITOR and update it on save."""
    targets = parse_targets(args)
    if len(targets) != 1 or not targets[0].name:
        raise click.UsageError("edit one object: KIND NAME or KIND/NAME")
    kind = kind_arg(targets[0].kind)
    name, namespace = targets[0].name, settings().namespace
    original = run(lambda client: client.get(kind, name, namespace))
    text = HEADER + dump_yaml(original)
    handle, raw_path = tempfile.mkstemp(prefix=f"corral-edit-{kind.name.lower()}-{name}-",
                                        suffix=".yaml")
    path = Path(raw_path)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    command = [*editor_command(), str(path)]
    try:
        exit_code = subprocess.call(command)
    except OSError as error:
        raise _kept(f"cannot run the editor {command[0]}: {error.strerror}", path) from None
    if exit_code != 0:
        raise _kept(f"the editor {command[0]} exited with code {exit_code}", path)
    edited = path.read_text(encoding="utf-8")
    if edited == text:
        path.unlink()
        click.echo("Edit cancelled, no changes made.")
        return
    try:
        documents = load_text(edited, str(path))
        if len(documents) != 1:
            raise ManifestError(f"expected one object, found {len(documents)}", source=str(path))
        obj, _ = to_object(documents[0])
    except ManifestError as error:
        raise _kept(str(error), path) from None
    meta = metadata(obj)
    if (type(obj) is not type(original) or meta.name != name
            or (kind.namespaced and meta.namespace != metadata(original).namespace)):
        raise _kept("the kind, name and namespace of an object cannot be edited", path)
    # The version that was read, whatever the file says: a change made meanwhile is a conflict.
    meta.resource_version = metadata(original).resource_version

    async def update(client: Client) -> None:
        await client.update(obj)

    try:
        run(update)
    except errors.Conflict as error:
        raise _kept(f"{object_name(obj)} was changed while you edited it ({error.message})",
                    path) from None
    except errors.Invalid as error:
        raise _kept(f"{object_name(obj)} is invalid: {error.message}", path) from None
    path.unlink()
    click.echo(f"{object_name(obj)} edited")
