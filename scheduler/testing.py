"""Builders of Node and Pod objects for tests and the benchmark, written in manifest terms.

    make_node("n1", cpu="4", labels={"zone": "a"}, taints=[("dedicated", "gpu", "NoSchedule")])
    make_pod("web-1", cpu="500m", labels={"app": "web"},
             spec={"affinity": {...}})           # any extra spec fields, by manifest name
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import json_format

from corral.api.v1 import core_pb2
from scheduler.model import HOSTNAME_LABEL


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
