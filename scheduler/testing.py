"""Builders of Node, Pod and Namespace objects for tests and the benchmark, written in
manifest terms, and runners of one plugin on a hand-made cache.

    make_node("n1", cpu="4", labels={"zone": "a"}, taints=[("dedicated", "gpu", "NoSchedule")])
    make_pod("web-1", cpu="500m", labels={"app": "web"},
             spec={"affinity": {...}})           # any extra spec fields, by manifest name
    cache = cache_of([make_node("n")], [make_pod("a", node_name="n")])
    run_filter("NodeResourcesFit", make_pod("b", cpu="1"), cache, "n")  # None or reason(s)
    run_score("LeastAllocated", make_pod("b"), cache)                   # {node: 0-100}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import json_format

from corral.api.v1 import core_pb2
from scheduler.cache import Cache
from scheduler.model import HOSTNAME_LABEL, ZONE_LABEL, PodInfo, pod_info
from scheduler.plugins import FILTERS, SCORES
from scheduler.plugins.interface import CycleState, Reasons


def make_node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    labels: Mapping[str, str] | None = None,
    taints: Iterable[tuple[str, str, str]] = (),
    ready: bool = True,
    unschedulable: bool = False,
    images: Mapping[str, int] | None = None,
    extra_resources: Mapping[str, str] | None = None,
) -> core_pb2.Node:
    resources = {"cpu": cpu, "memory": memory, "pods": pods, **(extra_resources or {})}
    manifest: dict[str, Any] = {
        "metadata": {"name": name, "labels": {HOSTNAME_LABEL: name, **(labels or {})}},
        "spec": {
            "unschedulable": unschedulable,
            "taints": [{"key": k, "value": v, "effect": e} for k, v, e in taints],
        },
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "images": [
                {"names": [image], "sizeBytes": str(size)} for image, size in (images or {}).items()
            ],
        },
    }
    return json_format.ParseDict(manifest, core_pb2.Node())


def make_pod(
    name: str,
    *,
    namespace: str = "default",
    cpu: str | None = None,
    memory: str | None = None,
    labels: Mapping[str, str] | None = None,
    priority: int = 0,
    node_name: str = "",
    image: str = "app:1",
    host_port: int = 0,
    owner_uid: str = "",
    uid: str = "",
    created: float = 0.0,
    spec: Mapping[str, Any] | None = None,
) -> core_pb2.Pod:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "main", "image": image,
                                 "resources": {"requests": requests}}
    if host_port:
        container["ports"] = [{"containerPort": host_port, "hostPort": host_port}]
    manifest: dict[str, Any] = {
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {}),
                     "uid": uid or f"uid-{namespace}-{name}"},
        "spec": {"containers": [container], "priority": priority, "nodeName": node_name,
                 "schedulerName": "default-scheduler", **(spec or {})},
    }
    if owner_uid:
        manifest["metadata"]["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "owner", "uid": owner_uid,
             "controller": True}
        ]
    pod = json_format.ParseDict(manifest, core_pb2.Pod())
    pod.metadata.creation_timestamp.FromNanoseconds(int(created * 1e9))
    return pod


def make_namespace(name: str, **labels: str) -> core_pb2.Namespace:
    namespace = core_pb2.Namespace()
    namespace.metadata.name = name
    namespace.metadata.labels.update(labels)
    return namespace


def zoned_nodes() -> list[core_pb2.Node]:
    """Three nodes in two zones: a1 and a2 in zone "a", b1 in zone "b"."""
    return [make_node("a1", labels={ZONE_LABEL: "a"}), make_node("a2", labels={ZONE_LABEL: "a"}),
            make_node("b1", labels={ZONE_LABEL: "b"})]


def cache_of(nodes: Iterable[core_pb2.Node], pods: Iterable[core_pb2.Pod] = ()) -> Cache:
    """A cache holding `nodes` and `pods` (pods with a nodeName count on that node)."""
    cache = Cache()
    for node in nodes:
        cache.set_node(node)
    for pod in pods:
        cache.add_pod(pod_info(pod))
    return cache


def run_filter(name: str, pod: core_pb2.Pod | PodInfo, cache: Cache, node: str) -> Reasons:
    """The filter's verdict on one node; None also when its pre-step says "nothing to check"."""
    info = pod if isinstance(pod, PodInfo) else pod_info(pod)
    plugin = FILTERS[name]
    state = CycleState()
    if plugin.prefilter is not None and not plugin.prefilter(state, info, cache):
        return None
    return plugin.filter(state, info, cache.nodes[node])


def run_score(
    name: str, pod: core_pb2.Pod, cache: Cache, nodes: list[str] | None = None
) -> dict[str, float]:
    """The score's normalized 0-100 scores per node, rounded to 2 places (all 0 when its
    pre-step skips); every node of the cache unless `nodes` names some."""
    plugin = SCORES[name]
    info = pod_info(pod)
    infos = [cache.nodes[n] for n in (nodes or [n.name for n in cache.node_list()])]
    state = CycleState()
    if plugin.prescore is not None and not plugin.prescore(state, info, cache, infos):
        return {node.name: 0.0 for node in infos}
    raw = [plugin.score(state, info, node) for node in infos]
    if plugin.normalize is not None:
        raw = plugin.normalize(raw)
    return {node.name: round(value, 2) for node, value in zip(infos, raw, strict=True)}
