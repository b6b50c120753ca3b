"""The rules every API group shares: object metadata, names, labels and annotations,
label selectors, quantities and resource names.

Each check is a generator of FieldErrors taking the JSON path of the field it
checks, so a kind's rules compose them and report every problem with its path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from google.protobuf.message import Message

from corral.api import kinds, quantity, selectors
from corral.api.v1 import meta_pb2


@dataclass(frozen=True)
class FieldError:
    """One problem: the field's JSON path and what is wrong with its value."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


Errors = Iterator[FieldError]


# --------------------------------------------------------------------- names

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_IANA_SERVICE_NAME = re.compile(r"[-a-z0-9]+")
_NAME_CHARS = "must consist of lower case alphanumeric characters"
_ALNUM_ENDS = "must start and end with an alphanumeric character"


def dns_label_problem(value: str) -> str | None:
    """Why `value` is not a DNS-1123 label (Namespace names, container names), or None."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _DNS_LABEL.fullmatch(value):
        return f"{_NAME_CHARS} or '-', and {_ALNUM_ENDS}"
    return None


def dns_1035_label_problem(value: str) -> str | None:
    """Why `value` is not a DNS-1035 label (Service names), or None."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _DNS_1035_LABEL.fullmatch(value):
        return (
            f"{_NAME_CHARS} or '-', must start with an alphabetic character, "
            "and must end with an alphanumeric character"
        )
    return None


def dns_subdomain_problem(value: str) -> str | None:
    """Why `value` is not a DNS-1123 subdomain (most object names), or None."""
    if len(value) > 253:
        return "must be no more than 253 characters"
    if not _DNS_SUBDOMAIN.fullmatch(value):
        return f"{_NAME_CHARS}, '-' or '.', and {_ALNUM_ENDS}"
    return None


def port_name_problem(value: str) -> str | None:
    """Why `value` is not an IANA service name (a named port), or None."""
    if len(value) > 15:
        return "must be no more than 15 characters"
    if not _IANA_SERVICE_NAME.fullmatch(value):
        return f"{_NAME_CHARS} or '-'"
    if "--" in value:
        return "must not contain consecutive hyphens"
    if value.startswith("-") or value.endswith("-"):
        return "must not begin or end with a hyphen"
    if not any(c.isalpha() for c in value):
        return "must contain at least one letter"
    return None


def validate_name(value: str, path: str, what: str, problem: Callable[[str], str | None]) -> Errors:
    why = problem(value)
    if why is not None:
        yield FieldError(path, f'"{value}" is not a valid {what}: {why}')


def validate_required_name(
    value: str, path: str, what: str, problem: Callable[[str], str | None]
) -> Errors:
    if not value:
        yield FieldError(path, "required")
    else:
        yield from validate_name(value, path, what, problem)


def validate_one_of(value: str, path: str, allowed: Sequence[str]) -> Errors:
    if value not in allowed:
        shown = ", ".join(f'"{a}"' for a in allowed)
        yield FieldError(path, f'unsupported value "{value}": must be one of {shown}')


def validate_at_least(value: int, path: str, minimum: int) -> Errors:
    if value < minimum:
        yield FieldError(path, f"must be at least {minimum}, got {value}")


def validate_between(value: int, path: str, low: int, high: int) -> Errors:
    if not low <= value <= high:
        yield FieldError(path, f"must be between {low} and {high}, got {value}")


def validate_port_number(value: int, path: str) -> Errors:
    yield from validate_between(value, path, 1, 65535)


def set_fields(message: Message, fields: Mapping[str, str]) -> list[str]:
    """JSON names of the message fields (python name → JSON name) that are set."""
    return [json for name, json in fields.items() if message.HasField(name)]


# ------------------------------------------------------------ labels & meta


def validate_qualified_name(key: str, path: str, what: str = "label key") -> Errors:
    """Label keys, annotation keys, taint keys, finalizers: all qualified names."""
    why = selectors.validate_label_key(key)
    if why is not None:
        yield FieldError(path, why.replace("label key", what, 1))


def validate_label_value(value: str, path: str) -> Errors:
    why = selectors.validate_label_value(value)
    if why is not None:
        yield FieldError(path, why)


def validate_labels(labels: Mapping[str, str], path: str) -> Errors:
    for key in sorted(labels):
        yield from validate_qualified_name(key, path)
        yield from validate_label_value(labels[key], path)


# Kubernetes' limit on the total size of an object's annotations.
MAX_ANNOTATIONS_BYTES = 256 * 1024


def validate_annotations(annotations: Mapping[str, str], path: str) -> Errors:
    for key in sorted(annotations):
        yield from validate_qualified_name(key, path, "annotation key")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > MAX_ANNOTATIONS_BYTES:
        yield FieldError(
            path, f"total size {size} bytes is more than the limit of {MAX_ANNOTATIONS_BYTES}"
        )


def _name_problem_of(kind: kinds.Kind) -> Callable[[str], str | None]:
    # As in Kubernetes: namespaces are DNS labels, services DNS-1035 labels
    # (their names become DNS names and environment variables), the rest
    # DNS subdomains.
    if kind.name == "Namespace":
        return dns_label_problem
    if kind.name == "Service":
        return dns_1035_label_problem
    return dns_subdomain_problem


def validate_object_meta(
    meta: meta_pb2.ObjectMeta, kind: kinds.Kind, old: meta_pb2.ObjectMeta | None
) -> Errors:
    problem = _name_problem_of(kind)
    if meta.name:
        yield from validate_name(meta.name, "metadata.name", "name", problem)
    elif meta.generate_name:
        # The server appends random characters, so only a prefix is checked.
        why = problem(meta.generate_name.rstrip("-") + "x")
        if why is not None:
            yield FieldError(
                "metadata.generateName",
                f'"{meta.generate_name}" is not a valid name prefix: {why}',
            )
    else:
        yield FieldError("metadata.name", "required (or metadata.generateName)")
    if kind.namespaced:
        yield from validate_required_name(
            meta.namespace, "metadata.namespace", "namespace", dns_label_problem
        )
    elif meta.namespace:
        yield FieldError(
            "metadata.namespace", f"must be empty: {kind.name} is not a namespaced kind"
        )
    yield from validate_labels(meta.labels, "metadata.labels")
    yield from validate_annotations(meta.annotations, "metadata.annotations")
    yield from _owner_references(meta.owner_references, "metadata.ownerReferences")
    for i, finalizer in enumerate(meta.finalizers):
        yield from validate_qualified_name(finalizer, f"metadata.finalizers[{i}]", "finalizer name")
    if old is not None:
        for field, json in (("name", "name"), ("namespace", "namespace"), ("uid", "uid")):
            before, after = getattr(old, field), getattr(meta, field)
            # An empty uid in an update means "the stored one".
            if before != after and not (field == "uid" and not after):
                yield FieldError(
                    f"metadata.{json}",
                    f'field is immutable: may not change from "{before}" to "{after}"',
                )


def _owner_references(refs: Sequence[meta_pb2.OwnerReference], path: str) -> Errors:
    controllers = []
    for i, ref in enumerate(refs):
        for field, json in (
            ("api_version", "apiVersion"),
            ("kind", "kind"),
            ("name", "name"),
            ("uid", "uid"),
        ):
            if not getattr(ref, field):
                yield FieldError(f"{path}[{i}].{json}", "required")
        if ref.controller:
            controllers.append(f"{ref.kind}/{ref.name}")
    if len(controllers) > 1:
        yield FieldError(
            path,
            "only one reference may have controller set to true; found it in "
            + ", ".join(controllers),
        )


def validate_label_selector(selector: meta_pb2.LabelSelector, path: str) -> Errors:
    errors = list(validate_labels(selector.match_labels, f"{path}.matchLabels"))
    for i, requirement in enumerate(selector.match_expressions):
        here = f"{path}.matchExpressions[{i}]"
        errors.extend(validate_qualified_name(requirement.key, f"{here}.key"))
        errors.extend(
            validate_requirement_values(requirement.operator, requirement.values, here, node=False)
        )
    yield from errors
    if not errors:
        # Anything the per-field checks above do not catch.
        try:
            selectors.from_label_selector(selector)
        except selectors.InvalidSelector as error:
            yield FieldError(path, str(error))


_SET_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
_NODE_OPERATORS = (*_SET_OPERATORS, "Gt", "Lt")


def validate_requirement_values(
    operator: str, values: Sequence[str], path: str, *, node: bool
) -> Errors:
    if operator in ("In", "NotIn"):
        if not values:
            yield FieldError(f"{path}.values", f"must be non-empty when operator is {operator}")
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            yield FieldError(f"{path}.values", f"must be empty when operator is {operator}")
    elif node and operator in ("Gt", "Lt"):
        if len(values) != 1:
            yield FieldError(
                f"{path}.values", f"must have exactly one value when operator is {operator}"
            )
        elif not re.fullmatch(r"-?[0-9]+", values[0]):
            yield FieldError(
                f"{path}.values[0]",
                f'"{values[0]}" must be an integer when operator is {operator}',
            )
    else:
        yield from validate_one_of(
            operator, f"{path}.operator", _NODE_OPERATORS if node else _SET_OPERATORS
        )
    if operator in ("In", "NotIn"):
        for i, value in enumerate(values):
            yield from validate_label_value(value, f"{path}.values[{i}]")


# -------------------------------------------------- quantities and resources

STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def validate_quantity(text: str, path: str, *, positive: bool = False) -> Errors:
    try:
        value = quantity.parse(text)
    except quantity.InvalidQuantity as error:
        yield FieldError(path, str(error))
        return
    if positive and value <= 0:
        yield FieldError(path, f'"{text}" must be greater than 0')
    elif value < 0:
        yield FieldError(path, f'"{text}" must be 0 or more')


def resource_name_problem(name: str) -> str | None:
    """Why `name` is not a resource a container may request, or None."""
    if name in STANDARD_RESOURCES:
        return None
    # Extended resources (example.com/gpu) are qualified names with a domain.
    if "/" in name and selectors.validate_label_key(name) is None:
        return None
    return "must be cpu, memory, ephemeral-storage or an extended resource like example.com/gpu"
