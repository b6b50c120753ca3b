"""Validation of every kind, run by the API server on Create and Update.

`validate` returns every problem it finds, each as a FieldError naming the
field by its Kubernetes JSON path (`spec.template.spec.containers[0].image`)
and saying why the value is wrong; `check` raises them as one Invalid error.
The rules follow Kubernetes' own validation (k8s.io/kubernetes/pkg/apis/*/
validation) for the fields corral has, so a manifest Kubernetes accepts is
accepted here and one it refuses is refused for the same reason.

Objects are validated as they will be stored: defaults are applied to a copy
first, so callers may pass an object with or without its defaults.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from corral.api import intstr, kinds, quantity, selectors
from corral.api.defaults import apply_defaults
from corral.api.errors import Invalid
from corral.api.v1 import (
    apps_pb2,
    autoscaling_pb2,
    coordination_pb2,
    core_pb2,
    meta_pb2,
    networking_pb2,
)


@dataclass(frozen=True)
class FieldError:
    """One problem: the field's JSON path and what is wrong with its value."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


Errors = Iterator[FieldError]


def validate(
    obj: Message, old: Message | None = None, *, defaulted: bool = False
) -> list[FieldError]:
    """Every problem with `obj`; `old` is the stored object when this is an Update.

    Both are validated as defaults would leave them; `defaulted=True` says
    they already are (the API server's case), which saves copying them."""
    if not defaulted:
        obj = _defaulted(obj)
        old = _defaulted(old) if old is not None else None
    kind = kinds.of_message(obj)
    obj_: Any = obj
    old_: Any = old
    errors = list(_object_meta(obj_.metadata, kind, old_.metadata if old_ is not None else None))
    validate_kind = _BY_KIND.get(kind.name)
    if validate_kind is not None:
        errors.extend(validate_kind(obj_, old_))
    return errors


def check(obj: Message, old: Message | None = None, *, defaulted: bool = False) -> None:
    """Raises Invalid naming every problem (first field first), or returns."""
    errors = validate(obj, old, defaulted=defaulted)
    if errors:
        first, *rest = errors
        raise Invalid("; ".join([first.message, *map(str, rest)]), field=first.path)


def _defaulted(obj: Message) -> Message:
    copy = type(obj)()
    copy.CopyFrom(obj)
    apply_defaults(copy)
    return copy


# --------------------------------------------------------------------- names

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_IANA_SERVICE_NAME = re.compile(r"[-a-z0-9]+")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
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


def config_key_problem(key: str) -> str | None:
    """Why `key` cannot be a ConfigMap or Secret key (it becomes a file name), or None."""
    if len(key) > 253:
        return "must be no more than 253 characters"
    if not _CONFIG_KEY.fullmatch(key):
        return "must consist of alphanumeric characters, '-', '_' or '.'"
    if key in (".", ".."):
        return f"must not be '{key}'"
    if key.startswith(".."):
        return "must not start with '..'"
    return None


def _name(value: str, path: str, what: str, problem: Callable[[str], str | None]) -> Errors:
    why = problem(value)
    if why is not None:
        yield FieldError(path, f'"{value}" is not a valid {what}: {why}')


def _required_name(
    value: str, path: str, what: str, problem: Callable[[str], str | None]
) -> Errors:
    if not value:
        yield FieldError(path, "required")
    else:
        yield from _name(value, path, what, problem)


def _one_of(value: str, path: str, allowed: Sequence[str]) -> Errors:
    if value not in allowed:
        shown = ", ".join(f'"{a}"' for a in allowed)
        yield FieldError(path, f'unsupported value "{value}": must be one of {shown}')


def _at_least(value: int, path: str, minimum: int) -> Errors:
    if value < minimum:
        yield FieldError(path, f"must be at least {minimum}, got {value}")


def _between(value: int, path: str, low: int, high: int) -> Errors:
    if not low <= value <= high:
        yield FieldError(path, f"must be between {low} and {high}, got {value}")


def _port_number(value: int, path: str) -> Errors:
    yield from _between(value, path, 1, 65535)


def _set_fields(message: Message, fields: Mapping[str, str]) -> list[str]:
    """JSON names of the message fields (python name → JSON name) that are set."""
    return [json for name, json in fields.items() if message.HasField(name)]


# ------------------------------------------------------------ labels & meta


def _label_key(key: str, path: str, what: str = "label key") -> Errors:
    """Label keys, annotation keys, taint keys, finalizers: all qualified names."""
    why = selectors.validate_label_key(key)
    if why is not None:
        yield FieldError(path, why.replace("label key", what, 1))


def _label_value(value: str, path: str) -> Errors:
    why = selectors.validate_label_value(value)
    if why is not None:
        yield FieldError(path, why)


def _labels(labels: Mapping[str, str], path: str) -> Errors:
    for key in sorted(labels):
        yield from _label_key(key, path)
        yield from _label_value(labels[key], path)


# Kubernetes' limit on the total size of an object's annotations.
MAX_ANNOTATIONS_BYTES = 256 * 1024


def _annotations(annotations: Mapping[str, str], path: str) -> Errors:
    for key in sorted(annotations):
        yield from _label_key(key, path, "annotation key")
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


def _object_meta(
    meta: meta_pb2.ObjectMeta, kind: kinds.Kind, old: meta_pb2.ObjectMeta | None
) -> Errors:
    problem = _name_problem_of(kind)
    if meta.name:
        yield from _name(meta.name, "metadata.name", "name", problem)
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
        yield from _required_name(
            meta.namespace, "metadata.namespace", "namespace", dns_label_problem
        )
    elif meta.namespace:
        yield FieldError(
            "metadata.namespace", f"must be empty: {kind.name} is not a namespaced kind"
        )
    yield from _labels(meta.labels, "metadata.labels")
    yield from _annotations(meta.annotations, "metadata.annotations")
    yield from _owner_references(meta.owner_references, "metadata.ownerReferences")
    for i, finalizer in enumerate(meta.finalizers):
        yield from _label_key(finalizer, f"metadata.finalizers[{i}]", "finalizer name")
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


def _label_selector(selector: meta_pb2.LabelSelector, path: str) -> Errors:
    errors = list(_labels(selector.match_labels, f"{path}.matchLabels"))
    for i, requirement in enumerate(selector.match_expressions):
        here = f"{path}.matchExpressions[{i}]"
        errors.extend(_label_key(requirement.key, f"{here}.key"))
        errors.extend(
            _requirement_values(requirement.operator, requirement.values, here, node=False)
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


def _requirement_values(operator: str, values: Sequence[str], path: str, *, node: bool) -> Errors:
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
        yield from _one_of(
            operator, f"{path}.operator", _NODE_OPERATORS if node else _SET_OPERATORS
        )
    if operator in ("In", "NotIn"):
        for i, value in enumerate(values):
            yield from _label_value(value, f"{path}.values[{i}]")


# ----------------------------------------------------------------- pod spec

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("TCP", "UDP", "SCTP")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_ENV_RESOURCES = tuple(f"{s}.{r}" for s in ("limits", "requests") for r in _STANDARD_RESOURCES)
# The pod fields a container's environment may refer to (the Downward API).
_ENV_FIELD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.labels",
    "metadata.annotations",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
_SUBSCRIPTED_FIELD_PATH = re.compile(r"metadata\.(labels|annotations)\['(.*)'\]")
_VOLUME_SOURCES = {
    "empty_dir": "emptyDir",
    "config_map": "configMap",
    "secret": "secret",
    "host_path": "hostPath",
}
_HOST_PATH_TYPES = (
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
)
_PROBE_HANDLERS = {"exec": "exec", "http_get": "httpGet", "tcp_socket": "tcpSocket"}
_ENV_SOURCES = {
    "field_ref": "fieldRef",
    "resource_field_ref": "resourceFieldRef",
    "config_map_key_ref": "configMapKeyRef",
    "secret_key_ref": "secretKeyRef",
}


def validate_pod_spec(spec: core_pb2.PodSpec, path: str) -> Errors:
    """The rules every pod spec follows, in a Pod or in a workload's template."""
    volume_names: set[str] = set()
    for i, volume in enumerate(spec.volumes):
        here = f"{path}.volumes[{i}]"
        yield from _required_name(volume.name, f"{here}.name", "volume name", dns_label_problem)
        if volume.name in volume_names:
            yield FieldError(f"{here}.name", f'duplicate volume name "{volume.name}"')
        volume_names.add(volume.name)
        yield from _volume_source(volume, here)

    if not spec.containers:
        yield FieldError(f"{path}.containers", "required: a pod needs at least one container")
    container_names: set[str] = set()
    host_ports: dict[tuple[int, str, str], str] = {}
    for field, json in (("init_containers", "initContainers"), ("containers", "containers")):
        for i, container in enumerate(getattr(spec, field)):
            here = f"{path}.{json}[{i}]"
            yield from _container(container, here, volume_names, init=field == "init_containers")
            if container.name and container.name in container_names:
                yield FieldError(f"{here}.name", f'duplicate container name "{container.name}"')
            container_names.add(container.name)
            if field == "containers":
                yield from _host_port_conflicts(container, here, host_ports)

    yield from _one_of(spec.restart_policy, f"{path}.restartPolicy", _RESTART_POLICIES)
    if spec.termination_grace_period_seconds < 0:
        yield FieldError(
            f"{path}.terminationGracePeriodSeconds",
            f"must be 0 or more, got {spec.termination_grace_period_seconds}",
        )
    if spec.HasField("active_deadline_seconds"):
        yield from _at_least(spec.active_deadline_seconds, f"{path}.activeDeadlineSeconds", 1)
    if spec.node_name:
        yield from _name(spec.node_name, f"{path}.nodeName", "node name", dns_subdomain_problem)
    if spec.hostname:
        yield from _name(spec.hostname, f"{path}.hostname", "hostname", dns_label_problem)
    if spec.subdomain:
        yield from _name(spec.subdomain, f"{path}.subdomain", "subdomain", dns_label_problem)
    yield from _labels(spec.node_selector, f"{path}.nodeSelector")
    if spec.HasField("affinity"):
        yield from _affinity(spec.affinity, f"{path}.affinity")
    for i, toleration in enumerate(spec.tolerations):
        yield from _toleration(toleration, f"{path}.tolerations[{i}]")
    yield from _topology_spread(
        spec.topology_spread_constraints, f"{path}.topologySpreadConstraints"
    )


def _host_port_conflicts(
    container: core_pb2.Container, path: str, taken: dict[tuple[int, str, str], str]
) -> Errors:
    for j, port in enumerate(container.ports):
        if not port.host_port:
            continue
        key = (port.host_port, port.protocol, port.host_ip)
        if key in taken:
            yield FieldError(
                f"{path}.ports[{j}].hostPort",
                f"host port {port.host_port}/{port.protocol} is already used by {taken[key]}",
            )
        taken[key] = f"{path}.ports[{j}]"


def _container(
    container: core_pb2.Container, path: str, volume_names: set[str], *, init: bool
) -> Errors:
    yield from _required_name(container.name, f"{path}.name", "container name", dns_label_problem)
    if not container.image:
        yield FieldError(f"{path}.image", "required")
    elif container.image != container.image.strip():
        yield FieldError(f"{path}.image", "must not have leading or trailing whitespace")
    yield from _one_of(container.image_pull_policy, f"{path}.imagePullPolicy", _PULL_POLICIES)
    yield from _one_of(
        container.termination_message_policy,
        f"{path}.terminationMessagePolicy",
        ("File", "FallbackToLogsOnError"),
    )

    port_names: set[str] = set()
    for j, port in enumerate(container.ports):
        here = f"{path}.ports[{j}]"
        if not port.container_port:
            yield FieldError(f"{here}.containerPort", "required")
        else:
            yield from _port_number(port.container_port, f"{here}.containerPort")
        if port.host_port:
            yield from _port_number(port.host_port, f"{here}.hostPort")
        yield from _one_of(port.protocol, f"{here}.protocol", _PROTOCOLS)
        if port.name:
            yield from _name(port.name, f"{here}.name", "port name", port_name_problem)
            if port.name in port_names:
                yield FieldError(f"{here}.name", f'duplicate port name "{port.name}"')
            port_names.add(port.name)

    for j, env in enumerate(container.env):
        yield from _env_var(env, f"{path}.env[{j}]")
    for j, env_from in enumerate(container.env_from):
        yield from _env_from(env_from, f"{path}.envFrom[{j}]")
    yield from _resources(container.resources, f"{path}.resources")
    yield from _volume_mounts(container.volume_mounts, f"{path}.volumeMounts", volume_names)

    for field, json in (
        ("liveness_probe", "livenessProbe"),
        ("readiness_probe", "readinessProbe"),
        ("startup_probe", "startupProbe"),
    ):
        if not container.HasField(field):
            continue
        if init:
            yield FieldError(f"{path}.{json}", "may not be set for init containers")
        else:
            yield from _probe(getattr(container, field), f"{path}.{json}", port_names, json)


def _env_var(env: core_pb2.EnvVar, path: str) -> Errors:
    if not env.name:
        yield FieldError(f"{path}.name", "required")
    elif "=" in env.name or not env.name.isprintable():
        yield FieldError(
            f"{path}.name",
            f'"{env.name}" is not a valid environment variable name: '
            "must consist of printable characters other than '='",
        )
    if not env.HasField("value_from"):
        return
    if env.value:
        yield FieldError(f"{path}.valueFrom", "may not be set when value is not empty")
    source = env.value_from
    sources = _set_fields(source, _ENV_SOURCES)
    if len(sources) != 1:
        yield FieldError(
            f"{path}.valueFrom",
            "must have exactly one source of fieldRef, resourceFieldRef, configMapKeyRef "
            f"or secretKeyRef; got {', '.join(sources) or 'none'}",
        )
    here = f"{path}.valueFrom"
    if source.HasField("field_ref"):
        yield from _field_ref(source.field_ref, f"{here}.fieldRef")
    if source.HasField("resource_field_ref"):
        ref = source.resource_field_ref
        yield from _one_of(ref.resource, f"{here}.resourceFieldRef.resource", _ENV_RESOURCES)
        if ref.divisor:
            yield from _quantity(ref.divisor, f"{here}.resourceFieldRef.divisor", positive=True)
    for field, json in (
        ("config_map_key_ref", "configMapKeyRef"),
        ("secret_key_ref", "secretKeyRef"),
    ):
        if source.HasField(field):
            ref = getattr(source, field)
            yield from _required_name(
                ref.name, f"{here}.{json}.name", "name", dns_subdomain_problem
            )
            yield from _required_name(ref.key, f"{here}.{json}.key", "key", config_key_problem)


def _field_ref(ref: core_pb2.ObjectFieldSelector, path: str) -> Errors:
    if ref.api_version != "v1":
        yield FieldError(
            f"{path}.apiVersion", f'unsupported value "{ref.api_version}": must be "v1"'
        )
    subscripted = _SUBSCRIPTED_FIELD_PATH.fullmatch(ref.field_path)
    if subscripted:
        what = "label key" if subscripted.group(1) == "labels" else "annotation key"
        yield from _label_key(subscripted.group(2), f"{path}.fieldPath", what)
    elif ref.field_path not in _ENV_FIELD_PATHS:
        yield FieldError(
            f"{path}.fieldPath",
            f'unsupported value "{ref.field_path}": must be one of '
            + ", ".join(_ENV_FIELD_PATHS)
            + ", metadata.labels['KEY'] or metadata.annotations['KEY']",
        )


def _env_from(env_from: core_pb2.EnvFromSource, path: str) -> Errors:
    if env_from.prefix and "=" in env_from.prefix:
        yield FieldError(f"{path}.prefix", "must not contain '='")
    sources = _set_fields(env_from, {"config_map_ref": "configMapRef", "secret_ref": "secretRef"})
    if len(sources) != 1:
        yield FieldError(
            path,
            "must have exactly one source of configMapRef or secretRef; "
            f"got {', '.join(sources) or 'none'}",
        )
    for field, json in (("config_map_ref", "configMapRef"), ("secret_ref", "secretRef")):
        if env_from.HasField(field):
            yield from _required_name(
                getattr(env_from, field).name, f"{path}.{json}.name", "name", dns_subdomain_problem
            )


def _quantity(text: str, path: str, *, positive: bool = False) -> Errors:
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
    if name in _STANDARD_RESOURCES:
        return None
    # Extended resources (example.com/gpu) are qualified names with a domain.
    if "/" in name and selectors.validate_label_key(name) is None:
        return None
    return "must be cpu, memory, ephemeral-storage or an extended resource like example.com/gpu"


def _resource_name(name: str, path: str) -> Errors:
    why = resource_name_problem(name)
    if why is not None:
        yield FieldError(path, f'unknown resource "{name}": {why}')


def _resources(resources: core_pb2.ResourceRequirements, path: str) -> Errors:
    parsed: dict[str, dict[str, Any]] = {"limits": {}, "requests": {}}
    for section in ("limits", "requests"):
        amounts: Mapping[str, str] = getattr(resources, section)
        for name in sorted(amounts):
            here = f"{path}.{section}[{name}]"
            known = list(_resource_name(name, here))
            problems = list(_quantity(amounts[name], here))
            yield from known
            yield from problems
            if not known and not problems:
                parsed[section][name] = quantity.parse(amounts[name])
    for name, request in sorted(parsed["requests"].items()):
        limit = parsed["limits"].get(name)
        if limit is not None and request > limit:
            yield FieldError(
                f"{path}.requests[{name}]",
                f'"{resources.requests[name]}" must be less than or equal to the {name} limit '
                f'"{resources.limits[name]}"',
            )


def _volume_mounts(
    mounts: Sequence[core_pb2.VolumeMount], path: str, volume_names: set[str]
) -> Errors:
    mount_paths: set[str] = set()
    for i, mount in enumerate(mounts):
        here = f"{path}[{i}]"
        if not mount.name:
            yield FieldError(f"{here}.name", "required")
        elif mount.name not in volume_names:
            yield FieldError(
                f"{here}.name", f'no volume named "{mount.name}" in the pod\'s volumes'
            )
        if not mount.mount_path:
            yield FieldError(f"{here}.mountPath", "required")
        elif not mount.mount_path.startswith("/"):
            yield FieldError(f"{here}.mountPath", f'"{mount.mount_path}" must be an absolute path')
        elif mount.mount_path in mount_paths:
            yield FieldError(f"{here}.mountPath", f'"{mount.mount_path}" is already mounted')
        mount_paths.add(mount.mount_path)
        if mount.sub_path:
            yield from _relative_path(mount.sub_path, f"{here}.subPath")


def _relative_path(value: str, path: str) -> Errors:
    if value.startswith("/"):
        yield FieldError(path, f'"{value}" must be a relative path')
    elif ".." in value.split("/"):
        yield FieldError(path, f"\"{value}\" must not contain '..'")


def _volume_source(volume: core_pb2.Volume, path: str) -> Errors:
    sources = _set_fields(volume, _VOLUME_SOURCES)
    if not sources:
        yield FieldError(
            path, "must specify a volume source: " + ", ".join(_VOLUME_SOURCES.values())
        )
    elif len(sources) > 1:
        yield FieldError(
            path, f"may not specify more than one volume source; got {', '.join(sources)}"
        )
    if volume.HasField("empty_dir"):
        yield from _one_of(volume.empty_dir.medium, f"{path}.emptyDir.medium", ("", "Memory"))
        if volume.empty_dir.size_limit:
            yield from _quantity(volume.empty_dir.size_limit, f"{path}.emptyDir.sizeLimit")
    if volume.HasField("config_map"):
        source = volume.config_map
        here = f"{path}.configMap"
        yield from _required_name(source.name, f"{here}.name", "name", dns_subdomain_problem)
        yield from _key_to_paths(source.items, f"{here}.items")
        if source.HasField("default_mode"):
            yield from _file_mode(source.default_mode, f"{here}.defaultMode")
    if volume.HasField("secret"):
        secret = volume.secret
        here = f"{path}.secret"
        yield from _required_name(
            secret.secret_name, f"{here}.secretName", "name", dns_subdomain_problem
        )
        yield from _key_to_paths(secret.items, f"{here}.items")
        if secret.HasField("default_mode"):
            yield from _file_mode(secret.default_mode, f"{here}.defaultMode")
    if volume.HasField("host_path"):
        host_path = volume.host_path
        if not host_path.path:
            yield FieldError(f"{path}.hostPath.path", "required")
        elif not host_path.path.startswith("/"):
            yield FieldError(
                f"{path}.hostPath.path", f'"{host_path.path}" must be an absolute path'
            )
        yield from _one_of(host_path.type, f"{path}.hostPath.type", _HOST_PATH_TYPES)


def _key_to_paths(items: Sequence[core_pb2.KeyToPath], path: str) -> Errors:
    for i, item in enumerate(items):
        here = f"{path}[{i}]"
        yield from _required_name(item.key, f"{here}.key", "key", config_key_problem)
        if not item.path:
            yield FieldError(f"{here}.path", "required")
        else:
            yield from _relative_path(item.path, f"{here}.path")
        if item.HasField("mode"):
            yield from _file_mode(item.mode, f"{here}.mode")


def _file_mode(mode: int, path: str) -> Errors:
    if not 0 <= mode <= 0o777:
        yield FieldError(path, f"must be a file mode between 0 and 0777 (511), got {mode}")


def _probe(probe: core_pb2.Probe, path: str, port_names: set[str], which: str) -> Errors:
    handlers = _set_fields(probe, _PROBE_HANDLERS)
    if not handlers:
        yield FieldError(path, "must specify a handler: one of exec, httpGet, tcpSocket")
    elif len(handlers) > 1:
        yield FieldError(path, f"may not specify more than one handler; got {', '.join(handlers)}")
    if probe.HasField("exec") and not probe.exec.command:
        yield FieldError(f"{path}.exec.command", "required")
    if probe.HasField("http_get"):
        yield from _probe_port(probe.http_get.port, f"{path}.httpGet.port", port_names)
        yield from _one_of(probe.http_get.scheme, f"{path}.httpGet.scheme", ("HTTP", "HTTPS"))
    if probe.HasField("tcp_socket"):
        yield from _probe_port(probe.tcp_socket.port, f"{path}.tcpSocket.port", port_names)
    yield from _at_least(probe.initial_delay_seconds, f"{path}.initialDelaySeconds", 0)
    yield from _at_least(probe.timeout_seconds, f"{path}.timeoutSeconds", 0)
    yield from _at_least(probe.period_seconds, f"{path}.periodSeconds", 1)
    yield from _at_least(probe.success_threshold, f"{path}.successThreshold", 1)
    yield from _at_least(probe.failure_threshold, f"{path}.failureThreshold", 1)
    if which != "readinessProbe" and probe.success_threshold > 1:
        yield FieldError(
            f"{path}.successThreshold",
            f"must be 1 for a {which}, got {probe.success_threshold}",
        )
    if probe.HasField("termination_grace_period_seconds"):
        if which == "readinessProbe":
            yield FieldError(
                f"{path}.terminationGracePeriodSeconds", "may not be set for a readinessProbe"
            )
        else:
            yield from _at_least(
                probe.termination_grace_period_seconds, f"{path}.terminationGracePeriodSeconds", 1
            )


def _probe_port(port: str, path: str, port_names: set[str]) -> Errors:
    if not port:
        yield FieldError(path, "required")
    elif port.isascii() and port.isdigit():
        yield from _port_number(int(port), path)
    elif port_name_problem(port) is not None:
        yield FieldError(
            path,
            f'"{port}" is not a valid port: must be a number between 1 and 65535 or the name '
            "of a port of the container",
        )
    elif port not in port_names:
        yield FieldError(path, f'the container has no port named "{port}"')


def _affinity(affinity: core_pb2.Affinity, path: str) -> Errors:
    if affinity.HasField("node_affinity"):
        node = affinity.node_affinity
        here = f"{path}.nodeAffinity"
        if node.HasField("required_during_scheduling_ignored_during_execution"):
            required = node.required_during_scheduling_ignored_during_execution
            terms_path = f"{here}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
            if not required.node_selector_terms:
                yield FieldError(terms_path, "must have at least one node selector term")
            for i, term in enumerate(required.node_selector_terms):
                yield from _node_selector_term(term, f"{terms_path}[{i}]")
        preferred = node.preferred_during_scheduling_ignored_during_execution
        for i, weighted in enumerate(preferred):
            weighted_path = f"{here}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            yield from _between(weighted.weight, f"{weighted_path}.weight", 1, 100)
            yield from _node_selector_term(weighted.preference, f"{weighted_path}.preference")
    for field, json in (("pod_affinity", "podAffinity"), ("pod_anti_affinity", "podAntiAffinity")):
        if not affinity.HasField(field):
            continue
        pod_affinity = getattr(affinity, field)
        here = f"{path}.{json}"
        for i, term in enumerate(pod_affinity.required_during_scheduling_ignored_during_execution):
            yield from _pod_affinity_term(
                term, f"{here}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"
            )
        for i, weighted in enumerate(
            pod_affinity.preferred_during_scheduling_ignored_during_execution
        ):
            weighted_path = f"{here}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            yield from _between(weighted.weight, f"{weighted_path}.weight", 1, 100)
            yield from _pod_affinity_term(
                weighted.pod_affinity_term, f"{weighted_path}.podAffinityTerm"
            )


def _node_selector_term(term: core_pb2.NodeSelectorTerm, path: str) -> Errors:
    for i, requirement in enumerate(term.match_expressions):
        here = f"{path}.matchExpressions[{i}]"
        yield from _label_key(requirement.key, f"{here}.key")
        yield from _requirement_values(requirement.operator, requirement.values, here, node=True)
    # Kubernetes selects nodes by field only on metadata.name, with In/NotIn
    # and a single name.
    for i, requirement in enumerate(term.match_fields):
        here = f"{path}.matchFields[{i}]"
        if requirement.key != "metadata.name":
            yield FieldError(
                f"{here}.key", f'unsupported value "{requirement.key}": must be "metadata.name"'
            )
        yield from _one_of(requirement.operator, f"{here}.operator", ("In", "NotIn"))
        if len(requirement.values) != 1:
            yield FieldError(f"{here}.values", "must have exactly one value: a node name")


def _pod_affinity_term(term: core_pb2.PodAffinityTerm, path: str) -> Errors:
    if not term.topology_key:
        yield FieldError(f"{path}.topologyKey", "required")
    else:
        yield from _label_key(term.topology_key, f"{path}.topologyKey")
    if term.HasField("label_selector"):
        yield from _label_selector(term.label_selector, f"{path}.labelSelector")
    for i, namespace in enumerate(term.namespaces):
        yield from _name(namespace, f"{path}.namespaces[{i}]", "namespace", dns_label_problem)
    if term.HasField("namespace_selector"):
        yield from _label_selector(term.namespace_selector, f"{path}.namespaceSelector")


def _toleration(toleration: core_pb2.Toleration, path: str) -> Errors:
    if toleration.key:
        yield from _label_key(toleration.key, f"{path}.key", "toleration key")
    operator = toleration.operator or "Equal"
    yield from _one_of(operator, f"{path}.operator", ("Equal", "Exists"))
    if not toleration.key and operator != "Exists":
        yield FieldError(f"{path}.operator", 'must be "Exists" when key is empty')
    if operator == "Exists" and toleration.value:
        yield FieldError(f"{path}.value", 'must be empty when operator is "Exists"')
    elif toleration.value:
        yield from _label_value(toleration.value, f"{path}.value")
    yield from _one_of(toleration.effect, f"{path}.effect", ("", *_TAINT_EFFECTS))
    if toleration.HasField("toleration_seconds") and toleration.effect != "NoExecute":
        yield FieldError(f"{path}.tolerationSeconds", 'may only be set when effect is "NoExecute"')


def _topology_spread(constraints: Sequence[core_pb2.TopologySpreadConstraint], path: str) -> Errors:
    seen: set[tuple[str, str]] = set()
    for i, constraint in enumerate(constraints):
        here = f"{path}[{i}]"
        yield from _at_least(constraint.max_skew, f"{here}.maxSkew", 1)
        if not constraint.topology_key:
            yield FieldError(f"{here}.topologyKey", "required")
        else:
            yield from _label_key(constraint.topology_key, f"{here}.topologyKey")
        yield from _one_of(
            constraint.when_unsatisfiable,
            f"{here}.whenUnsatisfiable",
            ("DoNotSchedule", "ScheduleAnyway"),
        )
        pair = (constraint.topology_key, constraint.when_unsatisfiable)
        if pair in seen:
            yield FieldError(
                here,
                f'duplicate constraint for topologyKey "{pair[0]}" '
                f'and whenUnsatisfiable "{pair[1]}"',
            )
        seen.add(pair)
        if constraint.HasField("label_selector"):
            yield from _label_selector(constraint.label_selector, f"{here}.labelSelector")
        if constraint.HasField("min_domains"):
            yield from _at_least(constraint.min_domains, f"{here}.minDomains", 1)
            if constraint.when_unsatisfiable != "DoNotSchedule":
                yield FieldError(
                    f"{here}.minDomains",
                    'may only be set when whenUnsatisfiable is "DoNotSchedule"',
                )


# ---------------------------------------------------------------------- Pod

_POD_MUTABLE_FIELDS = (
    "`spec.containers[*].image`, `spec.initContainers[*].image`, "
    "`spec.activeDeadlineSeconds` or `spec.tolerations` (only additions to existing tolerations)"
)


def _pod(pod: core_pb2.Pod, old: core_pb2.Pod | None) -> Errors:
    yield from validate_pod_spec(pod.spec, "spec")
    if old is not None:
        yield from _pod_spec_update(pod.spec, old.spec)


def _pod_spec_update(new: core_pb2.PodSpec, old: core_pb2.PodSpec) -> Errors:
    if new.node_name != old.node_name:
        yield FieldError(
            "spec.nodeName",
            f'may not be changed by an update (from "{old.node_name}" to "{new.node_name}"): '
            "pods are bound to a node with Bind",
        )
    if old.HasField("active_deadline_seconds"):
        if not new.HasField("active_deadline_seconds"):
            yield FieldError("spec.activeDeadlineSeconds", "may not be removed once set")
        elif new.active_deadline_seconds > old.active_deadline_seconds:
            yield FieldError(
                "spec.activeDeadlineSeconds",
                f"may not be increased (from {old.active_deadline_seconds} "
                f"to {new.active_deadline_seconds})",
            )
    removed = [t for t in old.tolerations if t not in new.tolerations]
    if removed:
        yield FieldError(
            "spec.tolerations",
            "existing tolerations may not be removed or changed, only added to",
        )

    # Compare what is left once the fields that may change are put back.
    comparable = core_pb2.PodSpec()
    comparable.CopyFrom(new)
    comparable.node_name = old.node_name
    # The scheduler's note about preemption, not part of what the user asked for.
    comparable.nominated_node_name = old.nominated_node_name
    if old.HasField("active_deadline_seconds"):
        comparable.active_deadline_seconds = old.active_deadline_seconds
    else:
        comparable.ClearField("active_deadline_seconds")
    del comparable.tolerations[:]
    comparable.tolerations.extend(old.tolerations)
    for field in ("init_containers", "containers"):
        for container, before in zip(getattr(comparable, field), getattr(old, field), strict=False):
            container.image = before.image
    if comparable != old:
        changed = ", ".join(_changed_fields(old, comparable, "spec"))
        yield FieldError(
            "spec",
            f"Forbidden: pod updates may not change fields other than {_POD_MUTABLE_FIELDS}; "
            f"changed: {changed}",
        )


def _changed_fields(old: Message, new: Message, path: str) -> Iterator[str]:
    """JSON paths of the fields that differ between two messages of one type."""
    for field in old.DESCRIPTOR.fields:
        before, after = getattr(old, field.name), getattr(new, field.name)
        if before == after:
            continue
        here = f"{path}.{field.json_name}"
        message_type = field.message_type
        is_message = message_type is not None
        is_map = message_type is not None and message_type.GetOptions().map_entry
        repeated = field.is_repeated
        if is_message and repeated and not is_map and len(before) == len(after):
            for i, (item_before, item_after) in enumerate(zip(before, after, strict=True)):
                if item_before != item_after:
                    yield from _changed_fields(item_before, item_after, f"{here}[{i}]")
        elif is_message and not repeated:
            yield from _changed_fields(before, after, here)
        else:
            yield here


# ---------------------------------------------------------------- workloads


def _workload_spec(
    spec: apps_pb2.ReplicaSetSpec | apps_pb2.DeploymentSpec,
    old_spec: apps_pb2.ReplicaSetSpec | apps_pb2.DeploymentSpec | None,
) -> Errors:
    """What Deployments and ReplicaSets share: replicas, selector and template."""
    yield from _at_least(spec.replicas, "spec.replicas", 0)
    yield from _at_least(spec.min_ready_seconds, "spec.minReadySeconds", 0)
    selector = spec.selector
    template = spec.template
    if not selector.match_labels and not selector.match_expressions:
        yield FieldError("spec.selector", "required: a non-empty label selector")
    else:
        selector_errors = list(_label_selector(selector, "spec.selector"))
        yield from selector_errors
        if not selector_errors and not selectors.from_label_selector(selector).matches(
            dict(template.metadata.labels)
        ):
            yield FieldError(
                "spec.template.metadata.labels", "selector does not match template labels"
            )
    if old_spec is not None and old_spec.selector != selector:
        yield FieldError("spec.selector", "field is immutable")
    yield from _labels(template.metadata.labels, "spec.template.metadata.labels")
    yield from _annotations(template.metadata.annotations, "spec.template.metadata.annotations")
    yield from validate_pod_spec(template.spec, "spec.template.spec")
    if template.spec.restart_policy != "Always":
        yield FieldError(
            "spec.template.spec.restartPolicy",
            f'unsupported value "{template.spec.restart_policy}": must be "Always" in a '
            "workload's pod template",
        )


def _replica_set(rs: apps_pb2.ReplicaSet, old: apps_pb2.ReplicaSet | None) -> Errors:
    yield from _workload_spec(rs.spec, old.spec if old is not None else None)


def _deployment(deployment: apps_pb2.Deployment, old: apps_pb2.Deployment | None) -> Errors:
    spec = deployment.spec
    yield from _workload_spec(spec, old.spec if old is not None else None)
    strategy = spec.strategy
    yield from _one_of(strategy.type, "spec.strategy.type", ("RollingUpdate", "Recreate"))
    if strategy.HasField("rolling_update"):
        if strategy.type != "RollingUpdate":
            yield FieldError(
                "spec.strategy.rollingUpdate",
                f'may not be specified when strategy type is "{strategy.type}"',
            )
        else:
            yield from _rolling_update(strategy.rolling_update, "spec.strategy.rollingUpdate")
    yield from _at_least(spec.revision_history_limit, "spec.revisionHistoryLimit", 0)
    if spec.HasField("progress_deadline_seconds"):
        yield from _at_least(spec.progress_deadline_seconds, "spec.progressDeadlineSeconds", 0)
        if spec.progress_deadline_seconds <= spec.min_ready_seconds:
            yield FieldError(
                "spec.progressDeadlineSeconds",
                f"must be greater than minReadySeconds ({spec.min_ready_seconds}), "
                f"got {spec.progress_deadline_seconds}",
            )


def _rolling_update(rolling: apps_pb2.RollingUpdateDeployment, path: str) -> Errors:
    # As in Kubernetes, only maxUnavailable is capped at 100%: surging by
    # more than the replica count is allowed.
    surge_problem = intstr.validate(rolling.max_surge, max_percent=None)
    unavailable_problem = intstr.validate(rolling.max_unavailable, max_percent=100)
    if surge_problem is not None:
        yield FieldError(f"{path}.maxSurge", surge_problem)
    if unavailable_problem is not None:
        yield FieldError(f"{path}.maxUnavailable", unavailable_problem)
    both_valid = surge_problem is None and unavailable_problem is None
    if both_valid and _is_zero(rolling.max_surge) and _is_zero(rolling.max_unavailable):
        yield FieldError(
            f"{path}.maxUnavailable",
            "may not be 0 when maxSurge is 0: the rollout could never make progress",
        )


def _is_zero(value: str) -> bool:
    parsed = intstr.parse(value)
    return parsed == 0 or parsed == intstr.Percent(0)


# ------------------------------------------------------------------ Service

_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
NODE_PORT_RANGE = (30000, 32767)


def _service(service: core_pb2.Service, old: core_pb2.Service | None) -> Errors:
    spec = service.spec
    yield from _one_of(spec.type, "spec.type", _SERVICE_TYPES)
    yield from _one_of(spec.session_affinity, "spec.sessionAffinity", ("None", "ClientIP"))
    if spec.type == "ExternalName":
        yield from _required_name(
            spec.external_name, "spec.externalName", "DNS name", dns_subdomain_problem
        )
    elif not spec.ports and spec.cluster_ip != "None":
        yield FieldError("spec.ports", "required: a service needs at least one port")
    port_names: set[str] = set()
    for i, port in enumerate(spec.ports):
        here = f"spec.ports[{i}]"
        if not port.name:
            if len(spec.ports) > 1:
                yield FieldError(f"{here}.name", "required when a service has more than one port")
        else:
            yield from _name(port.name, f"{here}.name", "port name", dns_label_problem)
            if port.name in port_names:
                yield FieldError(f"{here}.name", f'duplicate port name "{port.name}"')
            port_names.add(port.name)
        yield from _port_number(port.port, f"{here}.port")
        yield from _one_of(port.protocol, f"{here}.protocol", _PROTOCOLS)
        yield from _target_port(port.target_port, f"{here}.targetPort")
        if port.node_port:
            if spec.type not in ("NodePort", "LoadBalancer"):
                yield FieldError(f"{here}.nodePort", f'may not be set when type is "{spec.type}"')
            else:
                yield from _between(port.node_port, f"{here}.nodePort", *NODE_PORT_RANGE)
    yield from _labels(spec.selector, "spec.selector")
    if spec.external_traffic_policy:
        yield from _one_of(
            spec.external_traffic_policy, "spec.externalTrafficPolicy", ("Cluster", "Local")
        )
    # An update that leaves clusterIP empty keeps the allocated one (the
    # server copies it); only a different address is refused.
    if old is not None and old.spec.cluster_ip and spec.cluster_ip not in ("", old.spec.cluster_ip):
        yield FieldError("spec.clusterIP", "field is immutable")


def _target_port(value: str, path: str) -> Errors:
    if value.isascii() and value.isdigit():
        yield from _port_number(int(value), path)
    elif port_name_problem(value) is not None:
        yield FieldError(
            path,
            f'"{value}" is not a valid target port: must be a number between 1 and 65535 or '
            f"a container port name ({port_name_problem(value)})",
        )


# --------------------------------------------------------- ConfigMap/Secret

MAX_CONFIG_BYTES = 1024 * 1024


def _config_map(config_map: core_pb2.ConfigMap, old: core_pb2.ConfigMap | None) -> Errors:
    for key in sorted(config_map.data):
        yield from _name(key, f"data[{key}]", "key", config_key_problem)
    for key in sorted(config_map.binary_data):
        yield from _name(key, f"binaryData[{key}]", "key", config_key_problem)
        if key in config_map.data:
            yield FieldError(f"binaryData[{key}]", f'duplicate of key "{key}" in data')
    size = sum(len(v.encode()) for v in config_map.data.values()) + sum(
        len(v) for v in config_map.binary_data.values()
    )
    yield from _size_limit(size, "data", "data and binaryData")
    if old is not None:
        yield from _immutable_data(config_map, old, ("data", "binary_data"))


def _secret(secret: core_pb2.Secret, old: core_pb2.Secret | None) -> Errors:
    for key in sorted(secret.data):
        yield from _name(key, f"data[{key}]", "key", config_key_problem)
    yield from _size_limit(sum(len(v) for v in secret.data.values()), "data", "data")
    if secret.type == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in secret.data:
                yield FieldError(
                    f"data[{key}]", 'required for a secret of type "kubernetes.io/tls"'
                )
    if old is not None:
        if old.type != secret.type:
            yield FieldError("type", f'field is immutable: may not change from "{old.type}"')
        yield from _immutable_data(secret, old, ("data",))


def _size_limit(size: int, path: str, what: str) -> Errors:
    if size > MAX_CONFIG_BYTES:
        yield FieldError(
            path, f"{what} is {size} bytes; it must be no more than {MAX_CONFIG_BYTES} (1 MiB)"
        )


def _immutable_data(new: Any, old: Any, fields: Iterable[str]) -> Errors:
    if not old.immutable:
        return
    if not new.immutable:
        yield FieldError("immutable", "may not be unset once set")
    for field in fields:
        if getattr(new, field) != getattr(old, field):
            json = new.DESCRIPTOR.fields_by_name[field].json_name
            yield FieldError(json, "field is immutable when `immutable` is set")


# ---------------------------------------------------------------------- HPA

_METRIC_SOURCES = {
    "Resource": "resource",
    "Pods": "pods",
    "Object": "object",
    "External": "external",
    "ContainerResource": "container_resource",
}
# Which target types each metric source takes (Kubernetes' rules).
_METRIC_TARGET_TYPES = {
    "Resource": ("Utilization", "AverageValue"),
    "ContainerResource": ("Utilization", "AverageValue"),
    "Pods": ("AverageValue",),
    "Object": ("Value", "AverageValue"),
    "External": ("Value", "AverageValue"),
}


def _hpa(
    hpa: autoscaling_pb2.HorizontalPodAutoscaler,
    old: autoscaling_pb2.HorizontalPodAutoscaler | None,
) -> Errors:
    spec = hpa.spec
    for field in ("kind", "name"):
        if not getattr(spec.scale_target_ref, field):
            yield FieldError(f"spec.scaleTargetRef.{field}", "required")
    yield from _at_least(spec.min_replicas, "spec.minReplicas", 1)
    yield from _at_least(spec.max_replicas, "spec.maxReplicas", 1)
    if spec.max_replicas < spec.min_replicas:
        yield FieldError(
            "spec.maxReplicas",
            f"must be greater than or equal to minReplicas ({spec.min_replicas}), "
            f"got {spec.max_replicas}",
        )
    for i, metric in enumerate(spec.metrics):
        yield from _metric(metric, f"spec.metrics[{i}]")
    if spec.HasField("behavior"):
        for field, json in (("scale_up", "scaleUp"), ("scale_down", "scaleDown")):
            yield from _scaling_rules(getattr(spec.behavior, field), f"spec.behavior.{json}")


def _metric(metric: autoscaling_pb2.MetricSpec, path: str) -> Errors:
    yield from _one_of(metric.type, f"{path}.type", tuple(_METRIC_SOURCES))
    filled = [name for name, field in _METRIC_SOURCES.items() if metric.HasField(field)]
    wanted = _METRIC_SOURCES.get(metric.type)
    if wanted is not None and not metric.HasField(wanted):
        json = metric.DESCRIPTOR.fields_by_name[wanted].json_name
        yield FieldError(f"{path}.{json}", f'required when type is "{metric.type}"')
    for other in filled:
        if other != metric.type:
            json = metric.DESCRIPTOR.fields_by_name[_METRIC_SOURCES[other]].json_name
            yield FieldError(f"{path}.{json}", f'must be empty when type is "{metric.type}"')
    if wanted is None or not metric.HasField(wanted):
        return
    source = getattr(metric, wanted)
    here = f"{path}.{metric.DESCRIPTOR.fields_by_name[wanted].json_name}"
    if metric.type in ("Resource", "ContainerResource"):
        yield from _required_name(
            source.name, f"{here}.name", "resource name", resource_name_problem
        )
        if metric.type == "ContainerResource":
            yield from _required_name(
                source.container, f"{here}.container", "container name", dns_label_problem
            )
    else:
        if not source.metric.name:
            yield FieldError(f"{here}.metric.name", "required")
        if source.metric.HasField("selector"):
            yield from _label_selector(source.metric.selector, f"{here}.metric.selector")
    if metric.type == "Object":
        for field in ("kind", "name"):
            if not getattr(source.described_object, field):
                yield FieldError(f"{here}.describedObject.{field}", "required")
    yield from _metric_target(source.target, f"{here}.target", _METRIC_TARGET_TYPES[metric.type])


def _metric_target(
    target: autoscaling_pb2.MetricTarget, path: str, allowed: Sequence[str]
) -> Errors:
    yield from _one_of(target.type, f"{path}.type", allowed)
    if target.type == "Utilization":
        if not target.HasField("average_utilization"):
            yield FieldError(f"{path}.averageUtilization", 'required when type is "Utilization"')
        else:
            yield from _at_least(target.average_utilization, f"{path}.averageUtilization", 1)
    elif target.HasField("average_utilization"):
        yield FieldError(
            f"{path}.averageUtilization", f'may not be set when type is "{target.type}"'
        )
    if target.type == "Value" and not target.value:
        yield FieldError(f"{path}.value", 'required when type is "Value"')
    if target.type == "AverageValue" and not target.average_value:
        yield FieldError(f"{path}.averageValue", 'required when type is "AverageValue"')
    if target.value:
        yield from _quantity(target.value, f"{path}.value", positive=True)
    if target.average_value:
        yield from _quantity(target.average_value, f"{path}.averageValue", positive=True)


def _scaling_rules(rules: autoscaling_pb2.HPAScalingRules, path: str) -> Errors:
    yield from _between(
        rules.stabilization_window_seconds, f"{path}.stabilizationWindowSeconds", 0, 3600
    )
    yield from _one_of(rules.select_policy, f"{path}.selectPolicy", ("Max", "Min", "Disabled"))
    if not rules.policies:
        yield FieldError(f"{path}.policies", "must have at least one policy")
    for i, policy in enumerate(rules.policies):
        here = f"{path}.policies[{i}]"
        yield from _one_of(policy.type, f"{here}.type", ("Pods", "Percent"))
        yield from _at_least(policy.value, f"{here}.value", 1)
        yield from _between(policy.period_seconds, f"{here}.periodSeconds", 1, 1800)


# ------------------------------------------------------------------ Ingress


def _ingress(ingress: networking_pb2.Ingress, old: networking_pb2.Ingress | None) -> Errors:
    spec = ingress.spec
    if not spec.rules and not spec.HasField("default_backend"):
        yield FieldError("spec", "either defaultBackend or rules must be specified")
    if spec.ingress_class_name:
        yield from _name(
            spec.ingress_class_name, "spec.ingressClassName", "name", dns_subdomain_problem
        )
    if spec.HasField("default_backend"):
        yield from _ingress_backend(spec.default_backend, "spec.defaultBackend")
    for i, tls in enumerate(spec.tls):
        for j, host in enumerate(tls.hosts):
            yield from _ingress_host(host, f"spec.tls[{i}].hosts[{j}]")
        if tls.secret_name:
            yield from _name(
                tls.secret_name, f"spec.tls[{i}].secretName", "name", dns_subdomain_problem
            )
    for i, rule in enumerate(spec.rules):
        here = f"spec.rules[{i}]"
        if rule.host:
            yield from _ingress_host(rule.host, f"{here}.host")
        if not rule.HasField("http"):
            continue
        if not rule.http.paths:
            yield FieldError(f"{here}.http.paths", "required: at least one path")
        for j, http_path in enumerate(rule.http.paths):
            yield from _ingress_path(http_path, f"{here}.http.paths[{j}]")


def _ingress_host(host: str, path: str) -> Errors:
    # A wildcard may stand for exactly the first label: *.example.com.
    name = host[2:] if host.startswith("*.") else host
    why = dns_subdomain_problem(name)
    if why is not None:
        yield FieldError(
            path, f'"{host}" is not a valid host: {why} (a leading "*." wildcard is allowed)'
        )


def _ingress_path(http_path: networking_pb2.HTTPIngressPath, path: str) -> Errors:
    if not http_path.path_type:
        yield FieldError(f"{path}.pathType", "required: Exact, Prefix or ImplementationSpecific")
    else:
        yield from _one_of(
            http_path.path_type, f"{path}.pathType", ("Exact", "Prefix", "ImplementationSpecific")
        )
    absolute = http_path.path.startswith("/")
    if http_path.path_type in ("Exact", "Prefix") and not absolute:
        yield FieldError(
            f"{path}.path",
            f'"{http_path.path}" must be an absolute path for pathType {http_path.path_type}',
        )
    elif http_path.path and not absolute:
        yield FieldError(f"{path}.path", f'"{http_path.path}" must be an absolute path')
    if not http_path.HasField("backend"):
        yield FieldError(f"{path}.backend", "required")
    else:
        yield from _ingress_backend(http_path.backend, f"{path}.backend")


def _ingress_backend(backend: networking_pb2.IngressBackend, path: str) -> Errors:
    if not backend.HasField("service"):
        yield FieldError(f"{path}.service", "required")
        return
    service = backend.service
    here = f"{path}.service"
    yield from _required_name(service.name, f"{here}.name", "service name", dns_1035_label_problem)
    port = service.port
    if port.name and port.number:
        yield FieldError(f"{here}.port", "must have exactly one of name or number, not both")
    elif port.name:
        yield from _name(port.name, f"{here}.port.name", "port name", port_name_problem)
    elif port.number:
        yield from _port_number(port.number, f"{here}.port.number")
    else:
        yield FieldError(f"{here}.port", "required: a port name or number")


# --------------------------------------------------------------- other kinds


def _node(node: core_pb2.Node, old: core_pb2.Node | None) -> Errors:
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(node.spec.taints):
        here = f"spec.taints[{i}]"
        if not taint.key:
            yield FieldError(f"{here}.key", "required")
        else:
            yield from _label_key(taint.key, f"{here}.key", "taint key")
        if taint.value:
            yield from _label_value(taint.value, f"{here}.value")
        if not taint.effect:
            yield FieldError(
                f"{here}.effect", "required: NoSchedule, PreferNoSchedule or NoExecute"
            )
        else:
            yield from _one_of(taint.effect, f"{here}.effect", _TAINT_EFFECTS)
        if (taint.key, taint.effect) in seen:
            yield FieldError(
                here, f'duplicate taint with key "{taint.key}" and effect "{taint.effect}"'
            )
        seen.add((taint.key, taint.effect))
    for section in ("capacity", "allocatable"):
        amounts: Mapping[str, str] = getattr(node.status, section)
        for name in sorted(amounts):
            yield from _quantity(amounts[name], f"status.{section}[{name}]")


def _event(event: core_pb2.Event, old: core_pb2.Event | None) -> Errors:
    for field in ("kind", "name"):
        if not getattr(event.involved_object, field):
            yield FieldError(f"involvedObject.{field}", "required")
    involved_namespace = event.involved_object.namespace
    if involved_namespace and involved_namespace != event.metadata.namespace:
        yield FieldError(
            "involvedObject.namespace",
            f'"{involved_namespace}" does not match the event\'s namespace '
            f'"{event.metadata.namespace}"',
        )
    yield from _one_of(event.type, "type", ("Normal", "Warning"))
    yield from _at_least(event.count, "count", 0)


def _lease(lease: coordination_pb2.Lease, old: coordination_pb2.Lease | None) -> Errors:
    spec = lease.spec
    minimum = 1 if spec.holder_identity else 0
    if spec.lease_duration_seconds < minimum:
        why = (
            "must be greater than 0 when holderIdentity is set" if minimum else "must be 0 or more"
        )
        yield FieldError("spec.leaseDurationSeconds", f"{why}, got {spec.lease_duration_seconds}")
    yield from _at_least(spec.lease_transitions, "spec.leaseTransitions", 0)


def _namespace(namespace: core_pb2.Namespace, old: core_pb2.Namespace | None) -> Errors:
    yield from _one_of(namespace.status.phase, "status.phase", ("Active", "Terminating"))


_BY_KIND: dict[str, Callable[[Any, Any], Errors]] = {
    "Namespace": _namespace,
    "Node": _node,
    "Pod": _pod,
    "Service": _service,
    "ConfigMap": _config_map,
    "Secret": _secret,
    "Event": _event,
    "ReplicaSet": _replica_set,
    "Deployment": _deployment,
    "HorizontalPodAutoscaler": _hpa,
    "Ingress": _ingress,
    "Lease": _lease,
}
