"""Validation, kind by kind: a minimal valid object passes, then one case per rule.

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
from corral.api.errors import Invalid
from corral.api.v1 import (
    apps_pb2,
    autoscaling_pb2,
    coordination_pb2,
    core_pb2,
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


# ---------------------------------------------------------------- valid objects


@pytest.mark.parametrize("kind", BASE)
def test_minimal_object_of_each_kind_is_valid(kind):
    assert validation.validate(build(kind)) == []


C = "spec.containers[0]"
T = "spec.template.spec"

RICH_POD = both(
    set_("metadata.annotations", {"example.com/owner": "team-a", "note": "x" * 1000}),
    set_(
        "metadata.ownerReferences",
        [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-1",
                "uid": "u1",
                "controller": True,
            }
        ],
    ),
    set_("metadata.finalizers", ["example.com/cleanup"]),
    set_(
        "spec.volumes",
        [
            {
                "name": "config",
                "configMap": {"name": "settings", "items": [{"key": "mode", "path": "conf/mode"}]},
            },
            {"name": "token", "secret": {"secretName": "token", "defaultMode": 0o400}},
            {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
            {"name": "logs", "hostPath": {"path": "/var/log", "type": "Directory"}},
        ],
    ),
    set_(
        f"{C}.volumeMounts",
        [
            {"name": "config", "mountPath": "/etc/web"},
            {"name": "scratch", "mountPath": "/tmp", "subPath": "web"},
        ],
    ),
    set_(
        f"{C}.env",
        [
            {"name": "MODE", "value": "fast"},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {
                "name": "CPU",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}},
            },
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "token", "key": "token"}}},
            {
                "name": "my.odd-Name_1",
                "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}},
            },
        ],
    ),
    set_(f"{C}.envFrom", [{"prefix": "CFG_", "configMapRef": {"name": "settings"}}]),
    set_(
        f"{C}.resources",
        {
            "requests": {"cpu": "250m", "memory": "64Mi"},
            "limits": {"cpu": "1", "memory": "64Mi", "example.com/gpu": "1"},
        },
    ),
    set_(
        f"{C}.livenessProbe",
        {"httpGet": {"port": "http", "path": "/healthz"}, "failureThreshold": 5},
    ),
    set_(f"{C}.readinessProbe", {"tcpSocket": {"port": "80"}, "successThreshold": 2}),
    set_(f"{C}.startupProbe", {"exec": {"command": ["true"]}, "terminationGracePeriodSeconds": 5}),
    append(
        f"{C}.ports",
        {"name": "metrics", "containerPort": 9090, "hostPort": 9090, "protocol": "TCP"},
    ),
    set_(
        "spec.initContainers", [{"name": "init", "image": "corral/busybox:1", "command": ["true"]}]
    ),
    set_("spec.nodeSelector", {"kubernetes.io/os": "linux"}),
    set_(
        "spec.affinity",
        {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "zone", "operator": "In", "values": ["a", "b"]},
                                {"key": "cores", "operator": "Gt", "values": ["2"]},
                                {"key": "spot", "operator": "DoesNotExist"},
                            ],
                            "matchFields": [
                                {"key": "metadata.name", "operator": "NotIn", "values": ["node-9"]}
                            ],
                        }
                    ]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "preference": {"matchExpressions": [{"key": "ssd", "operator": "Exists"}]},
                    }
                ],
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 1,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {
                                "matchExpressions": [
                                    {"key": "app", "operator": "In", "values": ["web"]}
                                ]
                            },
                            "namespaces": ["default"],
                        },
                    }
                ]
            },
        },
    ),
    set_(
        "spec.tolerations",
        [
            {"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
            {"operator": "Exists"},
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 30,
            },
        ],
    ),
    set_(
        "spec.topologySpreadConstraints",
        [
            {
                "maxSkew": 1,
                "topologyKey": "zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "minDomains": 2,
                "labelSelector": {"matchLabels": {"app": "web"}},
            },
            {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"},
        ],
    ),
    set_("spec.activeDeadlineSeconds", 600),
    set_("spec.terminationGracePeriodSeconds", 0),
)


@pytest.mark.parametrize(
    ("kind", "mutation"),
    [
        pytest.param("Pod", RICH_POD, id="pod using most fields"),
        pytest.param(
            "Pod",
            both(delete("metadata.name"), set_("metadata.generateName", "web-")),
            id="generateName",
        ),
        pytest.param("Service", set_("metadata.name", "w" * 63), id="63-character service name"),
        pytest.param("ConfigMap", set_("metadata.name", "a." * 126 + "a"), id="253-character name"),
        pytest.param(
            "Service",
            set_("spec", {"type": "ExternalName", "externalName": "db.example.com"}),
            id="external name service",
        ),
        pytest.param(
            "Service",
            set_("spec", {"clusterIP": "None", "selector": {"app": "db"}}),
            id="headless service",
        ),
        pytest.param(
            "Service",
            set_(
                "spec",
                {
                    "type": "NodePort",
                    "ports": [
                        {"name": "a", "port": 80, "nodePort": 30080},
                        {"name": "b", "port": 81, "targetPort": "8081"},
                    ],
                },
            ),
            id="node port service",
        ),
        pytest.param(
            "Deployment",
            set_("spec.strategy.rollingUpdate", {"maxSurge": "200%", "maxUnavailable": "0"}),
            id="surge above 100%",
        ),
        pytest.param("Deployment", set_("spec.strategy", {"type": "Recreate"}), id="recreate"),
        pytest.param("Deployment", set_("spec.replicas", 0), id="zero replicas"),
        pytest.param(
            "Deployment",
            set_(
                "spec.selector",
                {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]},
            ),
            id="selector with expressions",
        ),
        pytest.param(
            "HorizontalPodAutoscaler",
            set_(
                "spec.metrics",
                [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "memory",
                            "target": {"type": "AverageValue", "averageValue": "100Mi"},
                        },
                    },
                    {
                        "type": "Pods",
                        "pods": {
                            "metric": {"name": "qps"},
                            "target": {"type": "AverageValue", "averageValue": "10"},
                        },
                    },
                    {
                        "type": "Object",
                        "object": {
                            "describedObject": {"kind": "Ingress", "name": "web"},
                            "metric": {"name": "hits"},
                            "target": {"type": "Value", "value": "1k"},
                        },
                    },
                    {
                        "type": "External",
                        "external": {
                            "metric": {"name": "queue"},
                            "target": {"type": "Value", "value": "30"},
                        },
                    },
                    {
                        "type": "ContainerResource",
                        "containerResource": {
                            "name": "cpu",
                            "container": "web",
                            "target": {"type": "Utilization", "averageUtilization": 60},
                        },
                    },
                ],
            ),
            id="every metric type",
        ),
        pytest.param(
            "HorizontalPodAutoscaler",
            set_(
                "spec.behavior",
                {
                    "scaleDown": {"selectPolicy": "Disabled"},
                    "scaleUp": {
                        "stabilizationWindowSeconds": 3600,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 1800}],
                    },
                },
            ),
            id="behavior",
        ),
        pytest.param("Ingress", set_("spec.rules[0].host", "*.example.com"), id="wildcard host"),
        pytest.param(
            "Ingress",
            set_(
                "spec", {"defaultBackend": {"service": {"name": "web", "port": {"name": "http"}}}}
            ),
            id="default backend only",
        ),
        pytest.param(
            "Secret",
            both(
                set_("stringData", {"tls.crt": "c", "tls.key": "k"}),
                set_("type", "kubernetes.io/tls"),
            ),
            id="tls secret",
        ),
        pytest.param("Lease", set_("spec", {}), id="released lease"),
        pytest.param(
            "Node",
            set_(
                "spec.taints",
                [
                    {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                    {"key": "dedicated", "effect": "NoExecute"},
                ],
            ),
            id="tainted node",
        ),
    ],
)
def test_valid_variants_pass(kind, mutation):
    assert [str(e) for e in validation.validate(build(kind, mutation))] == []


# --------------------------------------------------------------- bad objects

INVALID = [
    # metadata
    case(
        "name invalid",
        "Pod",
        set_("metadata.name", "Web_1"),
        "metadata.name",
        '"Web_1" is not a valid name',
    ),
    case("name missing", "Pod", delete("metadata.name"), "metadata.name", "required"),
    case(
        "name too long",
        "ConfigMap",
        set_("metadata.name", "a" * 254),
        "metadata.name",
        "no more than 253 characters",
    ),
    case(
        "generateName invalid",
        "Pod",
        both(delete("metadata.name"), set_("metadata.generateName", "Web-")),
        "metadata.generateName",
        "not a valid name prefix",
    ),
    case(
        "namespace name with a dot",
        "Namespace",
        set_("metadata.name", "team.a"),
        "metadata.name",
        "alphanumeric characters or '-'",
    ),
    case(
        "service name starts with a digit",
        "Service",
        set_("metadata.name", "1web"),
        "metadata.name",
        "must start with an alphabetic character",
    ),
    case(
        "service name too long",
        "Service",
        set_("metadata.name", "w" * 64),
        "metadata.name",
        "no more than 63",
    ),
    case(
        "namespace invalid",
        "Pod",
        set_("metadata.namespace", "Team"),
        "metadata.namespace",
        '"Team" is not a valid namespace',
    ),
    case(
        "namespace on a cluster-scoped kind",
        "Node",
        set_("metadata.namespace", "default"),
        "metadata.namespace",
        "Node is not a namespaced kind",
    ),
    case(
        "label key invalid",
        "Pod",
        set_("metadata.labels", {"bad key": "x"}),
        "metadata.labels",
        "not a valid label key",
    ),
    case(
        "label value invalid",
        "Pod",
        set_("metadata.labels", {"app": "-web"}),
        "metadata.labels",
        "not a valid label value",
    ),
    case(
        "annotation key invalid",
        "Pod",
        set_("metadata.annotations", {"a/b/c": "x"}),
        "metadata.annotations",
        '"a/b/c" is not a valid annotation key',
    ),
    case(
        "annotations too large",
        "Pod",
        set_("metadata.annotations", {"big": "x" * 262_142}),
        "metadata.annotations",
        "total size 262145 bytes",
    ),
    case(
        "owner reference without uid",
        "Pod",
        set_(
            "metadata.ownerReferences",
            [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web"}],
        ),
        "metadata.ownerReferences[0].uid",
        "required",
    ),
    case(
        "owner reference without kind",
        "Pod",
        set_("metadata.ownerReferences", [{"apiVersion": "v1", "name": "a", "uid": "u"}]),
        "metadata.ownerReferences[0].kind",
        "required",
    ),
    case(
        "two controller owners",
        "Pod",
        set_(
            "metadata.ownerReferences",
            [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "a",
                    "uid": "1",
                    "controller": True,
                },
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "b",
                    "uid": "2",
                    "controller": True,
                },
            ],
        ),
        "metadata.ownerReferences",
        "only one reference may have controller set to true; "
        "found it in ReplicaSet/a, ReplicaSet/b",
    ),
    case(
        "finalizer invalid",
        "Pod",
        set_("metadata.finalizers", ["no spaces"]),
        "metadata.finalizers[0]",
        "not a valid finalizer name",
    ),
    # pod: containers
    case(
        "no containers",
        "Pod",
        set_("spec.containers", []),
        "spec.containers",
        "at least one container",
    ),
    case(
        "container name invalid",
        "Pod",
        set_(f"{C}.name", "Web"),
        f"{C}.name",
        '"Web" is not a valid container name',
    ),
    case("container name missing", "Pod", delete(f"{C}.name"), f"{C}.name", "required"),
    case(
        "container name duplicated by an init container",
        "Pod",
        set_("spec.initContainers", [{"name": "web", "image": "x"}]),
        f"{C}.name",
        'duplicate container name "web"',
    ),
    case("image missing", "Pod", delete(f"{C}.image"), f"{C}.image", "required"),
    case(
        "image with whitespace", "Pod", set_(f"{C}.image", " busybox"), f"{C}.image", "whitespace"
    ),
    case(
        "pull policy invalid",
        "Pod",
        set_(f"{C}.imagePullPolicy", "Sometimes"),
        f"{C}.imagePullPolicy",
        'unsupported value "Sometimes"',
    ),
    case(
        "termination message policy invalid",
        "Pod",
        set_(f"{C}.terminationMessagePolicy", "Log"),
        f"{C}.terminationMessagePolicy",
        "unsupported value",
    ),
    # pod: ports
    case(
        "container port missing",
        "Pod",
        delete(f"{C}.ports[0].containerPort"),
        f"{C}.ports[0].containerPort",
        "required",
    ),
    case(
        "container port too big",
        "Pod",
        set_(f"{C}.ports[0].containerPort", 70000),
        f"{C}.ports[0].containerPort",
        "between 1 and 65535, got 70000",
    ),
    case(
        "host port negative",
        "Pod",
        set_(f"{C}.ports[0].hostPort", -1),
        f"{C}.ports[0].hostPort",
        "between 1 and 65535",
    ),
    case(
        "protocol invalid",
        "Pod",
        set_(f"{C}.ports[0].protocol", "HTTP"),
        f"{C}.ports[0].protocol",
        '"TCP", "UDP", "SCTP"',
    ),
    case(
        "port name with uppercase",
        "Pod",
        set_(f"{C}.ports[0].name", "Http"),
        f"{C}.ports[0].name",
        "not a valid port name",
    ),
    case(
        "port name too long",
        "Pod",
        set_(f"{C}.ports[0].name", "a" * 16),
        f"{C}.ports[0].name",
        "no more than 15 characters",
    ),
    case(
        "port name without a letter",
        "Pod",
        set_(f"{C}.ports[0].name", "8080"),
        f"{C}.ports[0].name",
        "at least one letter",
    ),
    case(
        "port name with double hyphen",
        "Pod",
        set_(f"{C}.ports[0].name", "a--b"),
        f"{C}.ports[0].name",
        "consecutive hyphens",
    ),
    case(
        "port name duplicated",
        "Pod",
        append(f"{C}.ports", {"name": "http", "containerPort": 81}),
        f"{C}.ports[1].name",
        'duplicate port name "http"',
    ),
    case(
        "host port used twice",
        "Pod",
        both(
            set_(f"{C}.ports[0].hostPort", 8080),
            append(
                "spec.containers",
                {"name": "b", "image": "x", "ports": [{"containerPort": 81, "hostPort": 8080}]},
            ),
        ),
        "spec.containers[1].ports[0].hostPort",
        "host port 8080/TCP is already used by spec.containers[0].ports[0]",
    ),
    # pod: env
    case(
        "env name missing",
        "Pod",
        set_(f"{C}.env", [{"value": "x"}]),
        f"{C}.env[0].name",
        "required",
    ),
    case(
        "env name with =",
        "Pod",
        set_(f"{C}.env", [{"name": "A=B"}]),
        f"{C}.env[0].name",
        "other than '='",
    ),
    case(
        "env value and valueFrom",
        "Pod",
        set_(
            f"{C}.env",
            [
                {
                    "name": "A",
                    "value": "x",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                }
            ],
        ),
        f"{C}.env[0].valueFrom",
        "may not be set when value is not empty",
    ),
    case(
        "env two sources",
        "Pod",
        set_(
            f"{C}.env",
            [
                {
                    "name": "A",
                    "valueFrom": {
                        "fieldRef": {"fieldPath": "metadata.name"},
                        "secretKeyRef": {"name": "s", "key": "k"},
                    },
                }
            ],
        ),
        f"{C}.env[0].valueFrom",
        "exactly one source",
    ),
    case(
        "env no source",
        "Pod",
        set_(f"{C}.env", [{"name": "A", "valueFrom": {}}]),
        f"{C}.env[0].valueFrom",
        "got none",
    ),
    case(
        "env field path unsupported",
        "Pod",
        set_(
            f"{C}.env", [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.containers"}}}]
        ),
        f"{C}.env[0].valueFrom.fieldRef.fieldPath",
        'unsupported value "spec.containers"',
    ),
    case(
        "env field path bad label key",
        "Pod",
        set_(
            f"{C}.env",
            [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['a b']"}}}],
        ),
        f"{C}.env[0].valueFrom.fieldRef.fieldPath",
        "not a valid label key",
    ),
    case(
        "env field ref api version",
        "Pod",
        set_(
            f"{C}.env",
            [
                {
                    "name": "A",
                    "valueFrom": {"fieldRef": {"apiVersion": "v2", "fieldPath": "metadata.name"}},
                }
            ],
        ),
        f"{C}.env[0].valueFrom.fieldRef.apiVersion",
        'must be "v1"',
    ),
    case(
        "env resource unsupported",
        "Pod",
        set_(
            f"{C}.env",
            [{"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}}],
        ),
        f"{C}.env[0].valueFrom.resourceFieldRef.resource",
        'unsupported value "limits.gpu"',
    ),
    case(
        "env resource divisor zero",
        "Pod",
        set_(
            f"{C}.env",
            [
                {
                    "name": "A",
                    "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "0"}},
                }
            ],
        ),
        f"{C}.env[0].valueFrom.resourceFieldRef.divisor",
        "greater than 0",
    ),
    case(
        "env configmap key missing",
        "Pod",
        set_(f"{C}.env", [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "settings"}}}]),
        f"{C}.env[0].valueFrom.configMapKeyRef.key",
        "required",
    ),
    case(
        "env secret name invalid",
        "Pod",
        set_(
            f"{C}.env",
            [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "Bad_Name", "key": "k"}}}],
        ),
        f"{C}.env[0].valueFrom.secretKeyRef.name",
        "not a valid name",
    ),
    case(
        "envFrom two sources",
        "Pod",
        set_(f"{C}.envFrom", [{"configMapRef": {"name": "a"}, "secretRef": {"name": "b"}}]),
        f"{C}.envFrom[0]",
        "exactly one source",
    ),
    case(
        "envFrom name missing",
        "Pod",
        set_(f"{C}.envFrom", [{"secretRef": {}}]),
        f"{C}.envFrom[0].secretRef.name",
        "required",
    ),
    # pod: resources
    case(
        "quantity invalid",
        "Pod",
        set_(f"{C}.resources.limits", {"cpu": "lots"}),
        f"{C}.resources.limits[cpu]",
        '"lots" is not a quantity',
    ),
    case(
        "quantity negative",
        "Pod",
        set_(f"{C}.resources.requests", {"memory": "-1Mi"}),
        f"{C}.resources.requests[memory]",
        "must be 0 or more",
    ),
    case(
        "request above limit",
        "Pod",
        set_(f"{C}.resources", {"requests": {"cpu": "2"}, "limits": {"cpu": "500m"}}),
        f"{C}.resources.requests[cpu]",
        '"2" must be less than or equal to the cpu limit "500m"',
    ),
    case(
        "unknown resource",
        "Pod",
        set_(f"{C}.resources.limits", {"gpu": "1"}),
        f"{C}.resources.limits[gpu]",
        'unknown resource "gpu"',
    ),
    # pod: volumes and mounts
    case(
        "mount of a missing volume",
        "Pod",
        set_(f"{C}.volumeMounts", [{"name": "data", "mountPath": "/data"}]),
        f"{C}.volumeMounts[0].name",
        'no volume named "data"',
    ),
    case(
        "mount path relative",
        "Pod",
        both(
            set_("spec.volumes", [{"name": "data", "emptyDir": {}}]),
            set_(f"{C}.volumeMounts", [{"name": "data", "mountPath": "data"}]),
        ),
        f"{C}.volumeMounts[0].mountPath",
        "must be an absolute path",
    ),
    case(
        "mount path repeated",
        "Pod",
        both(
            set_("spec.volumes", [{"name": "data", "emptyDir": {}}]),
            set_(
                f"{C}.volumeMounts",
                [{"name": "data", "mountPath": "/d"}, {"name": "data", "mountPath": "/d"}],
            ),
        ),
        f"{C}.volumeMounts[1].mountPath",
        "already mounted",
    ),
    case(
        "sub path escapes",
        "Pod",
        both(
            set_("spec.volumes", [{"name": "data", "emptyDir": {}}]),
            set_(f"{C}.volumeMounts", [{"name": "data", "mountPath": "/d", "subPath": "../etc"}]),
        ),
        f"{C}.volumeMounts[0].subPath",
        "must not contain '..'",
    ),
    case(
        "volume name duplicated",
        "Pod",
        set_("spec.volumes", [{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}]),
        "spec.volumes[1].name",
        'duplicate volume name "a"',
    ),
    case(
        "volume name invalid",
        "Pod",
        set_("spec.volumes", [{"name": "Data", "emptyDir": {}}]),
        "spec.volumes[0].name",
        "not a valid volume name",
    ),
    case(
        "volume with two sources",
        "Pod",
        set_("spec.volumes", [{"name": "a", "emptyDir": {}, "hostPath": {"path": "/x"}}]),
        "spec.volumes[0]",
        "more than one volume source; got emptyDir, hostPath",
    ),
    case(
        "configMap volume without name",
        "Pod",
        set_("spec.volumes", [{"name": "a", "configMap": {}}]),
        "spec.volumes[0].configMap.name",
        "required",
    ),
    case(
        "secret volume mode too big",
        "Pod",
        set_("spec.volumes", [{"name": "a", "secret": {"secretName": "s", "defaultMode": 0o1000}}]),
        "spec.volumes[0].secret.defaultMode",
        "between 0 and 0777",
    ),
    case(
        "volume item path absolute",
        "Pod",
        set_(
            "spec.volumes",
            [{"name": "a", "configMap": {"name": "c", "items": [{"key": "k", "path": "/etc/k"}]}}],
        ),
        "spec.volumes[0].configMap.items[0].path",
        "must be a relative path",
    ),
    case(
        "hostPath relative",
        "Pod",
        set_("spec.volumes", [{"name": "a", "hostPath": {"path": "var/log"}}]),
        "spec.volumes[0].hostPath.path",
        "absolute",
    ),
    case(
        "hostPath type invalid",
        "Pod",
        set_("spec.volumes", [{"name": "a", "hostPath": {"path": "/x", "type": "Folder"}}]),
        "spec.volumes[0].hostPath.type",
        "unsupported value",
    ),
    case(
        "emptyDir size invalid",
        "Pod",
        set_("spec.volumes", [{"name": "a", "emptyDir": {"sizeLimit": "1 Gi"}}]),
        "spec.volumes[0].emptyDir.sizeLimit",
        "not a quantity",
    ),
    # pod: probes
    case(
        "probe without handler",
        "Pod",
        set_(f"{C}.livenessProbe", {"periodSeconds": 5}),
        f"{C}.livenessProbe",
        "must specify a handler",
    ),
    case(
        "probe with two handlers",
        "Pod",
        set_(f"{C}.livenessProbe", {"exec": {"command": ["true"]}, "tcpSocket": {"port": "80"}}),
        f"{C}.livenessProbe",
        "more than one handler; got exec, tcpSocket",
    ),
    case(
        "probe exec without command",
        "Pod",
        set_(f"{C}.livenessProbe", {"exec": {}}),
        f"{C}.livenessProbe.exec.command",
        "required",
    ),
    case(
        "probe named port missing",
        "Pod",
        set_(f"{C}.readinessProbe", {"httpGet": {"port": "admin"}}),
        f"{C}.readinessProbe.httpGet.port",
        'no port named "admin"',
    ),
    case(
        "probe port number too big",
        "Pod",
        set_(f"{C}.readinessProbe", {"tcpSocket": {"port": "70000"}}),
        f"{C}.readinessProbe.tcpSocket.port",
        "between 1 and 65535",
    ),
    case(
        "probe port zero",
        "Pod",
        set_(f"{C}.readinessProbe", {"tcpSocket": {"port": "0"}}),
        f"{C}.readinessProbe.tcpSocket.port",
        "between 1 and 65535, got 0",
    ),
    case(
        "probe port invalid",
        "Pod",
        set_(f"{C}.readinessProbe", {"tcpSocket": {"port": "-1"}}),
        f"{C}.readinessProbe.tcpSocket.port",
        '"-1" is not a valid port',
    ),
    case(
        "probe port missing",
        "Pod",
        set_(f"{C}.readinessProbe", {"tcpSocket": {}}),
        f"{C}.readinessProbe.tcpSocket.port",
        "required",
    ),
    case(
        "probe scheme invalid",
        "Pod",
        set_(f"{C}.livenessProbe", {"httpGet": {"port": "80", "scheme": "FTP"}}),
        f"{C}.livenessProbe.httpGet.scheme",
        'unsupported value "FTP"',
    ),
    case(
        "liveness success threshold above 1",
        "Pod",
        set_(f"{C}.livenessProbe", {"tcpSocket": {"port": "80"}, "successThreshold": 2}),
        f"{C}.livenessProbe.successThreshold",
        "must be 1 for a livenessProbe",
    ),
    case(
        "startup success threshold above 1",
        "Pod",
        set_(f"{C}.startupProbe", {"tcpSocket": {"port": "80"}, "successThreshold": 3}),
        f"{C}.startupProbe.successThreshold",
        "must be 1 for a startupProbe",
    ),
    case(
        "failure threshold negative",
        "Pod",
        set_(f"{C}.livenessProbe", {"tcpSocket": {"port": "80"}, "failureThreshold": -1}),
        f"{C}.livenessProbe.failureThreshold",
        "at least 1",
    ),
    case(
        "period negative",
        "Pod",
        set_(f"{C}.livenessProbe", {"tcpSocket": {"port": "80"}, "periodSeconds": -5}),
        f"{C}.livenessProbe.periodSeconds",
        "at least 1, got -5",
    ),
    case(
        "initial delay negative",
        "Pod",
        set_(f"{C}.livenessProbe", {"tcpSocket": {"port": "80"}, "initialDelaySeconds": -1}),
        f"{C}.livenessProbe.initialDelaySeconds",
        "at least 0",
    ),
    case(
        "timeout negative",
        "Pod",
        set_(f"{C}.livenessProbe", {"tcpSocket": {"port": "80"}, "timeoutSeconds": -1}),
        f"{C}.livenessProbe.timeoutSeconds",
        "at least 0",
    ),
    case(
        "readiness probe grace period",
        "Pod",
        set_(
            f"{C}.readinessProbe", {"tcpSocket": {"port": "80"}, "terminationGracePeriodSeconds": 5}
        ),
        f"{C}.readinessProbe.terminationGracePeriodSeconds",
        "may not be set",
    ),
    case(
        "init container probe",
        "Pod",
        set_(
            "spec.initContainers",
            [{"name": "init", "image": "x", "livenessProbe": {"exec": {"command": ["true"]}}}],
        ),
        "spec.initContainers[0].livenessProbe",
        "may not be set for init containers",
    ),
    # pod: spec fields
    case(
        "restart policy invalid",
        "Pod",
        set_("spec.restartPolicy", "Sometimes"),
        "spec.restartPolicy",
        '"Always", "OnFailure", "Never"',
    ),
    case(
        "grace period negative",
        "Pod",
        set_("spec.terminationGracePeriodSeconds", -1),
        "spec.terminationGracePeriodSeconds",
        "must be 0 or more",
    ),
    case(
        "active deadline zero",
        "Pod",
        set_("spec.activeDeadlineSeconds", 0),
        "spec.activeDeadlineSeconds",
        "at least 1",
    ),
    case(
        "node name invalid",
        "Pod",
        set_("spec.nodeName", "Node_1"),
        "spec.nodeName",
        "not a valid node name",
    ),
    case(
        "node selector key invalid",
        "Pod",
        set_("spec.nodeSelector", {"a b": "x"}),
        "spec.nodeSelector",
        "not a valid label key",
    ),
    case(
        "node selector value invalid",
        "Pod",
        set_("spec.nodeSelector", {"zone": "a b"}),
        "spec.nodeSelector",
        "not a valid label value",
    ),
    # pod: affinity
    case(
        "node affinity without terms",
        "Pod",
        set_(
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            {"nodeSelectorTerms": []},
        ),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
        "at least one node selector term",
    ),
    case(
        "node affinity In without values",
        "Pod",
        set_(
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In"}]}]},
        ),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values",
        "must be non-empty when operator is In",
    ),
    case(
        "node affinity Exists with values",
        "Pod",
        set_(
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "Exists", "values": ["a"]}]}
                ]
            },
        ),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values",
        "must be empty when operator is Exists",
    ),
    case(
        "node affinity Gt with two values",
        "Pod",
        set_(
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["1", "2"]}]}
                ]
            },
        ),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values",
        "exactly one value",
    ),
    case(
        "node affinity Lt not an integer",
        "Pod",
        set_(
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "cores", "operator": "Lt", "values": ["two"]}]}
                ]
            },
        ),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]",
        "must be an integer",
    ),
    case(
        "node affinity operator unknown",
        "Pod",
        set_(
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "Like"}]}]},
        ),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator",
        'unsupported value "Like"',
    ),
    case(
        "node affinity key invalid",
        "Pod",
        set_(
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            {"nodeSelectorTerms": [{"matchExpressions": [{"key": "-zone", "operator": "Exists"}]}]},
        ),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key",
        "not a valid label key",
    ),
    case(
        "node affinity match field other than name",
        "Pod",
        set_(
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "spec.podCIDR", "operator": "In", "values": ["x"]}]}
                ]
            },
        ),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key",
        'must be "metadata.name"',
    ),
    case(
        "preferred weight zero",
        "Pod",
        set_(
            "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution",
            [
                {
                    "weight": 0,
                    "preference": {"matchExpressions": [{"key": "ssd", "operator": "Exists"}]},
                }
            ],
        ),
        "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
        "between 1 and 100, got 0",
    ),
    case(
        "pod affinity without topology key",
        "Pod",
        set_(
            "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            [{"labelSelector": {"matchLabels": {"app": "db"}}}],
        ),
        "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
        "required",
    ),
    case(
        "pod affinity selector operator invalid",
        "Pod",
        set_(
            "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            [
                {
                    "topologyKey": "zone",
                    "labelSelector": {
                        "matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]
                    },
                }
            ],
        ),
        "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].operator",
        'unsupported value "Gt"',
    ),
    case(
        "pod anti-affinity weight too big",
        "Pod",
        set_(
            "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution",
            [{"weight": 101, "podAffinityTerm": {"topologyKey": "zone"}}],
        ),
        "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
        "between 1 and 100",
    ),
    # pod: tolerations and spreading
    case(
        "toleration Exists with value",
        "Pod",
        set_("spec.tolerations", [{"key": "a", "operator": "Exists", "value": "b"}]),
        "spec.tolerations[0].value",
        'must be empty when operator is "Exists"',
    ),
    case(
        "toleration without key needs Exists",
        "Pod",
        set_("spec.tolerations", [{"value": "b"}]),
        "spec.tolerations[0].operator",
        'must be "Exists" when key is empty',
    ),
    case(
        "toleration operator invalid",
        "Pod",
        set_("spec.tolerations", [{"key": "a", "operator": "Matches"}]),
        "spec.tolerations[0].operator",
        'unsupported value "Matches"',
    ),
    case(
        "toleration effect invalid",
        "Pod",
        set_("spec.tolerations", [{"key": "a", "operator": "Exists", "effect": "NoRun"}]),
        "spec.tolerations[0].effect",
        'unsupported value "NoRun"',
    ),
    case(
        "toleration seconds without NoExecute",
        "Pod",
        set_(
            "spec.tolerations",
            [{"key": "a", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}],
        ),
        "spec.tolerations[0].tolerationSeconds",
        'only be set when effect is "NoExecute"',
    ),
    case(
        "toleration key invalid",
        "Pod",
        set_("spec.tolerations", [{"key": "a b", "operator": "Exists"}]),
        "spec.tolerations[0].key",
        "not a valid toleration key",
    ),
    case(
        "spread max skew zero",
        "Pod",
        set_(
            "spec.topologySpreadConstraints",
            [{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}],
        ),
        "spec.topologySpreadConstraints[0].maxSkew",
        "at least 1",
    ),
    case(
        "spread without topology key",
        "Pod",
        set_(
            "spec.topologySpreadConstraints", [{"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}]
        ),
        "spec.topologySpreadConstraints[0].topologyKey",
        "required",
    ),
    case(
        "spread when unsatisfiable invalid",
        "Pod",
        set_(
            "spec.topologySpreadConstraints",
            [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Ignore"}],
        ),
        "spec.topologySpreadConstraints[0].whenUnsatisfiable",
        '"DoNotSchedule", "ScheduleAnyway"',
    ),
    case(
        "spread constraint duplicated",
        "Pod",
        set_(
            "spec.topologySpreadConstraints",
            [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}] * 2,
        ),
        "spec.topologySpreadConstraints[1]",
        "duplicate constraint",
    ),
    case(
        "spread min domains with ScheduleAnyway",
        "Pod",
        set_(
            "spec.topologySpreadConstraints",
            [
                {
                    "maxSkew": 1,
                    "topologyKey": "zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "minDomains": 2,
                }
            ],
        ),
        "spec.topologySpreadConstraints[0].minDomains",
        'only be set when whenUnsatisfiable is "DoNotSchedule"',
    ),
    # workloads
    case(
        "deployment replicas negative",
        "Deployment",
        set_("spec.replicas", -1),
        "spec.replicas",
        "at least 0, got -1",
    ),
    case(
        "deployment selector missing",
        "Deployment",
        delete("spec.selector"),
        "spec.selector",
        "required",
    ),
    case(
        "deployment selector empty",
        "Deployment",
        set_("spec.selector", {}),
        "spec.selector",
        "non-empty",
    ),
    case(
        "deployment selector mismatch",
        "Deployment",
        set_("spec.selector.matchLabels", {"app": "api"}),
        "spec.template.metadata.labels",
        "selector does not match template labels",
    ),
    case(
        "deployment selector operator invalid",
        "Deployment",
        set_(
            "spec.selector",
            {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["web"]}]},
        ),
        "spec.selector.matchExpressions[0].operator",
        'unsupported value "Equals"',
    ),
    case(
        "deployment template label invalid",
        "Deployment",
        set_("spec.template.metadata.labels", {"app": "web", "bad key": "x"}),
        "spec.template.metadata.labels",
        "not a valid label key",
    ),
    case(
        "deployment template restart policy",
        "Deployment",
        set_(f"{T}.restartPolicy", "Never"),
        f"{T}.restartPolicy",
        'must be "Always"',
    ),
    case(
        "deployment template image missing",
        "Deployment",
        delete(f"{T}.containers[0].image"),
        f"{T}.containers[0].image",
        "required",
    ),
    case(
        "deployment template port invalid",
        "Deployment",
        set_(
            f"{T}.containers[0].ports", [{"containerPort": 80}, {"containerPort": 0, "hostPort": 1}]
        ),
        f"{T}.containers[0].ports[1].containerPort",
        "required",
    ),
    case(
        "strategy type invalid",
        "Deployment",
        set_("spec.strategy.type", "BlueGreen"),
        "spec.strategy.type",
        'unsupported value "BlueGreen"',
    ),
    case(
        "recreate with rolling update",
        "Deployment",
        set_("spec.strategy", {"type": "Recreate", "rollingUpdate": {"maxSurge": "1"}}),
        "spec.strategy.rollingUpdate",
        'may not be specified when strategy type is "Recreate"',
    ),
    case(
        "max surge invalid",
        "Deployment",
        set_("spec.strategy.rollingUpdate.maxSurge", "lots"),
        "spec.strategy.rollingUpdate.maxSurge",
        '"lots" is not an integer or a percentage',
    ),
    case(
        "max unavailable above 100%",
        "Deployment",
        set_("spec.strategy.rollingUpdate.maxUnavailable", "150%"),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "more than 100%",
    ),
    case(
        "max surge and unavailable zero",
        "Deployment",
        set_("spec.strategy.rollingUpdate", {"maxSurge": "0", "maxUnavailable": "0%"}),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "may not be 0 when maxSurge is 0",
    ),
    case(
        "min ready seconds negative",
        "Deployment",
        set_("spec.minReadySeconds", -1),
        "spec.minReadySeconds",
        "at least 0",
    ),
    case(
        "revision history negative",
        "Deployment",
        set_("spec.revisionHistoryLimit", -1),
        "spec.revisionHistoryLimit",
        "at least 0",
    ),
    case(
        "progress deadline not above min ready",
        "Deployment",
        both(set_("spec.minReadySeconds", 600), set_("spec.progressDeadlineSeconds", 600)),
        "spec.progressDeadlineSeconds",
        "must be greater than minReadySeconds (600), got 600",
    ),
    case(
        "replica set replicas negative",
        "ReplicaSet",
        set_("spec.replicas", -2),
        "spec.replicas",
        "at least 0",
    ),
    case(
        "replica set selector mismatch",
        "ReplicaSet",
        set_("spec.template.metadata.labels", {"app": "api"}),
        "spec.template.metadata.labels",
        "selector does not match template labels",
    ),
    case(
        "replica set restart policy",
        "ReplicaSet",
        set_(f"{T}.restartPolicy", "OnFailure"),
        f"{T}.restartPolicy",
        'must be "Always"',
    ),
    case(
        "replica set without containers",
        "ReplicaSet",
        set_(f"{T}.containers", []),
        f"{T}.containers",
        "at least one container",
    ),
    # Service
    case(
        "service without ports",
        "Service",
        set_("spec.ports", []),
        "spec.ports",
        "at least one port",
    ),
    case(
        "external name missing",
        "Service",
        set_("spec", {"type": "ExternalName"}),
        "spec.externalName",
        "required",
    ),
    case(
        "external name invalid",
        "Service",
        set_("spec", {"type": "ExternalName", "externalName": "DB_host"}),
        "spec.externalName",
        "not a valid DNS name",
    ),
    case(
        "service port zero",
        "Service",
        set_("spec.ports[0].port", 0),
        "spec.ports[0].port",
        "between 1 and 65535",
    ),
    case(
        "service ports unnamed",
        "Service",
        append("spec.ports", {"port": 443}),
        "spec.ports[0].name",
        "required when a service has more than one port",
    ),
    case(
        "service port names duplicated",
        "Service",
        set_("spec.ports", [{"name": "a", "port": 80}, {"name": "a", "port": 81}]),
        "spec.ports[1].name",
        'duplicate port name "a"',
    ),
    case(
        "service port name invalid",
        "Service",
        set_("spec.ports[0].name", "Web"),
        "spec.ports[0].name",
        "not a valid port name",
    ),
    case(
        "service protocol invalid",
        "Service",
        set_("spec.ports[0].protocol", "ICMP"),
        "spec.ports[0].protocol",
        'unsupported value "ICMP"',
    ),
    case(
        "target port too big",
        "Service",
        set_("spec.ports[0].targetPort", "70000"),
        "spec.ports[0].targetPort",
        "between 1 and 65535",
    ),
    case(
        "target port name invalid",
        "Service",
        set_("spec.ports[0].targetPort", "Web_Port"),
        "spec.ports[0].targetPort",
        "not a valid target port",
    ),
    case(
        "service type invalid",
        "Service",
        set_("spec.type", "Internal"),
        "spec.type",
        '"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"',
    ),
    case(
        "node port out of range",
        "Service",
        both(set_("spec.type", "NodePort"), set_("spec.ports[0].nodePort", 8080)),
        "spec.ports[0].nodePort",
        "between 30000 and 32767, got 8080",
    ),
    case(
        "node port on cluster IP service",
        "Service",
        set_("spec.ports[0].nodePort", 30080),
        "spec.ports[0].nodePort",
        'may not be set when type is "ClusterIP"',
    ),
    case(
        "service selector invalid",
        "Service",
        set_("spec.selector", {"app": "web app"}),
        "spec.selector",
        "not a valid label value",
    ),
    case(
        "session affinity invalid",
        "Service",
        set_("spec.sessionAffinity", "Sticky"),
        "spec.sessionAffinity",
        "unsupported value",
    ),
    case(
        "external traffic policy invalid",
        "Service",
        both(set_("spec.type", "NodePort"), set_("spec.externalTrafficPolicy", "Nearest")),
        "spec.externalTrafficPolicy",
        "unsupported value",
    ),
    # ConfigMap and Secret
    case(
        "config key invalid",
        "ConfigMap",
        set_("data", {"a/b": "x"}),
        "data[a/b]",
        '"a/b" is not a valid key',
    ),
    case(
        "config key dot dot", "ConfigMap", set_("data", {"..": "x"}), "data[..]", "must not be '..'"
    ),
    case(
        "config key starting with dot dot",
        "ConfigMap",
        set_("data", {"..data": "x"}),
        "data[..data]",
        "must not start with '..'",
    ),
    case(
        "config key too long",
        "ConfigMap",
        set_("data", {"k" * 254: "x"}),
        f"data[{'k' * 254}]",
        "no more than 253",
    ),
    case(
        "binary data key invalid",
        "ConfigMap",
        set_("binaryData", {"a b": "eA=="}),
        "binaryData[a b]",
        "not a valid key",
    ),
    case(
        "key in data and binary data",
        "ConfigMap",
        set_("binaryData", {"mode": "eA=="}),
        "binaryData[mode]",
        'duplicate of key "mode" in data',
    ),
    case(
        "config map too big",
        "ConfigMap",
        set_("data", {"a": "x" * 600_000, "b": "y" * 600_000}),
        "data",
        "1200000 bytes",
    ),
    case(
        "secret key invalid",
        "Secret",
        set_("stringData", {"a:b": "x"}),
        "data[a:b]",
        "not a valid key",
    ),
    case(
        "secret too big",
        "Secret",
        set_("stringData", {"a": "x" * (1024 * 1024 + 1)}),
        "data",
        "must be no more than 1048576",
    ),
    case(
        "tls secret without key",
        "Secret",
        both(set_("type", "kubernetes.io/tls"), set_("stringData", {"tls.crt": "c"})),
        "data[tls.key]",
        'required for a secret of type "kubernetes.io/tls"',
    ),
    # HPA
    case(
        "hpa target kind missing",
        "HorizontalPodAutoscaler",
        delete("spec.scaleTargetRef.kind"),
        "spec.scaleTargetRef.kind",
        "required",
    ),
    case(
        "hpa target name missing",
        "HorizontalPodAutoscaler",
        delete("spec.scaleTargetRef.name"),
        "spec.scaleTargetRef.name",
        "required",
    ),
    case(
        "hpa max replicas zero",
        "HorizontalPodAutoscaler",
        set_("spec.maxReplicas", 0),
        "spec.maxReplicas",
        "at least 1",
    ),
    case(
        "hpa max below min",
        "HorizontalPodAutoscaler",
        set_("spec.minReplicas", 6),
        "spec.maxReplicas",
        "greater than or equal to minReplicas (6), got 5",
    ),
    case(
        "hpa min replicas zero",
        "HorizontalPodAutoscaler",
        set_("spec.minReplicas", 0),
        "spec.minReplicas",
        "at least 1",
    ),
    case(
        "metric type unknown",
        "HorizontalPodAutoscaler",
        set_("spec.metrics", [{"type": "Custom"}]),
        "spec.metrics[0].type",
        'unsupported value "Custom"',
    ),
    case(
        "metric source missing for type",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Pods",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        ),
        "spec.metrics[0].pods",
        'required when type is "Pods"',
    ),
    case(
        "metric source other than type",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Pods",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        ),
        "spec.metrics[0].resource",
        'must be empty when type is "Pods"',
    ),
    case(
        "utilization for pods metric",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "qps"},
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        ),
        "spec.metrics[0].pods.target.type",
        'unsupported value "Utilization": must be one of "AverageValue"',
    ),
    case(
        "average utilization zero",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 0},
                    },
                }
            ],
        ),
        "spec.metrics[0].resource.target.averageUtilization",
        "at least 1",
    ),
    case(
        "utilization without a value",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}],
        ),
        "spec.metrics[0].resource.target.averageUtilization",
        "required",
    ),
    case(
        "average value invalid",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "lots"},
                    },
                }
            ],
        ),
        "spec.metrics[0].resource.target.averageValue",
        "not a quantity",
    ),
    case(
        "value target without value",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "External",
                    "external": {"metric": {"name": "q"}, "target": {"type": "Value"}},
                }
            ],
        ),
        "spec.metrics[0].external.target.value",
        "required",
    ),
    case(
        "resource metric without name",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Resource",
                    "resource": {"target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        ),
        "spec.metrics[0].resource.name",
        "required",
    ),
    case(
        "resource metric name unknown",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "gpu",
                        "target": {"type": "AverageValue", "averageValue": "1"},
                    },
                }
            ],
        ),
        "spec.metrics[0].resource.name",
        '"gpu" is not a valid resource name',
    ),
    case(
        "container resource without container",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "ContainerResource",
                    "containerResource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        ),
        "spec.metrics[0].containerResource.container",
        "required",
    ),
    case(
        "object metric without described object",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Object",
                    "object": {
                        "metric": {"name": "hits"},
                        "target": {"type": "Value", "value": "1"},
                    },
                }
            ],
        ),
        "spec.metrics[0].object.describedObject.kind",
        "required",
    ),
    case(
        "pods metric without name",
        "HorizontalPodAutoscaler",
        set_(
            "spec.metrics",
            [
                {
                    "type": "Pods",
                    "pods": {"metric": {}, "target": {"type": "AverageValue", "averageValue": "1"}},
                }
            ],
        ),
        "spec.metrics[0].pods.metric.name",
        "required",
    ),
    case(
        "policy type invalid",
        "HorizontalPodAutoscaler",
        set_(
            "spec.behavior.scaleUp.policies", [{"type": "Nodes", "value": 1, "periodSeconds": 15}]
        ),
        "spec.behavior.scaleUp.policies[0].type",
        'unsupported value "Nodes"',
    ),
    case(
        "policy value zero",
        "HorizontalPodAutoscaler",
        set_(
            "spec.behavior.scaleDown.policies", [{"type": "Pods", "value": 0, "periodSeconds": 15}]
        ),
        "spec.behavior.scaleDown.policies[0].value",
        "at least 1",
    ),
    case(
        "policy period too long",
        "HorizontalPodAutoscaler",
        set_(
            "spec.behavior.scaleUp.policies", [{"type": "Pods", "value": 1, "periodSeconds": 1801}]
        ),
        "spec.behavior.scaleUp.policies[0].periodSeconds",
        "between 1 and 1800",
    ),
    case(
        "stabilization window too long",
        "HorizontalPodAutoscaler",
        set_("spec.behavior.scaleDown.stabilizationWindowSeconds", 3601),
        "spec.behavior.scaleDown.stabilizationWindowSeconds",
        "between 0 and 3600",
    ),
    case(
        "select policy invalid",
        "HorizontalPodAutoscaler",
        set_("spec.behavior.scaleUp.selectPolicy", "Avg"),
        "spec.behavior.scaleUp.selectPolicy",
        '"Max", "Min", "Disabled"',
    ),
    # Ingress
    case(
        "ingress host invalid",
        "Ingress",
        set_("spec.rules[0].host", "Web.example.com"),
        "spec.rules[0].host",
        '"Web.example.com" is not a valid host',
    ),
    case(
        "ingress wildcard not first",
        "Ingress",
        set_("spec.rules[0].host", "web.*.com"),
        "spec.rules[0].host",
        "not a valid host",
    ),
    case(
        "ingress path type missing",
        "Ingress",
        delete("spec.rules[0].http.paths[0].pathType"),
        "spec.rules[0].http.paths[0].pathType",
        "required",
    ),
    case(
        "ingress path type invalid",
        "Ingress",
        set_("spec.rules[0].http.paths[0].pathType", "Regex"),
        "spec.rules[0].http.paths[0].pathType",
        'unsupported value "Regex"',
    ),
    case(
        "ingress prefix path relative",
        "Ingress",
        set_("spec.rules[0].http.paths[0].path", "api"),
        "spec.rules[0].http.paths[0].path",
        "must be an absolute path for pathType Prefix",
    ),
    case(
        "ingress exact path empty",
        "Ingress",
        both(
            delete("spec.rules[0].http.paths[0].path"),
            set_("spec.rules[0].http.paths[0].pathType", "Exact"),
        ),
        "spec.rules[0].http.paths[0].path",
        "absolute path",
    ),
    case(
        "ingress paths empty",
        "Ingress",
        set_("spec.rules[0].http.paths", []),
        "spec.rules[0].http.paths",
        "at least one path",
    ),
    case(
        "ingress backend service name missing",
        "Ingress",
        delete("spec.rules[0].http.paths[0].backend.service.name"),
        "spec.rules[0].http.paths[0].backend.service.name",
        "required",
    ),
    case(
        "ingress backend without service",
        "Ingress",
        set_("spec.rules[0].http.paths[0].backend", {}),
        "spec.rules[0].http.paths[0].backend.service",
        "required",
    ),
    case(
        "ingress backend port name and number",
        "Ingress",
        set_("spec.rules[0].http.paths[0].backend.service.port", {"name": "http", "number": 80}),
        "spec.rules[0].http.paths[0].backend.service.port",
        "exactly one of name or number",
    ),
    case(
        "ingress backend port missing",
        "Ingress",
        set_("spec.rules[0].http.paths[0].backend.service.port", {}),
        "spec.rules[0].http.paths[0].backend.service.port",
        "required",
    ),
    case(
        "ingress backend port too big",
        "Ingress",
        set_("spec.rules[0].http.paths[0].backend.service.port", {"number": 70000}),
        "spec.rules[0].http.paths[0].backend.service.port.number",
        "between 1 and 65535",
    ),
    case(
        "ingress without rules or backend",
        "Ingress",
        set_("spec", {}),
        "spec",
        "either defaultBackend or rules",
    ),
    case(
        "ingress tls host invalid",
        "Ingress",
        set_("spec.tls", [{"hosts": ["bad_host"], "secretName": "tls"}]),
        "spec.tls[0].hosts[0]",
        "not a valid host",
    ),
    # Node, Event, Lease, Namespace
    case(
        "taint effect invalid",
        "Node",
        set_("spec.taints", [{"key": "a", "effect": "NoRun"}]),
        "spec.taints[0].effect",
        'unsupported value "NoRun"',
    ),
    case(
        "taint effect missing",
        "Node",
        set_("spec.taints", [{"key": "a"}]),
        "spec.taints[0].effect",
        "required",
    ),
    case(
        "taint key invalid",
        "Node",
        set_("spec.taints", [{"key": "a b", "effect": "NoSchedule"}]),
        "spec.taints[0].key",
        "not a valid taint key",
    ),
    case(
        "taint key missing",
        "Node",
        set_("spec.taints", [{"effect": "NoSchedule"}]),
        "spec.taints[0].key",
        "required",
    ),
    case(
        "taint duplicated",
        "Node",
        set_("spec.taints", [{"key": "a", "effect": "NoSchedule"}] * 2),
        "spec.taints[1]",
        "duplicate taint",
    ),
    case(
        "capacity invalid",
        "Node",
        set_("status.capacity.cpu", "two"),
        "status.capacity[cpu]",
        "not a quantity",
    ),
    case(
        "allocatable negative",
        "Node",
        set_("status.allocatable", {"memory": "-1Gi"}),
        "status.allocatable[memory]",
        "must be 0 or more",
    ),
    case(
        "event kind missing",
        "Event",
        delete("involvedObject.kind"),
        "involvedObject.kind",
        "required",
    ),
    case(
        "event name missing",
        "Event",
        delete("involvedObject.name"),
        "involvedObject.name",
        "required",
    ),
    case(
        "event namespace mismatch",
        "Event",
        set_("involvedObject.namespace", "other"),
        "involvedObject.namespace",
        "does not match",
    ),
    case("event type invalid", "Event", set_("type", "Info"), "type", '"Normal", "Warning"'),
    case(
        "lease duration zero with holder",
        "Lease",
        set_("spec.leaseDurationSeconds", 0),
        "spec.leaseDurationSeconds",
        "greater than 0 when holderIdentity is set",
    ),
    case(
        "lease duration negative",
        "Lease",
        set_("spec", {"leaseDurationSeconds": -1}),
        "spec.leaseDurationSeconds",
        "must be 0 or more",
    ),
    case(
        "lease transitions negative",
        "Lease",
        set_("spec.leaseTransitions", -1),
        "spec.leaseTransitions",
        "at least 0",
    ),
    case(
        "namespace name invalid",
        "Namespace",
        set_("metadata.name", "Team"),
        "metadata.name",
        "not a valid name",
    ),
    case(
        "namespace phase invalid",
        "Namespace",
        set_("status.phase", "Gone"),
        "status.phase",
        '"Active", "Terminating"',
    ),
]


@pytest.mark.parametrize(("kind", "mutation", "path", "message"), INVALID)
def test_invalid_object_is_refused_naming_the_field(kind, mutation, path, message):
    assert_has_error(validation.validate(build(kind, mutation)), path, message)


# ------------------------------------------------------------------- updates

UPDATES_ALLOWED = [
    # (kind, old mutation, new mutation)
    pytest.param("Pod", None, set_(f"{C}.image", "corral/busybox:2"), id="pod image"),
    pytest.param(
        "Pod",
        set_("spec.initContainers", [{"name": "init", "image": "b:1"}]),
        set_("spec.initContainers", [{"name": "init", "image": "b:2"}]),
        id="pod init container image",
    ),
    pytest.param(
        "Pod", None, set_("metadata.labels", {"app": "web", "track": "canary"}), id="pod labels"
    ),
    pytest.param("Pod", None, set_("spec.activeDeadlineSeconds", 30), id="pod deadline set"),
    pytest.param(
        "Pod",
        set_("spec.activeDeadlineSeconds", 60),
        set_("spec.activeDeadlineSeconds", 30),
        id="pod deadline shortened",
    ),
    pytest.param(
        "Pod",
        set_("spec.tolerations", [{"key": "a", "operator": "Exists"}]),
        set_(
            "spec.tolerations",
            [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}],
        ),
        id="pod toleration added",
    ),
    pytest.param("Pod", None, set_("status.phase", "Running"), id="pod status"),
    pytest.param("Pod", None, set_("spec.nominatedNodeName", "node-2"), id="pod nominated node"),
    pytest.param("Deployment", None, set_("spec.replicas", 3), id="deployment replicas"),
    pytest.param(
        "Deployment",
        None,
        set_(f"{T}.containers[0].image", "corral/busybox:2"),
        id="deployment template",
    ),
    pytest.param("ConfigMap", None, set_("data", {"mode": "slow"}), id="mutable config map"),
    pytest.param("Secret", None, set_("stringData", {"token": "new"}), id="mutable secret"),
    pytest.param(
        "Service",
        set_("spec.clusterIP", "10.0.0.7"),
        set_("spec.clusterIP", ""),
        id="service cluster IP left empty",
    ),
    pytest.param("ConfigMap", None, set_("immutable", True), id="config map made immutable"),
]


def keep(manifest: Manifest) -> None:
    """No change."""


@pytest.mark.parametrize(("kind", "old_mutation", "new_mutation"), UPDATES_ALLOWED)
def test_allowed_updates_pass(kind, old_mutation, new_mutation):
    old = build(kind, old_mutation)
    new = build(kind, both(old_mutation or keep, new_mutation))
    assert [str(e) for e in validation.validate(new, old)] == []


UPDATES_REFUSED = [
    # (kind, old mutation, new mutation, path, message)
    pytest.param(
        "Pod",
        None,
        set_("spec.restartPolicy", "Never"),
        "spec",
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`",
        id="pod restart policy",
    ),
    pytest.param(
        "Pod",
        None,
        set_("spec.restartPolicy", "Never"),
        "spec",
        "changed: spec.restartPolicy",
        id="pod change named",
    ),
    pytest.param(
        "Pod",
        None,
        set_(f"{C}.ports[0].containerPort", 81),
        "spec",
        "changed: spec.containers[0].ports[0].containerPort",
        id="pod container port",
    ),
    pytest.param(
        "Pod",
        None,
        append("spec.containers", {"name": "b", "image": "x"}),
        "spec",
        "changed: spec.containers",
        id="pod container added",
    ),
    pytest.param(
        "Pod",
        None,
        set_("spec.nodeName", "node-1"),
        "spec.nodeName",
        "pods are bound to a node with Bind",
        id="pod node name",
    ),
    pytest.param(
        "Pod",
        set_("spec.nodeName", "node-1"),
        set_("spec.nodeName", "node-2"),
        "spec.nodeName",
        'from "node-1" to "node-2"',
        id="pod rebinding",
    ),
    pytest.param(
        "Pod",
        set_("spec.tolerations", [{"key": "a", "operator": "Exists"}]),
        set_("spec.tolerations", []),
        "spec.tolerations",
        "only added to",
        id="pod toleration removed",
    ),
    pytest.param(
        "Pod",
        set_("spec.activeDeadlineSeconds", 30),
        set_("spec.activeDeadlineSeconds", 60),
        "spec.activeDeadlineSeconds",
        "may not be increased (from 30 to 60)",
        id="pod deadline increased",
    ),
    pytest.param(
        "Pod",
        None,
        set_("metadata.name", "api"),
        "metadata.name",
        "field is immutable",
        id="pod renamed",
    ),
    pytest.param(
        "Pod",
        None,
        set_("metadata.namespace", "other"),
        "metadata.namespace",
        "field is immutable",
        id="pod moved",
    ),
    pytest.param(
        "Deployment",
        None,
        both(
            set_("spec.selector.matchLabels", {"app": "web", "v": "2"}),
            set_("spec.template.metadata.labels", {"app": "web", "v": "2"}),
        ),
        "spec.selector",
        "field is immutable",
        id="deployment selector",
    ),
    pytest.param(
        "ReplicaSet",
        None,
        set_("spec.selector", {"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
        "spec.selector",
        "field is immutable",
        id="replica set selector",
    ),
    pytest.param(
        "Service",
        set_("spec.clusterIP", "10.0.0.7"),
        set_("spec.clusterIP", "10.0.0.8"),
        "spec.clusterIP",
        "field is immutable",
        id="service cluster IP",
    ),
    pytest.param(
        "ConfigMap",
        set_("immutable", True),
        both(set_("immutable", True), set_("data", {"mode": "slow"})),
        "data",
        "immutable",
        id="immutable config map data",
    ),
    pytest.param(
        "ConfigMap",
        set_("immutable", True),
        set_("immutable", False),
        "immutable",
        "may not be unset",
        id="config map immutability unset",
    ),
    pytest.param(
        "Secret",
        set_("immutable", True),
        both(set_("immutable", True), set_("stringData", {"token": "other"})),
        "data",
        "immutable",
        id="immutable secret data",
    ),
    pytest.param(
        "Secret",
        None,
        set_("type", "example.com/token"),
        "type",
        "field is immutable",
        id="secret type",
    ),
]


@pytest.mark.parametrize(
    ("kind", "old_mutation", "new_mutation", "path", "message"), UPDATES_REFUSED
)
def test_refused_updates_name_the_field(kind, old_mutation, new_mutation, path, message):
    old = build(kind, old_mutation)
    new = build(kind, both(old_mutation or keep, new_mutation))
    assert_has_error(validation.validate(new, old), path, message)


def test_binding_a_pod_through_update_is_the_only_error_for_a_node_name_change():
    old = build("Pod")
    new = build("Pod", set_("spec.nodeName", "node-1"))
    assert [e.path for e in validation.validate(new, old)] == ["spec.nodeName"]


# ------------------------------------------------------------- whole object


def test_every_problem_is_reported_not_just_the_first():
    pod = build(
        "Pod",
        both(
            set_("metadata.name", "Web"),
            delete(f"{C}.image"),
            set_("spec.restartPolicy", "Sometimes"),
        ),
    )
    paths = [e.path for e in validation.validate(pod)]
    assert paths == ["metadata.name", f"{C}.image", "spec.restartPolicy"]


def test_check_raises_invalid_starting_with_the_first_field():
    pod = build("Pod", both(set_("metadata.name", "Web_1"), delete(f"{C}.image")))
    with pytest.raises(Invalid) as raised:
        validation.check(pod)
    assert raised.value.field == "metadata.name"
    assert raised.value.message == (
        'metadata.name: "Web_1" is not a valid name: must consist of lower case alphanumeric '
        "characters, '-' or '.', and must start and end with an alphanumeric character; "
        f"{C}.image: required"
    )


def test_check_returns_quietly_for_a_valid_object():
    validation.check(build("Deployment"))


def test_validation_applies_defaults_to_a_copy_only():
    pod = build("Pod")
    before = pod.SerializeToString()
    assert validation.validate(pod) == []
    assert pod.SerializeToString() == before


def test_field_error_prints_path_then_message():
    assert str(validation.FieldError("spec.replicas", "must be at least 0, got -1")) == (
        "spec.replicas: must be at least 0, got -1"
    )
