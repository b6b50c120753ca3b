"""`corral apply` and `corral create`: manifests to objects on the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from google.protobuf.message import Message

from corral.api import errors, kinds, metadata
from corral.cli.common import (
    PartialFailure,
    echo_err,
    global_options,
    namespace_option,
    run,
    settings,
)
from corral.cli.manifest import Document, ManifestError, load_paths, to_dict, to_object
from corral.cli.merge import last_applied_of, last_applied_text, three_way_merge, with_last_applied
from corral.cli.printers import object_name
from corral.client import Client

# Errors after which trying the next object is pointless.
FATAL = (errors.Unavailable, errors.DeadlineExceeded, errors.Unauthenticated)
APPLY_ATTEMPTS = 5


@dataclass
class Planned:
    """One manifest, checked, with the namespace it goes to."""

    document: Document
    obj: Message
    kind: kinds.Kind
    namespace: str

    @property
    def where(self) -> str:
        return f"{self.document.source}:{self.document.line}" if self.document.line else (
            self.document.source)


def files_option(required: bool = True) -> Any:
    return click.option(
        "-f", "--filename", "filenames", multiple=True, required=required, metavar="PATH",
        help="A manifest file, a directory of them (recursively) or - for stdin; repeatable.",
    )


def dry_run_option() -> Any:
    return click.option(
        "--dry-run", type=click.Choice(["none", "client", "server"]), default="none",
        show_default=True,
        help="client: only check locally; server: let the server validate, write nothing.",
    )


def plan(filenames: tuple[str, ...]) -> list[Planned]:
    """Loads and checks every manifest before anything is written, printing
    warnings about ignored fields; the first invalid manifest stops it all."""
    namespace_flag = settings().namespace_flag
    default_namespace = settings().namespace
    planned = []
    for document in load_paths(list(filenames)):
        obj, warnings = to_object(document)
        for warning in warnings:
            echo_err(f"warning: {warning}")
        kind = kinds.of_message(obj)
        meta = metadata(obj)
        namespace = ""
        if kind.namespaced:
            if namespace_flag and meta.namespace and meta.namespace != namespace_flag:
                raise ManifestError(
                    f'metadata.namespace is "{meta.namespace}" but --namespace is '
                    f'"{namespace_flag}"; drop one of them',
                    source=document.source, line=document.line,
                )
            namespace = meta.namespace or default_namespace
            meta.namespace = namespace
        planned.append(Planned(document, obj, kind, namespace))
    # Namespaces first, so that a directory holding a namespace and its contents applies at once.
    planned.sort(key=lambda item: item.kind.name != "Namespace")
    return planned


def _suffix(dry_run: str) -> str:
    return {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")


async def _for_each(
    items: list[Planned], action: Any, dry_run: str, client: Client
) -> bool:
    """Runs `action` on each item, printing its result line or its error;
    whether all succeeded. Errors that would repeat for every item stop it."""
    ok = True
    for item in items:
        try:
            verb = await action(client, item, dry_run)
        except FATAL:
            raise
        except errors.ApiError as error:
            ok = False
            echo_err(f"error: {item.where}: {object_name(item.obj)}: {error.message}")
            continue
        except ManifestError as error:
            ok = False
            echo_err(f"error: {error}")
            continue
        click.echo(f"{object_name(item.obj)} {verb}{_suffix(dry_run)}")
    return ok


def _normalized(manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    """A manifest in the shape `to_dict` gives live objects (other apiVersions
    converted, nulls and zero values dropped), in `namespace`."""
    obj, _ = to_object(manifest)
    if namespace:
        metadata(obj).namespace = namespace
    return to_dict(obj)


async def apply_one(client: Client, item: Planned, dry_run: str) -> str:
    """Creates or updates one object; "created", "configured" or "unchanged"."""
    meta = metadata(item.obj)
    if not meta.name:
        raise ManifestError(
            "apply needs a name (use `corral create` for metadata.generateName)",
            source=item.document.source, line=item.document.line, path="metadata.name",
        )
    text = last_applied_text(item.document.data)
    desired = _normalized(with_last_applied(item.document.data, text), item.namespace)
    for attempt in range(APPLY_ATTEMPTS):
        try:
            live = await client.get(item.kind, meta.name, item.namespace)
        except errors.NotFound:
            if dry_run != "client":
                new, _ = to_object(desired)
                await client.create(new, dry_run=dry_run == "server")
            return "created"
        live_dict = to_dict(live)
        last = last_applied_of(live_dict)
        try:
            last_normalized = _normalized(last, item.namespace) if last is not None else None
        except ManifestError:
            last_normalized = None  # an annotation edited by hand: a two-way merge then
        merged = three_way_merge(last_normalized, desired, live_dict)
        if merged == live_dict:
            return "unchanged"
        if dry_run == "client":
            return "configured"
        updated, _ = to_object(merged)
        metadata(updated).resource_version = metadata(live).resource_version
        try:
            written = await client.update(updated, dry_run=dry_run == "server")
        except errors.Conflict:
            if attempt == APPLY_ATTEMPTS - 1:
                raise
            continue  # changed between our read and write: merge again
        if (dry_run == "none" and metadata(written).resource_version
                == metadata(live).resource_version):
            return "unchanged"
        return "configured"
    raise AssertionError("unreachable")


async def create_one(client: Client, item: Planned, dry_run: str) -> str:
    if dry_run != "client":
        created = await client.create(item.obj, dry_run=dry_run == "server")
        item.obj = created  # so that generateName shows the name given
    return "created"


@click.command()
@files_option()
@dry_run_option()
@namespace_option
@global_options
def apply(filenames: tuple[str, ...], dry_run: str) -> None:
    """Create or update objects from manifests.

    Keeps each manifest in the annotation corral.io/last-applied-configuration
    and merges three ways (last applied, new manifest, live object): fields
    the manifest sets win, fields removed from the manifest are removed, and
    fields set by others (status, replicas set by an autoscaler when the
    manifest leaves them out, server defaults) are kept.
    """
    items = plan(filenames)
    if not run(lambda client: _for_each(items, apply_one, dry_run, client)):
        raise PartialFailure()


@click.command()
@files_option()
@dry_run_option()
@namespace_option
@global_options
def create(filenames: tuple[str, ...], dry_run: str) -> None:
    """Create objects from manifests; an object that exists is an error."""
    items = plan(filenames)
    if not run(lambda client: _for_each(items, create_one, dry_run, client)):
        raise PartialFailure()

