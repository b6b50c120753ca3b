"""What the validation tests share: a minimal valid manifest of every kind, mutations
that change one field of it, and the checks of what validation says about the result.

Objects are written as manifests (dicts with Kubernetes JSON names); each case
changes one field of a valid manifest and names the error path it expects and
a part of the message.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from corral.api import validation
from corral.api.v1 import (
    apps_pb2,
    autoscaling_pb2,
    coordination_pb2,
    core_pb2,
    discovery_pb2,
    networking_pb2,
)

Manifest = dict[str, Any]
Mutation = Callable[[Manifest], None]

POD_TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "corral/busybox:1"}]},
}

BASE: dict[str, tuple[type[Message], Manifest]] = {
    "Namespace": (core_pb2.Namespace, {"metadata": {"name": "team-a"}}),
    "Node": (
        core_pb2.Node,
        {"metadata": {"name": "node-1"}, "status": {"capacity": {"cpu": "2", "memory": "4Gi"}}},
    ),
    "Pod": (
        core_pb2.Pod,
        {
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "corral/busybox:1",
                        "ports": [{"name": "http", "containerPort": 80}],
                    }
                ]
            },
        },
    ),
    "Service": (
        core_pb2.Service,
        {
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
        },
    ),
    "ConfigMap": (core_pb2.ConfigMap, {"metadata": {"name": "settings"}, "data": {"mode": "fast"}}),
    "Secret": (core_pb2.Secret, {"metadata": {"name": "token"}, "stringData": {"token": "s3cret"}}),
    "Event": (
        core_pb2.Event,
        {
            "metadata": {"name": "web.17a"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
            "reason": "Scheduled",
        },
    ),
    "ReplicaSet": (
        apps_pb2.ReplicaSet,
        {
            "metadata": {"name": "web-5d8f"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": POD_TEMPLATE},
        },
    ),
    "Deployment": (
        apps_pb2.Deployment,
        {
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": POD_TEMPLATE},
        },
    ),
    "HorizontalPodAutoscaler": (
        autoscaling_pb2.HorizontalPodAutoscaler,
        {
            "metadata": {"name": "web"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "maxReplicas": 5,
            },
        },
    ),
    "Ingress": (
        networking_pb2.Ingress,
        {
            "metadata": {"name": "web"},
            "spec": {
                "rules": [
                    {
                        "host": "web.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
    ),
    "Lease": (
        coordination_pb2.Lease,
        {
            "metadata": {"name": "scheduler"},
            "spec": {"holderIdentity": "s-1", "leaseDurationSeconds": 15},
        },
    ),
    "EndpointSlice": (
        discovery_pb2.EndpointSlice,
        {
            "metadata": {"name": "web-abc12", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["172.18.0.5"], "conditions": {"ready": True}}],
            "ports": [{"name": "http", "protocol": "TCP", "port": 8080}],
        },
    ),
}


# ------------------------------------------------------- manifest mutations

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _STEP.findall(path)]


def _parent(manifest: Manifest, path: str) -> tuple[Any, str | int]:
    *parents, last = _steps(path)
    target: Any = manifest
    for step in parents:
        target = target[step] if isinstance(step, int) else target.setdefault(step, {})
    return target, last


def set_(path: str, value: Any) -> Mutation:
    """Sets the field at `path` (same syntax as error paths), creating objects on the way."""

    def mutate(manifest: Manifest) -> None:
        parent, last = _parent(manifest, path)
        parent[last] = copy.deepcopy(value)

    return mutate


def append(path: str, item: Any) -> Mutation:
    def mutate(manifest: Manifest) -> None:
        parent, last = _parent(manifest, path)
        if isinstance(last, str):
            parent.setdefault(last, [])
        parent[last].append(copy.deepcopy(item))

    return mutate


def delete(path: str) -> Mutation:
    def mutate(manifest: Manifest) -> None:
        parent, last = _parent(manifest, path)
        del parent[last]

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(manifest: Manifest) -> None:
        for mutation in mutations:
            mutation(manifest)

    return mutate


def build(kind: str, mutation: Mutation | None = None) -> Message:
    message_type, manifest = BASE[kind]
    manifest = copy.deepcopy(manifest)
    if mutation is not None:
        mutation(manifest)
    return json_format.ParseDict(manifest, message_type())


def case(name: str, kind: str, mutation: Mutation, path: str, message: str) -> Any:
    return pytest.param(kind, mutation, path, message, id=name)


def assert_has_error(errors: list[validation.FieldError], path: str, message: str) -> None:
    matching = [e for e in errors if e.path == path and message in e.message]
    assert matching, f"no error at {path} containing {message!r}; got {[str(e) for e in errors]}"


# Paths of the first container of the Pod, and of a workload's pod template spec.
C = "spec.containers[0]"
T = "spec.template.spec"


def keep(manifest: Manifest) -> None:
    """No change."""


def validate_update(
    kind: str, old_mutation: Mutation | None, new_mutation: Mutation
) -> list[validation.FieldError]:
    """Validation of an Update: the stored object has `old_mutation`, the new one
    has that and `new_mutation`."""
    old = build(kind, old_mutation)
    new = build(kind, both(old_mutation or keep, new_mutation))
    return validation.validate(new, old)
