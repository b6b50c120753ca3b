"""Validation of the core group (corral/api/validation/core.py): Pods and their spec,
Services, ConfigMaps, Secrets, Nodes, Events and Namespaces.

Each case changes one field of a minimal valid manifest (tests/unit/validation_builders.py).
"""

from __future__ import annotations

import pytest

from corral.api import validation
from tests.unit.validation_builders import (
    C,
    append,
    assert_has_error,
    both,
    build,
    case,
    delete,
    set_,
    validate_update,
)

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

VALID = [
    pytest.param("Pod", RICH_POD, id="pod using most fields"),
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
        "Secret",
        both(
            set_("stringData", {"tls.crt": "c", "tls.key": "k"}),
            set_("type", "kubernetes.io/tls"),
        ),
        id="tls secret",
    ),
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
]


@pytest.mark.parametrize(("kind", "mutation"), VALID)
def test_valid_variants_pass(kind, mutation):
    assert [str(e) for e in validation.validate(build(kind, mutation))] == []


INVALID = [
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
        "session affinity timeout too long",
        "Service",
        both(set_("spec.sessionAffinity", "ClientIP"),
             set_("spec.sessionAffinityConfig", {"clientIP": {"timeoutSeconds": 86401}})),
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
        "must be between 1 and 86400, got 86401",
    ),
    case(
        "session affinity config without ClientIP affinity",
        "Service",
        set_("spec.sessionAffinityConfig", {"clientIP": {"timeoutSeconds": 60}}),
        "spec.sessionAffinityConfig",
        'may only be set when sessionAffinity is "ClientIP"',
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
    # Node, Event, Namespace
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


@pytest.mark.parametrize(("kind", "old_mutation", "new_mutation"), UPDATES_ALLOWED)
def test_allowed_updates_pass(kind, old_mutation, new_mutation):
    assert [str(e) for e in validate_update(kind, old_mutation, new_mutation)] == []


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
    assert_has_error(validate_update(kind, old_mutation, new_mutation), path, message)


def test_binding_a_pod_through_update_is_the_only_error_for_a_node_name_change():
    old = build("Pod")
    new = build("Pod", set_("spec.nodeName", "node-1"))
    assert [e.path for e in validation.validate(new, old)] == ["spec.nodeName"]
