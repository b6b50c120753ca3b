"""`corral explain KIND[.field.path]`: the schema of a kind, with the
documentation written as comments in proto/corral/api/v1.

The comments come from corral/api/v1/api_descriptor.binpb, a descriptor set with
source info written by proto/generate.py; the field types come from the
generated message classes. `explain_text` is pure."""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path
from typing import Any, cast

import click
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from corral.api import kinds
from corral.api.v1 import meta_pb2
from corral.cli.common import CliError, global_options, kind_arg

DESCRIPTOR_SET = Path(__file__).resolve().parent.parent / "api" / "v1" / "api_descriptor.binpb"

# Positions in a FileDescriptorProto / DescriptorProto, for SourceCodeInfo paths.
_FILE_MESSAGES = 4
_MESSAGE_FIELDS = 2
_MESSAGE_NESTED = 3

_INT_OR_STRING: Any = meta_pb2.int_or_string

_SCALAR_TYPES = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "string",  # base64, as Kubernetes writes []byte
    FieldDescriptor.TYPE_BOOL: "boolean",
    FieldDescriptor.TYPE_DOUBLE: "number",
    FieldDescriptor.TYPE_FLOAT: "number",
}


def comments_from_descriptor_set(data: bytes) -> dict[str, str]:
    """Leading comments by full name: `corral.v1.Pod` for messages,
    `corral.v1.Pod.spec` for fields (by proto field name)."""
    files = descriptor_pb2.FileDescriptorSet.FromString(data)
    comments: dict[str, str] = {}
    for file in files.file:
        locations = {
            tuple(location.path): location.leading_comments
            for location in file.source_code_info.location
            if location.leading_comments
        }

        def walk(message: Any, path: tuple[int, ...], prefix: str,
                 locations: dict[tuple[int, ...], str] = locations) -> None:
            name = f"{prefix}.{message.name}"
            if path in locations:
                comments[name] = _clean(locations[path])
            for index, field in enumerate(message.field):
                field_path = (*path, _MESSAGE_FIELDS, index)
                if field_path in locations:
                    comments[f"{name}.{field.name}"] = _clean(locations[field_path])
            for index, nested in enumerate(message.nested_type):
                walk(nested, (*path, _MESSAGE_NESTED, index), name)

        for index, message in enumerate(file.message_type):
            walk(message, (_FILE_MESSAGES, index), file.package)
    return comments


def _clean(comment: str) -> str:
    return textwrap.dedent(comment).strip()


@functools.cache
def load_comments(path: Path = DESCRIPTOR_SET) -> dict[str, str]:
    try:
        return comments_from_descriptor_set(path.read_bytes())
    except OSError as error:
        raise CliError(f"cannot read the API documentation {path}: {error.strerror} "
                       "(run `make proto`)") from None


def type_name(field: FieldDescriptor) -> str:
    """A field's type as kubectl explain shows it: string, integer, []Container,
    map[string]string, Time, IntOrString."""
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        return f"map[string]{type_name(message.fields_by_name['value'])}"
    if message is not None:
        element = "Time" if message.full_name == "google.protobuf.Timestamp" else message.name
    elif field.GetOptions().Extensions[_INT_OR_STRING]:
        element = "IntOrString"
    else:
        element = _SCALAR_TYPES.get(field.type, "integer")
    return f"[]{element}" if field.is_repeated else element


def _element_message(field: FieldDescriptor) -> Descriptor | None:
    """The message a path can go into from this field (a map's value type for maps)."""
    message = field.message_type
    if message is None:
        return None
    if message.GetOptions().map_entry:
        return message.fields_by_name["value"].message_type
    if message.full_name == "google.protobuf.Timestamp":
        return None
    return message


def resolve(kind: kinds.Kind, path: list[str]) -> tuple[Descriptor | None, FieldDescriptor | None]:
    """The message (if any) and field a path leads to; CliError naming the missing step."""
    # The stubs type a message class's DESCRIPTOR as "descriptor.Descriptor or upb's"; at
    # runtime upb's is an instance of descriptor.Descriptor.
    message: Descriptor | None = cast(Descriptor, kind.message.DESCRIPTOR)
    field: FieldDescriptor | None = None
    walked = kind.name
    for step in path:
        if message is None:
            raise CliError(f'{walked} has no fields, so it has no "{step}"')
        by_json = {f.json_name: f for f in message.fields}
        field = by_json.get(step)
        if field is None:
            raise CliError(f'field "{step}" does not exist in {walked} ({message.name}); '
                           f"its fields: {', '.join(by_json)}")
        message = _element_message(field)
        walked = f"{walked}.{step}"
    return message, field


def _indent(text: str, spaces: int) -> str:
    return textwrap.indent(text, " " * spaces) if text else ""


def explain_text(kind: kinds.Kind, path: list[str], comments: dict[str, str], *,
                 recursive: bool = False) -> str:
    message, field = resolve(kind, path)
    lines = [f"KIND:       {kind.name}", f"VERSION:    {kind.api_version}", ""]
    if field is not None:
        lines += [f"FIELD: {'.'.join(path)} <{type_name(field)}>", ""]
    description = ""
    if field is not None:
        description = comments.get(field.full_name, "")
    if message is not None:
        description = "\n\n".join(filter(None, [description,
                                                comments.get(message.full_name, "")]))
    lines += ["DESCRIPTION:", _indent(description or "<empty>", 4), ""]
    if message is not None and message.fields:
        lines.append("FIELDS:")
        if recursive:
            lines += _tree(message, 1, (message.full_name,))
        else:
            for child in message.fields:
                lines.append(f"  {child.json_name}\t<{type_name(child)}>")
                text = comments.get(child.full_name, "")
                lines.append(_indent(text, 4) if text else "    <no description>")
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _tree(message: Descriptor, depth: int, seen: tuple[str, ...]) -> list[str]:
    lines = []
    for child in message.fields:
        lines.append(f"{'  ' * depth}{child.json_name}\t<{type_name(child)}>")
        inner = _element_message(child)
        if inner is not None and inner.full_name not in seen:
            lines += _tree(inner, depth + 1, (*seen, inner.full_name))
    return lines


@click.command()
@click.argument("resource", metavar="KIND[.FIELD.PATH]")
@click.option("--recursive", is_flag=True, help="List every nested field, with types only.")
@global_options
def explain(resource: str, recursive: bool) -> None:
    """Document a kind or one of its fields.

    \b
    Examples:
      corral explain pods
      corral explain deploy.spec.strategy
      corral explain pod.spec.containers --recursive
    """
    alias, *path = resource.split(".")
    kind = kind_arg(alias)
    if path and kind.api_version and not kind.message.DESCRIPTOR.fields_by_name.get(path[0]):
        # kubectl takes deployments.apps too: skip a group suffix.
        group = kind.api_version.rpartition("/")[0]
        if group and ".".join(path).startswith(group):
            path = path[len(group.split(".")):]
    click.echo(explain_text(kind, path, load_comments(), recursive=recursive), nl=False)
