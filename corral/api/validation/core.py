"""The core group (v1): pods and their spec, Services, ConfigMaps and Secrets,
Nodes, Events and Namespaces."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from google.protobuf.message import Message

from corral.api import quantity
from corral.api.v1 import core_pb2
from corral.api.validation.common import (
    STANDARD_RESOURCES,
    Errors,
    FieldError,
    dns_label_problem,
    dns_subdomain_problem,
    port_name_problem,
    resource_name_problem,
    set_fields,
    validate_at_least,
    validate_between,
    validate_label_selector,
    validate_label_value,
    validate_labels,
    validate_name,
    validate_one_of,
    validate_port_number,
    validate_qualified_name,
    validate_quantity,
    validate_required_name,
    validate_requirement_values,
)

# --------------------------------------------------------------------- names

_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")


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


# ----------------------------------------------------------------- pod spec

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("TCP", "UDP", "SCTP")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_ENV_RESOURCES = tuple(f"{s}.{r}" for s in ("limits", "requests") for r in STANDARD_RESOURCES)
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
        yield from validate_required_name(
            volume.name, f"{here}.name", "volume name", dns_label_problem
        )
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

    yield from validate_one_of(spec.restart_policy, f"{path}.restartPolicy", _RESTART_POLICIES)
    if spec.termination_grace_period_seconds < 0:
        yield FieldError(
            f"{path}.terminationGracePeriodSeconds",
            f"must be 0 or more, got {spec.termination_grace_period_seconds}",
        )
    if spec.HasField("active_deadline_seconds"):
        yield from validate_at_least(
            spec.active_deadline_seconds, f"{path}.activeDeadlineSeconds", 1
        )
    if spec.node_name:
        yield from validate_name(
            spec.node_name, f"{path}.nodeName", "node name", dns_subdomain_problem
        )
    if spec.hostname:
        yield from validate_name(spec.hostname, f"{path}.hostname", "hostname", dns_label_problem)
    if spec.subdomain:
        yield from validate_name(
            spec.subdomain, f"{path}.subdomain", "subdomain", dns_label_problem
        )
    yield from validate_labels(spec.node_selector, f"{path}.nodeSelector")
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
    yield from validate_required_name(
        container.name, f"{path}.name", "container name", dns_label_problem
    )
    if not container.image:
        yield FieldError(f"{path}.image", "required")
    elif container.image != container.image.strip():
        yield FieldError(f"{path}.image", "must not have leading or trailing whitespace")
    yield from validate_one_of(
        container.image_pull_policy, f"{path}.imagePullPolicy", _PULL_POLICIES
    )
    yield from validate_one_of(
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
            yield from validate_port_number(port.container_port, f"{here}.containerPort")
        if port.host_port:
            yield from validate_port_number(port.host_port, f"{here}.hostPort")
        yield from validate_one_of(port.protocol, f"{here}.protocol", _PROTOCOLS)
        if port.name:
            yield from validate_name(port.name, f"{here}.name", "port name", port_name_problem)
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
    sources = set_fields(source, _ENV_SOURCES)
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
        yield from validate_one_of(
            ref.resource, f"{here}.resourceFieldRef.resource", _ENV_RESOURCES
        )
        if ref.divisor:
            yield from validate_quantity(
                ref.divisor, f"{here}.resourceFieldRef.divisor", positive=True
            )
    for field, json in (
        ("config_map_key_ref", "configMapKeyRef"),
        ("secret_key_ref", "secretKeyRef"),
    ):
        if source.HasField(field):
            ref = getattr(source, field)
            yield from validate_required_name(
                ref.name, f"{here}.{json}.name", "name", dns_subdomain_problem
            )
            yield from validate_required_name(
                ref.key, f"{here}.{json}.key", "key", config_key_problem
            )


def _field_ref(ref: core_pb2.ObjectFieldSelector, path: str) -> Errors:
    if ref.api_version != "v1":
        yield FieldError(
            f"{path}.apiVersion", f'unsupported value "{ref.api_version}": must be "v1"'
        )
    subscripted = _SUBSCRIPTED_FIELD_PATH.fullmatch(ref.field_path)
    if subscripted:
        what = "label key" if subscripted.group(1) == "labels" else "annotation key"
        yield from validate_qualified_name(subscripted.group(2), f"{path}.fieldPath", what)
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
    sources = set_fields(env_from, {"config_map_ref": "configMapRef", "secret_ref": "secretRef"})
    if len(sources) != 1:
        yield FieldError(
            path,
            "must have exactly one source of configMapRef or secretRef; "
            f"got {', '.join(sources) or 'none'}",
        )
    for field, json in (("config_map_ref", "configMapRef"), ("secret_ref", "secretRef")):
        if env_from.HasField(field):
            yield from validate_required_name(
                getattr(env_from, field).name, f"{path}.{json}.name", "name", dns_subdomain_problem
            )


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
            problems = list(validate_quantity(amounts[name], here))
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
    sources = set_fields(volume, _VOLUME_SOURCES)
    if not sources:
        yield FieldError(
            path, "must specify a volume source: " + ", ".join(_VOLUME_SOURCES.values())
        )
    elif len(sources) > 1:
        yield FieldError(
            path, f"may not specify more than one volume source; got {', '.join(sources)}"
        )
    if volume.HasField("empty_dir"):
        yield from validate_one_of(
            volume.empty_dir.medium, f"{path}.emptyDir.medium", ("", "Memory")
        )
        if volume.empty_dir.size_limit:
            yield from validate_quantity(volume.empty_dir.size_limit, f"{path}.emptyDir.sizeLimit")
    if volume.HasField("config_map"):
        source = volume.config_map
        here = f"{path}.configMap"
        yield from validate_required_name(
            source.name, f"{here}.name", "name", dns_subdomain_problem
        )
        yield from _key_to_paths(source.items, f"{here}.items")
        if source.HasField("default_mode"):
            yield from _file_mode(source.default_mode, f"{here}.defaultMode")
    if volume.HasField("secret"):
        secret = volume.secret
        here = f"{path}.secret"
        yield from validate_required_name(
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
        yield from validate_one_of(host_path.type, f"{path}.hostPath.type", _HOST_PATH_TYPES)


def _key_to_paths(items: Sequence[core_pb2.KeyToPath], path: str) -> Errors:
    for i, item in enumerate(items):
        here = f"{path}[{i}]"
        yield from validate_required_name(item.key, f"{here}.key", "key", config_key_problem)
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
    handlers = set_fields(probe, _PROBE_HANDLERS)
    if not handlers:
        yield FieldError(path, "must specify a handler: one of exec, httpGet, tcpSocket")
    elif len(handlers) > 1:
        yield FieldError(path, f"may not specify more than one handler; got {', '.join(handlers)}")
    if probe.HasField("exec") and not probe.exec.command:
        yield FieldError(f"{path}.exec.command", "required")
    if probe.HasField("http_get"):
        yield from _probe_port(probe.http_get.port, f"{path}.httpGet.port", port_names)
        yield from validate_one_of(
            probe.http_get.scheme, f"{path}.httpGet.scheme", ("HTTP", "HTTPS")
        )
    if probe.HasField("tcp_socket"):
        yield from _probe_port(probe.tcp_socket.port, f"{path}.tcpSocket.port", port_names)
    yield from validate_at_least(probe.initial_delay_seconds, f"{path}.initialDelaySeconds", 0)
    yield from validate_at_least(probe.timeout_seconds, f"{path}.timeoutSeconds", 0)
    yield from validate_at_least(probe.period_seconds, f"{path}.periodSeconds", 1)
    yield from validate_at_least(probe.success_threshold, f"{path}.successThreshold", 1)
    yield from validate_at_least(probe.failure_threshold, f"{path}.failureThreshold", 1)
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
            yield from validate_at_least(
                probe.termination_grace_period_seconds, f"{path}.terminationGracePeriodSeconds", 1
            )


def _probe_port(port: str, path: str, port_names: set[str]) -> Errors:
    if not port:
        yield FieldError(path, "required")
    elif port.isascii() and port.isdigit():
        yield from validate_port_number(int(port), path)
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
            yield from validate_between(weighted.weight, f"{weighted_path}.weight", 1, 100)
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
            yield from validate_between(weighted.weight, f"{weighted_path}.weight", 1, 100)
            yield from _pod_affinity_term(
                weighted.pod_affinity_term, f"{weighted_path}.podAffinityTerm"
            )


def _node_selector_term(term: core_pb2.NodeSelectorTerm, path: str) -> Errors:
    for i, requirement in enumerate(term.match_expressions):
        here = f"{path}.matchExpressions[{i}]"
        yield from validate_qualified_name(requirement.key, f"{here}.key")
        yield from validate_requirement_values(
            requirement.operator, requirement.values, here, node=True
        )
    # Kubernetes selects nodes by field only on metadata.name, with In/NotIn
    # and a single name.
    for i, requirement in enumerate(term.match_fields):
        here = f"{path}.matchFields[{i}]"
        if requirement.key != "metadata.name":
            yield FieldError(
                f"{here}.key", f'unsupported value "{requirement.key}": must be "metadata.name"'
            )
        yield from validate_one_of(requirement.operator, f"{here}.operator", ("In", "NotIn"))
        if len(requirement.values) != 1:
            yield FieldError(f"{here}.values", "must have exactly one value: a node name")


def _pod_affinity_term(term: core_pb2.PodAffinityTerm, path: str) -> Errors:
    if not term.topology_key:
        yield FieldError(f"{path}.topologyKey", "required")
    else:
        yield from validate_qualified_name(term.topology_key, f"{path}.topologyKey")
    if term.HasField("label_selector"):
        yield from validate_label_selector(term.label_selector, f"{path}.labelSelector")
    for i, namespace in enumerate(term.namespaces):
        yield from validate_name(
            namespace, f"{path}.namespaces[{i}]", "namespace", dns_label_problem
        )
    if term.HasField("namespace_selector"):
        yield from validate_label_selector(term.namespace_selector, f"{path}.namespaceSelector")


def _toleration(toleration: core_pb2.Toleration, path: str) -> Errors:
    if toleration.key:
        yield from validate_qualified_name(toleration.key, f"{path}.key", "toleration key")
    operator = toleration.operator or "Equal"
    yield from validate_one_of(operator, f"{path}.operator", ("Equal", "Exists"))
    if not toleration.key and operator != "Exists":
        yield FieldError(f"{path}.operator", 'must be "Exists" when key is empty')
    if operator == "Exists" and toleration.value:
        yield FieldError(f"{path}.value", 'must be empty when operator is "Exists"')
    elif toleration.value:
        yield from validate_label_value(toleration.value, f"{path}.value")
    yield from validate_one_of(toleration.effect, f"{path}.effect", ("", *_TAINT_EFFECTS))
    if toleration.HasField("toleration_seconds") and toleration.effect != "NoExecute":
        yield FieldError(f"{path}.tolerationSeconds", 'may only be set when effect is "NoExecute"')


def _topology_spread(constraints: Sequence[core_pb2.TopologySpreadConstraint], path: str) -> Errors:
    seen: set[tuple[str, str]] = set()
    for i, constraint in enumerate(constraints):
        here = f"{path}[{i}]"
        yield from validate_at_least(constraint.max_skew, f"{here}.maxSkew", 1)
        if not constraint.topology_key:
            yield FieldError(f"{here}.topologyKey", "required")
        else:
            yield from validate_qualified_name(constraint.topology_key, f"{here}.topologyKey")
        yield from validate_one_of(
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
            yield from validate_label_selector(constraint.label_selector, f"{here}.labelSelector")
        if constraint.HasField("min_domains"):
            yield from validate_at_least(constraint.min_domains, f"{here}.minDomains", 1)
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


def validate_pod(pod: core_pb2.Pod, old: core_pb2.Pod | None) -> Errors:
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


# ------------------------------------------------------------------ Service

_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
NODE_PORT_RANGE = (30000, 32767)


def validate_service(service: core_pb2.Service, old: core_pb2.Service | None) -> Errors:
    spec = service.spec
    yield from validate_one_of(spec.type, "spec.type", _SERVICE_TYPES)
    yield from validate_one_of(spec.session_affinity, "spec.sessionAffinity", ("None", "ClientIP"))
    if spec.HasField("session_affinity_config"):
        timeout = "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
        if spec.session_affinity != "ClientIP":
            yield FieldError("spec.sessionAffinityConfig",
                             'may only be set when sessionAffinity is "ClientIP"')
        elif spec.session_affinity_config.client_ip.HasField("timeout_seconds"):
            yield from validate_between(
                spec.session_affinity_config.client_ip.timeout_seconds, timeout, 1, 86400)
    if spec.type == "ExternalName":
        yield from validate_required_name(
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
            yield from validate_name(port.name, f"{here}.name", "port name", dns_label_problem)
            if port.name in port_names:
                yield FieldError(f"{here}.name", f'duplicate port name "{port.name}"')
            port_names.add(port.name)
        yield from validate_port_number(port.port, f"{here}.port")
        yield from validate_one_of(port.protocol, f"{here}.protocol", _PROTOCOLS)
        yield from _target_port(port.target_port, f"{here}.targetPort")
        if port.node_port:
            if spec.type not in ("NodePort", "LoadBalancer"):
                yield FieldError(f"{here}.nodePort", f'may not be set when type is "{spec.type}"')
            else:
                yield from validate_between(port.node_port, f"{here}.nodePort", *NODE_PORT_RANGE)
    yield from validate_labels(spec.selector, "spec.selector")
    if spec.external_traffic_policy:
        yield from validate_one_of(
            spec.external_traffic_policy, "spec.externalTrafficPolicy", ("Cluster", "Local")
        )
    # An update that leaves clusterIP empty keeps the allocated one (the
    # server copies it); only a different address is refused.
    if old is not None and old.spec.cluster_ip and spec.cluster_ip not in ("", old.spec.cluster_ip):
        yield FieldError("spec.clusterIP", "field is immutable")


def _target_port(value: str, path: str) -> Errors:
    if value.isascii() and value.isdigit():
        yield from validate_port_number(int(value), path)
    elif port_name_problem(value) is not None:
        yield FieldError(
            path,
            f'"{value}" is not a valid target port: must be a number between 1 and 65535 or '
            f"a container port name ({port_name_problem(value)})",
        )


# --------------------------------------------------------- ConfigMap/Secret

MAX_CONFIG_BYTES = 1024 * 1024


def validate_config_map(config_map: core_pb2.ConfigMap, old: core_pb2.ConfigMap | None) -> Errors:
    for key in sorted(config_map.data):
        yield from validate_name(key, f"data[{key}]", "key", config_key_problem)
    for key in sorted(config_map.binary_data):
        yield from validate_name(key, f"binaryData[{key}]", "key", config_key_problem)
        if key in config_map.data:
            yield FieldError(f"binaryData[{key}]", f'duplicate of key "{key}" in data')
    size = sum(len(v.encode()) for v in config_map.data.values()) + sum(
        len(v) for v in config_map.binary_data.values()
    )
    yield from _size_limit(size, "data", "data and binaryData")
    if old is not None:
        yield from _immutable_data(config_map, old, ("data", "binary_data"))


def validate_secret(secret: core_pb2.Secret, old: core_pb2.Secret | None) -> Errors:
    for key in sorted(secret.data):
        yield from validate_name(key, f"data[{key}]", "key", config_key_problem)
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


# ---------------------------------------------------- Node, Event, Namespace


def validate_node(node: core_pb2.Node, old: core_pb2.Node | None) -> Errors:
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(node.spec.taints):
        here = f"spec.taints[{i}]"
        if not taint.key:
            yield FieldError(f"{here}.key", "required")
        else:
            yield from validate_qualified_name(taint.key, f"{here}.key", "taint key")
        if taint.value:
            yield from validate_label_value(taint.value, f"{here}.value")
        if not taint.effect:
            yield FieldError(
                f"{here}.effect", "required: NoSchedule, PreferNoSchedule or NoExecute"
            )
        else:
            yield from validate_one_of(taint.effect, f"{here}.effect", _TAINT_EFFECTS)
        if (taint.key, taint.effect) in seen:
            yield FieldError(
                here, f'duplicate taint with key "{taint.key}" and effect "{taint.effect}"'
            )
        seen.add((taint.key, taint.effect))
    for section in ("capacity", "allocatable"):
        amounts: Mapping[str, str] = getattr(node.status, section)
        for name in sorted(amounts):
            yield from validate_quantity(amounts[name], f"status.{section}[{name}]")


def validate_event(event: core_pb2.Event, old: core_pb2.Event | None) -> Errors:
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
    yield from validate_one_of(event.type, "type", ("Normal", "Warning"))
    yield from validate_at_least(event.count, "count", 0)


def validate_namespace(namespace: core_pb2.Namespace, old: core_pb2.Namespace | None) -> Errors:
    yield from validate_one_of(namespace.status.phase, "status.phase", ("Active", "Terminating"))
