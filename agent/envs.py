"""A container's environment from its env and envFrom (pure: lookups are passed in).

As in Kubernetes: envFrom comes first, env overrides it; `$(NAME)` in a value,
command or argument expands to a variable defined before it (`$$` is a literal
`$`, an unknown `$(NAME)` stays as written); a missing ConfigMap, Secret or key
is an error unless marked optional.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from corral.api.v1 import core_pb2

# (namespace, name) -> the object's data, or None when it does not exist.
DataLookup = Callable[[str, str], Mapping[str, str] | None]


class EnvError(Exception):
    """An env reference that cannot be resolved (CreateContainerConfigError)."""


def _field(pod: core_pb2.Pod, path: str, pod_ip: str, host_ip: str) -> str:
    meta = pod.metadata
    simple = {
        "metadata.name": meta.name,
        "metadata.namespace": meta.namespace,
        "metadata.uid": meta.uid,
        "spec.nodeName": pod.spec.node_name,
        "status.podIP": pod_ip,
        "status.hostIP": host_ip,
    }
    if path in simple:
        return simple[path]
    for prefix, values in (("metadata.labels", meta.labels),
                           ("metadata.annotations", meta.annotations)):
        match = re.fullmatch(re.escape(prefix) + r"\['([^']*)'\]", path)
        if match:
            return values.get(match.group(1), "")
    raise EnvError(f"fieldRef {path!r} is not supported (use metadata.name, metadata.namespace, "
                   "metadata.uid, metadata.labels['K'], spec.nodeName, status.podIP or "
                   "status.hostIP)")


_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """`$(NAME)` replaced by env[NAME] when defined; `$$` becomes `$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)

    return _REFERENCE.sub(replace, text)


def resolve_env(
    pod: core_pb2.Pod,
    container: core_pb2.Container,
    *,
    config_maps: DataLookup,
    secrets: DataLookup,
    pod_ip: str = "",
    host_ip: str = "",
) -> dict[str, str]:
    """The container's environment, in definition order; raises EnvError naming the culprit."""
    namespace = pod.metadata.namespace
    where = f"container {container.name!r}"
    env: dict[str, str] = {}
    for source in container.env_from:
        if source.HasField("config_map_ref"):
            ref, kind, lookup = source.config_map_ref, "configmap", config_maps
        elif source.HasField("secret_ref"):
            ref, kind, lookup = source.secret_ref, "secret", secrets
        else:
            continue
        data = lookup(namespace, ref.name)
        if data is None:
            if ref.optional:
                continue
            raise EnvError(f'{where}: envFrom {kind} "{ref.name}" not found')
        for key, value in data.items():
            env[source.prefix + key] = value
    for var in container.env:
        if not var.HasField("value_from"):
            env[var.name] = expand(var.value, env)
            continue
        source_ = var.value_from
        if source_.HasField("field_ref"):
            env[var.name] = _field(pod, source_.field_ref.field_path, pod_ip, host_ip)
            continue
        if source_.HasField("config_map_key_ref"):
            key_ref, kind, lookup = source_.config_map_key_ref, "configmap", config_maps
        elif source_.HasField("secret_key_ref"):
            key_ref, kind, lookup = source_.secret_key_ref, "secret", secrets
        elif source_.HasField("resource_field_ref"):
            env[var.name] = _resource(container, source_.resource_field_ref)
            continue
        else:
            continue
        data = lookup(namespace, key_ref.name)
        if data is None or key_ref.key not in data:
            if key_ref.optional:
                continue
            missing = (f'{kind} "{key_ref.name}" not found' if data is None
                       else f'key "{key_ref.key}" not found in {kind} "{key_ref.name}"')
            raise EnvError(f"{where}: env {var.name}: {missing}")
        env[var.name] = data[key_ref.key]
    return env


def _resource(container: core_pb2.Container, ref: core_pb2.ResourceFieldSelector) -> str:
    from corral.api import quantity

    kind, _, resource = ref.resource.partition(".")
    values = container.resources.limits if kind == "limits" else container.resources.requests
    text = values.get(resource, "")
    if not text:
        return "0"
    divisor = quantity.parse(ref.divisor) if ref.divisor else None
    value = quantity.parse(text)
    if divisor:
        return str(-(-value // divisor))
    return str(int(value)) if resource != "cpu" else str(max(1, -(-value // 1)))


def expand_command(
    command: list[str], args: list[str], env: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    return [expand(part, env) for part in command], [expand(part, env) for part in args]
