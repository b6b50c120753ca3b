"""Defaults the API server fills in before it validates and stores an object.

`apply_defaults` mirrors Kubernetes' defaulting (the SetDefaults_* functions of
k8s.io/kubernetes/pkg/apis/*/v1) for the fields corral has, so a manifest means
the same thing here as on a Kubernetes cluster. It changes the message in
place: callers pass their own copy. Server-owned fields (uid, resourceVersion,
creationTimestamp, generation) are not touched: the server sets them.

Every default only fills an empty field, so applying defaults twice gives the
same object as applying them once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf.message import Message

from corral.api import kinds
from corral.api.meta import metadata
from corral.api.v1 import apps_pb2, autoscaling_pb2, core_pb2
from corral.api.vocabulary import NAMESPACE_ACTIVE, NORMAL

DEFAULT_NAMESPACE = "default"
# Kubernetes' name for its default scheduler. corral keeps it so that
# manifests written for Kubernetes (which often say schedulerName:
# default-scheduler) work unchanged; corral's scheduler claims pods with it.
DEFAULT_SCHEDULER_NAME = "default-scheduler"
DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"
DEFAULT_TERMINATION_MESSAGE_POLICY = "File"
# 0644: what Kubernetes gives configMap and secret volume files.
DEFAULT_VOLUME_FILE_MODE = 0o644
DEFAULT_MAX_SURGE = "25%"
DEFAULT_MAX_UNAVAILABLE = "25%"
DEFAULT_REVISION_HISTORY_LIMIT = 10
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600
# An HPA without metrics scales on CPU at 80% of requests, as in Kubernetes.
DEFAULT_HPA_CPU_UTILIZATION = 80
SCALE_UP_STABILIZATION_SECONDS = 0
SCALE_DOWN_STABILIZATION_SECONDS = 300


def apply_defaults(obj: Message) -> None:
    """Fills the defaults of `obj`, a message of any corral kind, in place."""
    kind = kinds.of_message(obj)
    meta = metadata(obj)
    if kind.namespaced and not meta.namespace:
        meta.namespace = DEFAULT_NAMESPACE
    default_kind = _BY_KIND.get(kind.name)
    if default_kind is not None:
        default_kind(obj)


# ---------------------------------------------------------------------- pods


def _default_pod(pod: core_pb2.Pod) -> None:
    default_pod_spec(pod.spec)
    # Kubernetes' priority admission sets the priority of pods (not of
    # templates) from their priority class; corral has no classes, so 0.
    if not pod.spec.HasField("priority"):
        pod.spec.priority = 0
    # A container that gives a limit but no request requests its limit, so
    # the scheduler reserves what the container may use. Kubernetes does this
    # for pods only; pods made from templates get it when they are created.
    for container in (*pod.spec.init_containers, *pod.spec.containers):
        requests = container.resources.requests
        for resource, limit in container.resources.limits.items():
            if resource not in requests:
                requests[resource] = limit


def default_pod_spec(spec: core_pb2.PodSpec) -> None:
    """The defaults of a pod spec, in a Pod or in a workload's template."""
    if not spec.restart_policy:
        spec.restart_policy = "Always"
    if not spec.HasField("termination_grace_period_seconds"):
        spec.termination_grace_period_seconds = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS
    if not spec.scheduler_name:
        spec.scheduler_name = DEFAULT_SCHEDULER_NAME
    for container in (*spec.init_containers, *spec.containers):
        _default_container(container, host_network=spec.host_network)
    for volume in spec.volumes:
        _default_volume(volume)


def _default_container(container: core_pb2.Container, *, host_network: bool) -> None:
    if not container.image_pull_policy:
        container.image_pull_policy = default_image_pull_policy(container.image)
    if not container.termination_message_path:
        container.termination_message_path = DEFAULT_TERMINATION_MESSAGE_PATH
    if not container.termination_message_policy:
        container.termination_message_policy = DEFAULT_TERMINATION_MESSAGE_POLICY
    for port in container.ports:
        if not port.protocol:
            port.protocol = "TCP"
        # On the host's network a container port is a host port.
        if host_network and not port.host_port:
            port.host_port = port.container_port
    for env in container.env:
        field_ref = env.value_from.field_ref
        if env.value_from.HasField("field_ref") and not field_ref.api_version:
            field_ref.api_version = "v1"
    for probe_field in ("liveness_probe", "readiness_probe", "startup_probe"):
        if container.HasField(probe_field):
            _default_probe(getattr(container, probe_field))


def default_image_pull_policy(image: str) -> str:
    """Always for an image tagged `latest` or not tagged at all, else IfNotPresent.

    An image pinned by digest only (name@sha256:...) has no tag and is
    IfNotPresent: the digest names exactly one image, as in Kubernetes.
    """
    name, _, digest = image.partition("@")
    last_slash = name.rfind("/")
    last_colon = name.rfind(":")
    tag = name[last_colon + 1 :] if last_colon > last_slash else ""
    if not tag:
        return "IfNotPresent" if digest else "Always"
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_probe(probe: core_pb2.Probe) -> None:
    if not probe.timeout_seconds:
        probe.timeout_seconds = 1
    if not probe.period_seconds:
        probe.period_seconds = 10
    if not probe.success_threshold:
        probe.success_threshold = 1
    if not probe.failure_threshold:
        probe.failure_threshold = 3
    if probe.HasField("http_get"):
        if not probe.http_get.path:
            probe.http_get.path = "/"
        if not probe.http_get.scheme:
            probe.http_get.scheme = "HTTP"


def _default_volume(volume: core_pb2.Volume) -> None:
    sources = ("empty_dir", "config_map", "secret", "host_path")
    # A volume that names no source is an emptyDir, as in Kubernetes.
    if not any(volume.HasField(source) for source in sources):
        volume.empty_dir.SetInParent()
    if volume.HasField("config_map") and not volume.config_map.HasField("default_mode"):
        volume.config_map.default_mode = DEFAULT_VOLUME_FILE_MODE
    if volume.HasField("secret") and not volume.secret.HasField("default_mode"):
        volume.secret.default_mode = DEFAULT_VOLUME_FILE_MODE


# ----------------------------------------------------------------- workloads


def _default_replica_set(replica_set: apps_pb2.ReplicaSet) -> None:
    spec = replica_set.spec
    if not spec.HasField("replicas"):
        spec.replicas = 1
    default_pod_spec(spec.template.spec)


def _default_deployment(deployment: apps_pb2.Deployment) -> None:
    spec = deployment.spec
    if not spec.HasField("replicas"):
        spec.replicas = 1
    strategy = spec.strategy
    if not strategy.type:
        strategy.type = "RollingUpdate"
    # Recreate gets no rollingUpdate: validation rejects one given with it.
    if strategy.type == "RollingUpdate":
        if not strategy.rolling_update.max_surge:
            strategy.rolling_update.max_surge = DEFAULT_MAX_SURGE
        if not strategy.rolling_update.max_unavailable:
            strategy.rolling_update.max_unavailable = DEFAULT_MAX_UNAVAILABLE
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = DEFAULT_REVISION_HISTORY_LIMIT
    if not spec.HasField("progress_deadline_seconds"):
        spec.progress_deadline_seconds = DEFAULT_PROGRESS_DEADLINE_SECONDS
    default_pod_spec(spec.template.spec)


# -------------------------------------------------------------- other kinds


# Kubernetes' default: a client sticks to its endpoint for three hours.
DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800


def _default_service(service: core_pb2.Service) -> None:
    spec = service.spec
    if not spec.type:
        spec.type = "ClusterIP"
    if not spec.session_affinity:
        spec.session_affinity = "None"
    if spec.session_affinity == "ClientIP":
        client_ip = spec.session_affinity_config.client_ip
        if not client_ip.HasField("timeout_seconds"):
            client_ip.timeout_seconds = DEFAULT_CLIENT_IP_AFFINITY_SECONDS
    if spec.type in ("NodePort", "LoadBalancer") and not spec.external_traffic_policy:
        spec.external_traffic_policy = "Cluster"
    for port in spec.ports:
        if not port.protocol:
            port.protocol = "TCP"
        if not port.target_port or port.target_port == "0":
            port.target_port = str(port.port)


def _default_secret(secret: core_pb2.Secret) -> None:
    if not secret.type:
        secret.type = "Opaque"
    # stringData is a write-only convenience: Kubernetes merges it into data
    # (stringData wins on a shared key) and never stores it.
    for key, value in secret.string_data.items():
        secret.data[key] = value.encode("utf-8")
    secret.ClearField("string_data")


def _default_node(node: core_pb2.Node) -> None:
    # A node that reports no allocatable offers all of its capacity.
    if not node.status.allocatable:
        node.status.allocatable.update(node.status.capacity)


def _default_namespace(namespace: core_pb2.Namespace) -> None:
    if not namespace.status.phase:
        namespace.status.phase = NAMESPACE_ACTIVE


def _default_event(event: core_pb2.Event) -> None:
    if not event.count:
        event.count = 1
    if not event.type:
        event.type = NORMAL


def _default_hpa(hpa: autoscaling_pb2.HorizontalPodAutoscaler) -> None:
    spec = hpa.spec
    if not spec.HasField("min_replicas"):
        spec.min_replicas = 1
    if not spec.metrics:
        metric = spec.metrics.add(type="Resource")
        metric.resource.name = "cpu"
        metric.resource.target.type = "Utilization"
        metric.resource.target.average_utilization = DEFAULT_HPA_CPU_UTILIZATION
    # Kubernetes (autoscaling/v2 SetDefaults_HorizontalPodAutoscalerBehavior)
    # fills behavior only when the user gave one: an omitted behavior stays
    # omitted and the autoscaler applies the same rules itself. Within a given
    # behavior, each missing direction, window, policy list and selectPolicy
    # is filled with the values below.
    if spec.HasField("behavior"):
        _default_scaling_rules(
            spec.behavior.scale_up,
            SCALE_UP_STABILIZATION_SECONDS,
            (("Pods", 4, 15), ("Percent", 100, 15)),
        )
        _default_scaling_rules(
            spec.behavior.scale_down,
            SCALE_DOWN_STABILIZATION_SECONDS,
            (("Percent", 100, 15),),
        )


def _default_scaling_rules(
    rules: autoscaling_pb2.HPAScalingRules,
    stabilization_window_seconds: int,
    policies: Iterable[tuple[str, int, int]],
) -> None:
    if not rules.HasField("stabilization_window_seconds"):
        rules.stabilization_window_seconds = stabilization_window_seconds
    if not rules.select_policy:
        rules.select_policy = "Max"
    if not rules.policies:
        for policy_type, value, period_seconds in policies:
            rules.policies.add(type=policy_type, value=value, period_seconds=period_seconds)


_BY_KIND: dict[str, Callable[[Any], None]] = {
    "Pod": _default_pod,
    "ReplicaSet": _default_replica_set,
    "Deployment": _default_deployment,
    "Service": _default_service,
    "Secret": _default_secret,
    "Node": _default_node,
    "Namespace": _default_namespace,
    "Event": _default_event,
    "HorizontalPodAutoscaler": _default_hpa,
}
