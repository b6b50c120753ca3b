"""The registry of corral's kinds: one row per kind, the single place that
knows a kind's message type, apiVersion, names and scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf import any_pb2
from google.protobuf.message import Message

from corral.api.v1 import (
    apps_pb2,
    autoscaling_pb2,
    coordination_pb2,
    core_pb2,
    discovery_pb2,
    metrics_pb2,
    networking_pb2,
)


@dataclass(frozen=True)
class Kind:
    name: str
    message: type[Message]
    api_version: str
    plural: str
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    # Other apiVersions accepted in manifests (converted on the way in).
    other_api_versions: tuple[str, ...] = field(default=())

    @property
    def full_name(self) -> str:
        """The protobuf full name, e.g. corral.v1.Pod."""
        return self.message.DESCRIPTOR.full_name

    @property
    def has_status(self) -> bool:
        return "status" in self.message.DESCRIPTOR.fields_by_name

    @property
    def has_spec(self) -> bool:
        return "spec" in self.message.DESCRIPTOR.fields_by_name

    @property
    def scalable(self) -> bool:
        return self.name in ("Deployment", "ReplicaSet")


KINDS: tuple[Kind, ...] = (
    Kind("Namespace", core_pb2.Namespace, "v1", "namespaces", ("ns",), namespaced=False),
    Kind("Node", core_pb2.Node, "v1", "nodes", ("no",), namespaced=False),
    Kind("Pod", core_pb2.Pod, "v1", "pods", ("po",)),
    Kind("Service", core_pb2.Service, "v1", "services", ("svc",)),
    Kind("ConfigMap", core_pb2.ConfigMap, "v1", "configmaps", ("cm",)),
    Kind("Secret", core_pb2.Secret, "v1", "secrets"),
    Kind("Event", core_pb2.Event, "v1", "events", ("ev",)),
    Kind("ReplicaSet", apps_pb2.ReplicaSet, "apps/v1", "replicasets", ("rs",)),
    Kind("Deployment", apps_pb2.Deployment, "apps/v1", "deployments", ("deploy",)),
    Kind(
        "HorizontalPodAutoscaler",
        autoscaling_pb2.HorizontalPodAutoscaler,
        "autoscaling/v2",
        "horizontalpodautoscalers",
        ("hpa",),
        other_api_versions=("autoscaling/v1",),
    ),
    Kind("Ingress", networking_pb2.Ingress, "networking.k8s.io/v1", "ingresses", ("ing",)),
    Kind("Lease", coordination_pb2.Lease, "coordination.k8s.io/v1", "leases"),
    Kind("EndpointSlice", discovery_pb2.EndpointSlice, "discovery.k8s.io/v1", "endpointslices"),
    # Usage samples written by agents. Kubernetes serves these from memory;
    # corral stores them like any object, so watches and `top` just work.
    Kind("PodMetrics", metrics_pb2.PodMetrics, "metrics.k8s.io/v1beta1", "podmetrics"),
    Kind(
        "NodeMetrics",
        metrics_pb2.NodeMetrics,
        "metrics.k8s.io/v1beta1",
        "nodemetrics",
        namespaced=False,
    ),
)

_BY_NAME = {k.name: k for k in KINDS}
_BY_FULL_NAME = {k.full_name: k for k in KINDS}
_BY_ALIAS = {alias: k for k in KINDS for alias in (k.name.lower(), k.plural, *k.short_names)}


class UnknownKind(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"kind {self.name} is not supported by corral; supported kinds: " + ", ".join(
            k.name for k in KINDS
        )


def by_name(name: str) -> Kind:
    """The kind called exactly `name` (as in a manifest's `kind:`)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownKind(name) from None


def lookup(alias: str) -> Kind:
    """The kind for a name a user types: Pod, pod, pods, po, deploy, ..."""
    kind = _BY_NAME.get(alias) or _BY_ALIAS.get(alias.lower())
    if kind is None:
        raise UnknownKind(alias)
    return kind


def of_message(message: Message) -> Kind:
    """The kind of a message instance."""
    return _BY_FULL_NAME[message.DESCRIPTOR.full_name]


def by_full_name(full_name: str) -> Kind:
    try:
        return _BY_FULL_NAME[full_name]
    except KeyError:
        raise UnknownKind(full_name) from None


def pack(message: Message) -> any_pb2.Any:
    """Wraps a kind message for the wire."""
    wrapped = any_pb2.Any()
    wrapped.Pack(message)
    return wrapped


def unpack(wrapped: any_pb2.Any) -> Message:
    """The kind message inside an Any; UnknownKind if it is not a corral kind."""
    full_name = wrapped.type_url.rpartition("/")[2]
    message = by_full_name(full_name).message()
    message.ParseFromString(wrapped.value)
    return message
