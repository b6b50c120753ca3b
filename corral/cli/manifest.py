"""Kubernetes manifests (YAML or JSON) to corral messages and back.

A manifest of a supported kind loads unchanged; anything corral cannot
represent is refused with an error naming the file, line and field path,
never silently dropped. The only exceptions are the fields listed in
`corral.ignored_fields`, which are dropped with a warning.

Parsing walks the message descriptors instead of using protobuf's json_format
so that every error can say exactly where it is (`spec.template.spec.
containers[0].ports[1].containerPort`) and so that Kubernetes' encodings are
followed: IntOrString fields, RFC 3339 timestamps, base64 bytes, null as
absent, integers never given as strings.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import difflib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, cast

import yaml
from google.protobuf import timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from corral.api import conversion, kinds
from corral.api.v1 import meta_pb2
from corral.cli.ignored_fields import IGNORED_FIELDS, UNSUPPORTED_FIELDS

__all__ = [
    "Document",
    "ManifestError",
    "dump_json",
    "dump_yaml",
    "load_paths",
    "load_text",
    "to_dict",
    "to_object",
]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

# A position inside a document: field names, map keys and list indexes.
PathKey = tuple[str | int, ...]


class ManifestError(Exception):
    """A manifest that cannot be loaded; str() is `SOURCE:LINE: PATH: MESSAGE`."""

    def __init__(self, message: str, *, source: str = "", line: int = 0, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.path = path

    def __str__(self) -> str:
        return _located(self.source, self.line, self.path, self.message)


def _located(source: str, line: int, path: str, message: str) -> str:
    where = ""
    if source:
        where = f"{source}:{line}: " if line else f"{source}: "
    return f"{where}{path}: {message}" if path else f"{where}{message}"


@dataclass
class Document:
    """One manifest as read from a file: where it starts and its data.

    `lines` maps positions inside `data` to the line they were written on, so
    errors about a field can point at it.
    """

    source: str
    line: int
    data: dict[str, Any]
    lines: dict[PathKey, int] = field(default_factory=dict, repr=False, compare=False)

    def line_of(self, path: PathKey) -> int:
        """The line of `path`, or of its closest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.line


_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def format_path(path: PathKey) -> str:
    """`spec.containers[0].env[1].name`; map keys that are not plain words in
    brackets: `metadata.labels[app.kubernetes.io/name]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part}]"
    return text


# ------------------------------------------------------------------ reading


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader minus two YAML 1.1 surprises: unquoted timestamps
    stay strings (Kubernetes reads them as strings), and `12:30` is not the
    base-60 integer 750."""


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_VALUE_TAG = "tag:yaml.org,2002:value"
_INT_TAG = "tag:yaml.org,2002:int"
_INT_WITHOUT_BASE_60 = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
)
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, _INT_WITHOUT_BASE_60 if tag == _INT_TAG else regexp)
        for tag, regexp in resolvers
        if tag not in (_TIMESTAMP_TAG, _VALUE_TAG)
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_text(text: str, source: str = "<stdin>") -> list[Document]:
    """The manifests in a YAML (multi-document) or JSON text.

    Empty documents are skipped and `kind: List` is flattened into its items.
    Each manifest must have apiVersion, kind and metadata.name (or
    metadata.generateName).
    """
    documents: list[Document] = []
    for data, lines, line in _parse_documents(text, source):
        if data is None:
            continue
        documents.extend(_flatten(Document(source, line, {}, lines), data))
    for document in documents:
        _check_required(document)
    return documents


def load_paths(paths: Sequence[str], stdin: TextIO | None = None) -> list[Document]:
    """The manifests in files, directories (recursively: *.yaml, *.yml,
    *.json, in sorted order) and `-` (standard input)."""
    documents: list[Document] = []
    for path in paths:
        if path == "-":
            documents.extend(load_text((stdin or sys.stdin).read(), "<stdin>"))
            continue
        for file in _manifest_files(path):
            documents.extend(load_text(_read(file), file))
    return documents


def _manifest_files(path: str) -> list[str]:
    root = Path(path)
    if root.is_dir():
        files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix in MANIFEST_SUFFIXES)
        if not files:
            raise ManifestError(
                "directory has no manifest files (*.yaml, *.yml, *.json)", source=path
            )
        return [str(f) for f in files]
    if not root.exists():
        raise ManifestError("no such file or directory", source=path)
    return [path]


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ManifestError(
            f"not UTF-8 text (byte {error.start}); manifests are YAML or JSON", source=path
        ) from None
    except OSError as error:
        raise ManifestError(error.strerror or str(error), source=path) from None


def _parse_documents(text: str, source: str) -> Iterator[tuple[Any, dict[PathKey, int], int]]:
    """(data, line map, first line) of each document in the text."""
    looks_like_json = text.lstrip().startswith(("{", "["))
    loader = _Loader(_without_json_tabs(text) if looks_like_json else text)
    try:
        parsed: list[tuple[Any, dict[PathKey, int], int]] = []
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines: dict[PathKey, int] = {}
            data = _Composer(loader, source, lines).build(node, ())
            parsed.append((data, lines, node.start_mark.line + 1))
    except yaml.YAMLError as error:
        if looks_like_json:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as json_error:
                raise ManifestError(
                    f"malformed JSON: {json_error.msg} (column {json_error.colno})",
                    source=source,
                    line=json_error.lineno,
                ) from None
            yield data, {}, 1
            return
        raise _yaml_error(error, source) from None
    finally:
        loader.dispose()
    yield from parsed


def _without_json_tabs(text: str) -> str:
    """JSON allows tabs as whitespace where YAML does not. Valid JSON has no
    raw tab inside strings, so in valid JSON they can all become spaces."""
    if "\t" not in text:
        return text
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return text
    return text.replace("\t", " ")


def _yaml_error(error: yaml.YAMLError, source: str) -> ManifestError:
    if not isinstance(error, yaml.MarkedYAMLError):
        return ManifestError(f"malformed YAML: {error}", source=source)
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "syntax error"
    if mark is not None:
        message += f" (column {mark.column + 1})"
    if error.context and error.problem and error.context_mark is not None:
        message += f", {error.context} started on line {error.context_mark.line + 1}"
    return ManifestError(
        f"malformed YAML: {message}", source=source, line=mark.line + 1 if mark else 0
    )


class _Composer:
    """Builds plain data from a YAML node tree, noting each key's line and
    refusing duplicate keys (which YAML loaders otherwise resolve silently)."""

    def __init__(self, loader: _Loader, source: str, lines: dict[PathKey, int]) -> None:
        self.loader = loader
        self.source = source
        self.lines = lines
        self.active: set[int] = set()

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        if id(node) in self.active:
            raise self._error(node, path, "recursive YAML alias")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                result: list[Any] = []
                for index, item in enumerate(node.value):
                    self.lines.setdefault((*path, index), item.start_mark.line + 1)
                    result.append(self.build(item, (*path, index)))
                return result
            return self.loader.construct_object(node, deep=True)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for merge_source in sources:
                    built = self.build(merge_source, path)
                    if not isinstance(built, dict):
                        raise self._error(value_node, path, "a merge key (<<) needs a mapping")
                    for key, value in built.items():
                        merged.setdefault(key, value)
                continue
            key = self._key(key_node, path)
            if key in result:
                raise self._error(key_node, (*path, key), "duplicate key")
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _key(self, node: yaml.Node, path: PathKey) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self._error(node, path, "mapping keys must be strings")
        key = self.loader.construct_object(node)
        if isinstance(key, bool):
            return "true" if key else "false"
        if key is None:
            return "null"
        return str(key)

    def _error(self, node: yaml.Node, path: PathKey, message: str) -> ManifestError:
        return ManifestError(
            message, source=self.source, line=node.start_mark.line + 1, path=format_path(path)
        )


def _flatten(parent: Document, data: Any, prefix: PathKey = ()) -> Iterator[Document]:
    """`data` as documents: itself, or the items of a `kind: List`."""
    line = parent.line_of(prefix) if prefix else parent.line
    depth = len(prefix)
    lines = {key[depth:]: n for key, n in parent.lines.items() if key[:depth] == prefix}
    document = Document(parent.source, line, data if isinstance(data, dict) else {}, lines)
    if not isinstance(data, dict):
        raise ManifestError(
            f"expected a manifest (an object with apiVersion, kind and metadata), "
            f"got {_describe(data)}",
            source=parent.source,
            line=line,
            path=format_path(prefix),
        )
    if data.get("kind") != "List":
        yield document
        return
    items = data.get("items")
    if items is None:
        return
    if not isinstance(items, list):
        raise _error(document, ("items",), f"expected list, got {_describe(items)}")
    for index, item in enumerate(items):
        if item is not None:
            yield from _flatten(parent, item, (*prefix, "items", index))


def _check_required(document: Document) -> None:
    data = document.data
    for name in ("apiVersion", "kind"):
        _require_string(document, data, (name,))
    metadata = data.get("metadata")
    if metadata is None:
        raise _error(document, ("metadata",), "required field is missing")
    if not isinstance(metadata, dict):
        raise _error(document, ("metadata",), f"expected object, got {_describe(metadata)}")
    if metadata.get("name") is None and metadata.get("generateName") is None:
        raise _error(
            document, ("metadata", "name"), "required field is missing (or metadata.generateName)"
        )
    for name in ("name", "generateName"):
        if metadata.get(name) is not None:
            _require_string(document, metadata, ("metadata", name))


def _require_string(document: Document, data: dict[str, Any], path: PathKey) -> str:
    value = data.get(str(path[-1]))
    if value is None or value == "":
        raise _error(document, path, "required field is missing")
    if not isinstance(value, str):
        raise _error(document, path, f"expected string, got {_describe(value)}")
    return value


def _error(document: Document, path: PathKey, message: str) -> ManifestError:
    return ManifestError(
        message, source=document.source, line=document.line_of(path), path=format_path(path)
    )


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = json.dumps(value)
        return text if len(text) <= 60 else text[:56] + '..."'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --------------------------------------------------------------- converting


def to_object(document: Document | dict[str, Any]) -> tuple[Message, list[str]]:
    """The corral message for a manifest, and warnings about ignored fields."""
    if not isinstance(document, Document):
        document = Document("", 0, document)
    _check_required(document)
    data = document.data
    try:
        kind = kinds.by_name(data["kind"])
    except kinds.UnknownKind as error:
        raise ManifestError(
            str(error), source=document.source, line=document.line_of(("kind",))
        ) from None
    api_version = data["apiVersion"]
    body = {key: value for key, value in data.items() if key not in ("apiVersion", "kind")}
    # The parser may add lines for fields it converts; the caller's document stays as it was.
    parser = _Parser(Document(document.source, document.line, data, dict(document.lines)))
    if api_version in kind.other_api_versions:
        body = _converted(kind.name, api_version, body, parser)
    elif api_version != kind.api_version:
        expected = " or ".join((kind.api_version, *kind.other_api_versions))
        raise ManifestError(
            f"apiVersion {api_version} does not match kind {kind.name} (expected {expected})",
            source=document.source,
            line=document.line_of(("apiVersion",)),
        )
    message = kind.message()
    parser.fill(message, body, ())
    return message, parser.warnings


def _converted(
    kind: str, api_version: str, body: dict[str, Any], parser: _Parser
) -> dict[str, Any]:
    """The body of another apiVersion in the stored shape; errors point at what was written."""
    try:
        converted = conversion.convert(
            kind, api_version, body, lambda value, path: parser.whole_number(value, 32, path)
        )
    except conversion.ConversionError as error:
        raise parser.fail(error.path, error.message) from None
    for made, source in converted.sources.items():
        parser.document.lines[made] = parser.document.line_of(source)
    return converted.body


class _Parser:
    """Fills a message from manifest data, walking its descriptor."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.warnings: list[str] = []

    def fail(self, path: PathKey, message: str) -> ManifestError:
        return _error(self.document, path, message)

    def fill(self, message: Message, value: Any, path: PathKey) -> None:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected object, got {_describe(value)}")
        descriptor = cast(Descriptor, message.DESCRIPTOR)
        fields = _fields_by_json_name(descriptor)
        for key, item in value.items():
            if not isinstance(key, str):
                raise self.fail(path, f"field names must be strings, got {_describe(key)}")
            child = (*path, key)
            field_descriptor = fields.get(key)
            if field_descriptor is None:
                self._not_a_field(descriptor, key, child)
            elif item is not None:  # Kubernetes reads null as "not given".
                self._fill_field(message, field_descriptor, item, child)

    def _not_a_field(self, descriptor: Descriptor, key: str, path: PathKey) -> None:
        qualified = f"{descriptor.name}.{key}"
        if qualified in IGNORED_FIELDS:
            self.warnings.append(
                _located(
                    self.document.source,
                    self.document.line_of(path),
                    format_path(path),
                    f"ignored by corral ({IGNORED_FIELDS[qualified]})",
                )
            )
            return
        if qualified in UNSUPPORTED_FIELDS:
            raise self.fail(path, f"not supported by corral ({UNSUPPORTED_FIELDS[qualified]})")
        raise self.fail(path, "unknown field" + _suggestion(descriptor, key))

    def _fill_field(
        self, message: Message, field_descriptor: FieldDescriptor, value: Any, path: PathKey
    ) -> None:
        target = getattr(message, field_descriptor.name)
        if _is_map(field_descriptor):
            if not isinstance(value, dict):
                raise self.fail(path, f"expected object, got {_describe(value)}")
            value_field = _map_value_field(field_descriptor)
            for key, item in value.items():
                child = (*path, str(key))
                if value_field.message_type is not None:
                    self.fill(target[str(key)], {} if item is None else item, child)
                else:
                    target[str(key)] = self.scalar(value_field, item, child)
        elif field_descriptor.is_repeated:
            if not isinstance(value, list):
                raise self.fail(path, f"expected list, got {_describe(value)}")
            for index, item in enumerate(value):
                child = (*path, index)
                if field_descriptor.message_type is not None:
                    self._fill_singular_message(target.add(), {} if item is None else item, child)
                else:
                    target.append(self.scalar(field_descriptor, item, child))
        elif field_descriptor.message_type is not None:
            self._fill_singular_message(target, value, path)
        else:
            setattr(message, field_descriptor.name, self.scalar(field_descriptor, value, path))

    def _fill_singular_message(self, target: Message, value: Any, path: PathKey) -> None:
        if isinstance(target, timestamp_pb2.Timestamp):
            target.CopyFrom(self.timestamp(value, path))
        else:
            target.SetInParent()  # so that `emptyDir: {}` is kept
            self.fill(target, value, path)

    def scalar(self, field_descriptor: FieldDescriptor, value: Any, path: PathKey) -> Any:
        """The Python value for a scalar field; null is the zero value."""
        kind = field_descriptor.type
        if value is None:
            return field_descriptor.default_value
        if kind == FieldDescriptor.TYPE_STRING:
            if _is_int_or_string(field_descriptor):
                if isinstance(value, int) and not isinstance(value, bool):
                    return str(self.integer(value, 32, path))
                if not isinstance(value, str):
                    raise self.fail(path, f"expected integer or string, got {_describe(value)}")
                return value
            if not isinstance(value, str):
                hint = " (quote it to make it a string)" if isinstance(value, int | float) else ""
                raise self.fail(path, f"expected string, got {_describe(value)}{hint}")
            return value
        if kind == FieldDescriptor.TYPE_BOOL:
            if not isinstance(value, bool):
                raise self.fail(path, f"expected boolean, got {_describe(value)}")
            return value
        if kind == FieldDescriptor.TYPE_BYTES:
            return self._base64(value, path)
        if kind in _INTEGER_BITS:
            bits, signed = _INTEGER_BITS[kind]
            return self.whole_number(value, bits, path, signed=signed)
        if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(path, f"expected number, got {_describe(value)}")
            return float(value)
        raise self.fail(path, f"fields of protobuf type {kind} are not supported")

    def whole_number(self, value: Any, bits: int, path: PathKey, *, signed: bool = True) -> int:
        """`value` if it is an integer that fits the field, else the error saying why not."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected integer, got {_describe(value)}")
        return self.integer(value, bits, path, signed=signed)

    def integer(self, value: int, bits: int, path: PathKey, *, signed: bool = True) -> int:
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        if not low <= value <= high:
            type_name = f"{'' if signed else 'u'}int{bits}"
            raise self.fail(path, f"{value} is out of range for {type_name} ({low} to {high})")
        return value

    def _base64(self, value: Any, path: PathKey) -> bytes:
        if not isinstance(value, str):
            raise self.fail(path, f"expected base64 string, got {_describe(value)}")
        try:
            # Go's decoder, which Kubernetes uses, skips line breaks.
            return base64.b64decode(re.sub(r"[\r\n]", "", value), validate=True)
        except (binascii.Error, ValueError) as error:
            # The value is not echoed: it is often a secret.
            reason = str(error)
            raise self.fail(path, f"invalid base64 ({reason[:1].lower()}{reason[1:]})") from None

    def timestamp(self, value: Any, path: PathKey) -> timestamp_pb2.Timestamp:
        if not isinstance(value, str):
            raise self.fail(path, f"expected RFC 3339 time string, got {_describe(value)}")
        match = _RFC3339.fullmatch(value)
        if match is None:
            raise self.fail(
                path, f'expected RFC 3339 time like "2024-05-01T12:00:00Z", got {_describe(value)}'
            )
        try:
            moment = datetime.datetime.fromisoformat(
                f"{match['seconds']}{'+00:00' if match['zone'] in 'Zz' else match['zone']}"
            )
        except ValueError as error:
            raise self.fail(path, f"invalid time {_describe(value)} ({error})") from None
        timestamp = timestamp_pb2.Timestamp()
        timestamp.FromDatetime(moment)
        timestamp.nanos = int((match["fraction"] or "0").ljust(9, "0"))
        return timestamp


_RFC3339 = re.compile(
    r"(?P<seconds>\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?(?P<zone>[Zz]|[+-]\d{2}:\d{2})"
)

# protobuf type → (bits, signed)
_INTEGER_BITS: dict[int, tuple[int, bool]] = {
    FieldDescriptor.TYPE_INT32: (32, True),
    FieldDescriptor.TYPE_SINT32: (32, True),
    FieldDescriptor.TYPE_SFIXED32: (32, True),
    FieldDescriptor.TYPE_INT64: (64, True),
    FieldDescriptor.TYPE_SINT64: (64, True),
    FieldDescriptor.TYPE_SFIXED64: (64, True),
    FieldDescriptor.TYPE_UINT32: (32, False),
    FieldDescriptor.TYPE_FIXED32: (32, False),
    FieldDescriptor.TYPE_UINT64: (64, False),
    FieldDescriptor.TYPE_FIXED64: (64, False),
}

_FIELDS_CACHE: dict[str, dict[str, FieldDescriptor]] = {}


def _fields_by_json_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    fields = _FIELDS_CACHE.get(descriptor.full_name)
    if fields is None:
        fields = {f.json_name: f for f in descriptor.fields}
        _FIELDS_CACHE[descriptor.full_name] = fields
    return fields


def _is_map(field_descriptor: FieldDescriptor) -> bool:
    message_type = field_descriptor.message_type
    return message_type is not None and message_type.GetOptions().map_entry


def _is_int_or_string(field_descriptor: FieldDescriptor) -> bool:
    extension: Any = meta_pb2.int_or_string
    return bool(field_descriptor.GetOptions().Extensions[extension])


def _map_value_field(field_descriptor: FieldDescriptor) -> FieldDescriptor:
    entry = field_descriptor.message_type
    assert entry is not None, f"{field_descriptor.full_name} is not a map"
    return entry.fields_by_name["value"]


def _suggestion(descriptor: Descriptor, key: str) -> str:
    fields = _fields_by_json_name(descriptor)
    by_proto_name = {f.name: f.json_name for f in descriptor.fields}
    if key in by_proto_name:
        return f' (did you mean "{by_proto_name[key]}"?)'
    lowered = {name.lower(): name for name in fields}
    if key.lower() in lowered:
        return f' (did you mean "{lowered[key.lower()]}"?)'
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.8)
    return f' (did you mean "{close[0]}"?)' if close else ""


# ------------------------------------------------------------------ writing


def to_dict(obj: Message) -> dict[str, Any]:
    """The Kubernetes-shaped manifest of a corral object: apiVersion and kind
    first, unset fields left out, explicitly set optional fields kept."""
    kind = kinds.of_message(obj)
    return {"apiVersion": kind.api_version, "kind": kind.name, **_message_to_dict(obj)}


def _message_to_dict(message: Message) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for field_descriptor, value in message.ListFields():
        if _is_map(field_descriptor):
            value_field = _map_value_field(field_descriptor)
            result[field_descriptor.json_name] = {
                key: _value_to_json(value_field, value[key]) for key in sorted(value)
            }
        elif field_descriptor.is_repeated:
            result[field_descriptor.json_name] = [
                _value_to_json(field_descriptor, item) for item in value
            ]
        else:
            result[field_descriptor.json_name] = _value_to_json(field_descriptor, value)
    return result


_INT_TEXT = re.compile(r"0|-?[1-9][0-9]*")


def _value_to_json(field_descriptor: FieldDescriptor, value: Any) -> Any:
    if isinstance(value, timestamp_pb2.Timestamp):
        return format_timestamp(value)
    if isinstance(value, Message):
        return _message_to_dict(value)
    if field_descriptor.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")
    if _is_int_or_string(field_descriptor) and _INT_TEXT.fullmatch(value):
        return int(value)
    return value


def format_timestamp(timestamp: timestamp_pb2.Timestamp) -> str:
    """RFC 3339 in UTC with `Z`; microseconds (or nanoseconds) only when set."""
    moment = datetime.datetime.fromtimestamp(timestamp.seconds, tz=datetime.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if timestamp.nanos:
        nanos = f"{timestamp.nanos:09d}"
        text += "." + (nanos[:6] if nanos.endswith("000") else nanos)
    return text + "Z"


class _Dumper(yaml.SafeDumper):
    """Block-style YAML, multi-line strings as literal blocks, no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(objs: Sequence[Message] | Message) -> str:
    """Objects as YAML documents separated by `---`."""
    messages = [objs] if isinstance(objs, Message) else list(objs)
    return "---\n".join(
        yaml.dump(
            to_dict(message),
            Dumper=_Dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
        )
        for message in messages
    )


def dump_json(objs: Sequence[Message] | Message) -> str:
    """One object as JSON; several as a `kind: List`, as kubectl prints them."""
    if isinstance(objs, Message):
        data = to_dict(objs)
    else:
        data = {"apiVersion": "v1", "kind": "List", "items": [to_dict(m) for m in objs]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
