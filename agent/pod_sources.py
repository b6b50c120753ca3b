"""The ConfigMaps and Secrets pods read (env, envFrom, configMap and secret
volumes): which ones each pod uses, as indexes of the pod cache so a change
wakes exactly the pods that use it, and their contents, from the shared caches.
"""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf.message import Message

from corral.api.v1 import core_pb2
from corral.client import Informer, SharedInformers

CONFIGMAP_INDEX = "configmaps"
SECRET_INDEX = "secrets"


def _as_pod(obj: Message) -> core_pb2.Pod:
    if not isinstance(obj, core_pb2.Pod):
        raise TypeError(f"expected a Pod, got {type(obj).__name__}")
    return obj


def referenced_config_maps(obj: Message) -> list[str]:
    """`namespace/name` of every ConfigMap a pod uses (volumes, env, envFrom)."""
    pod = _as_pod(obj)
    names = {v.config_map.name for v in pod.spec.volumes if v.HasField("config_map")}
    for container in (*pod.spec.init_containers, *pod.spec.containers):
        names.update(s.config_map_ref.name for s in container.env_from
                     if s.HasField("config_map_ref"))
        names.update(e.value_from.config_map_key_ref.name for e in container.env
                     if e.value_from.HasField("config_map_key_ref"))
    return [f"{pod.metadata.namespace}/{name}" for name in sorted(names)]


def referenced_secrets(obj: Message) -> list[str]:
    """`namespace/name` of every Secret a pod uses (volumes, env, envFrom)."""
    pod = _as_pod(obj)
    names = {v.secret.secret_name for v in pod.spec.volumes if v.HasField("secret")}
    for container in (*pod.spec.init_containers, *pod.spec.containers):
        names.update(s.secret_ref.name for s in container.env_from if s.HasField("secret_ref"))
        names.update(e.value_from.secret_key_ref.name for e in container.env
                     if e.value_from.HasField("secret_key_ref"))
    return [f"{pod.metadata.namespace}/{name}" for name in sorted(names)]


class PodSources:
    """Lookups by (namespace, name) for agent/envs.py (text) and agent/volumes.py (bytes);
    None when the object does not exist."""

    def __init__(self, informers: SharedInformers) -> None:
        self.config_maps: Informer[core_pb2.ConfigMap] = informers.informer(core_pb2.ConfigMap)
        self.secrets: Informer[core_pb2.Secret] = informers.informer(core_pb2.Secret)

    def config_map_text(self, namespace: str, name: str) -> Mapping[str, str] | None:
        cm = self.config_maps.get_by_name(name, namespace)
        if cm is None:
            return None
        return {**{k: v.decode(errors="replace") for k, v in cm.binary_data.items()}, **cm.data}

    def secret_text(self, namespace: str, name: str) -> Mapping[str, str] | None:
        secret = self.secrets.get_by_name(name, namespace)
        if secret is None:
            return None
        return {k: v.decode(errors="replace") for k, v in secret.data.items()}

    def config_map_bytes(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        cm = self.config_maps.get_by_name(name, namespace)
        if cm is None:
            return None
        return {**dict(cm.binary_data), **{k: v.encode() for k, v in cm.data.items()}}

    def secret_bytes(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        secret = self.secrets.get_by_name(name, namespace)
        return None if secret is None else dict(secret.data)
