"""Defaults the API server fills in, kind by kind, as Kubernetes does."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from corral.api.defaults import apply_defaults, default_image_pull_policy
from corral.api.v1 import (
    apps_pb2,
    autoscaling_pb2,
    coordination_pb2,
    core_pb2,
    networking_pb2,
)


def defaulted(message_type: type[Message], manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest after defaulting, as the JSON a user would read back."""
    obj = json_format.ParseDict(manifest, message_type())
    apply_defaults(obj)
    return json_format.MessageToDict(obj)


CONTAINER = {"name": "web", "image": "corral/busybox:1"}
POD_SPEC = {"containers": [CONTAINER]}


def test_namespaced_kinds_default_to_the_default_namespace():
    assert defaulted(core_pb2.ConfigMap, {"metadata": {"name": "a"}})["metadata"] == {
        "name": "a",
        "namespace": "default",
    }


def test_given_namespace_is_kept():
    pod = defaulted(
        core_pb2.Pod, {"metadata": {"name": "a", "namespace": "team"}, "spec": POD_SPEC}
    )
    assert pod["metadata"]["namespace"] == "team"


@pytest.mark.parametrize("message_type", [core_pb2.Namespace, core_pb2.Node])
def test_cluster_scoped_kinds_get_no_namespace(message_type):
    assert "namespace" not in defaulted(message_type, {"metadata": {"name": "a"}})["metadata"]


def test_server_owned_metadata_is_left_to_the_server():
    meta = defaulted(core_pb2.Pod, {"metadata": {"name": "a"}, "spec": POD_SPEC})["metadata"]
    assert set(meta) == {"name", "namespace"}


def test_pod_spec_defaults_match_kubernetes():
    spec = defaulted(core_pb2.Pod, {"metadata": {"name": "a"}, "spec": POD_SPEC})["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["terminationGracePeriodSeconds"] == "30"  # int64 is a string in JSON
    assert spec["schedulerName"] == "default-scheduler"
    assert spec.get("priority", 0) == 0
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"


def test_pod_priority_is_set_to_zero_explicitly():
    pod = core_pb2.Pod(spec=core_pb2.PodSpec(containers=[core_pb2.Container(name="a", image="b")]))
    apply_defaults(pod)
    assert pod.spec.HasField("priority") and pod.spec.priority == 0


def test_given_pod_fields_are_kept():
    spec = defaulted(
        core_pb2.Pod,
        {
            "metadata": {"name": "a"},
            "spec": {
                "containers": [{**CONTAINER, "imagePullPolicy": "Never"}],
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 0,
                "priority": 7,
                "schedulerName": "mine",
            },
        },
    )["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["terminationGracePeriodSeconds"] == "0"
    assert spec["priority"] == 7
    assert spec["schedulerName"] == "mine"
    assert spec["containers"][0]["imagePullPolicy"] == "Never"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("registry.local:5000/busybox", "Always"),
        ("registry.local:5000/busybox:1.36", "IfNotPresent"),
        ("corral/busybox:1", "IfNotPresent"),
        ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
        ("busybox:latest@sha256:" + "a" * 64, "Always"),
    ],
)
def test_image_pull_policy_depends_on_the_tag(image, policy):
    assert default_image_pull_policy(image) == policy


def test_container_ports_default_to_tcp():
    container = {
        **CONTAINER,
        "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
    }
    spec = defaulted(core_pb2.Pod, {"metadata": {"name": "a"}, "spec": {"containers": [container]}})
    ports = spec["spec"]["containers"][0]["ports"]
    assert [p["protocol"] for p in ports] == ["TCP", "UDP"]
    assert "hostPort" not in ports[0]


def test_host_network_pods_publish_container_ports_on_the_host():
    container = {**CONTAINER, "ports": [{"containerPort": 8080}]}
    pod = defaulted(
        core_pb2.Pod,
        {"metadata": {"name": "a"}, "spec": {"hostNetwork": True, "containers": [container]}},
    )
    assert pod["spec"]["containers"][0]["ports"][0]["hostPort"] == 8080


def test_probe_defaults():
    container = {
        **CONTAINER,
        "livenessProbe": {"httpGet": {"port": "80"}},
        "readinessProbe": {"tcpSocket": {"port": "80"}, "periodSeconds": 2},
    }
    spec = defaulted(core_pb2.Pod, {"metadata": {"name": "a"}, "spec": {"containers": [container]}})
    liveness = spec["spec"]["containers"][0]["livenessProbe"]
    assert liveness == {
        "httpGet": {"port": "80", "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert spec["spec"]["containers"][0]["readinessProbe"]["periodSeconds"] == 2


def test_limits_without_requests_become_requests_on_pods():
    container = {
        **CONTAINER,
        "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "100m"}},
    }
    pod = defaulted(core_pb2.Pod, {"metadata": {"name": "a"}, "spec": {"containers": [container]}})
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "100m",
        "memory": "64Mi",
    }


def test_limits_are_not_copied_to_requests_in_templates():
    container = {**CONTAINER, "resources": {"limits": {"cpu": "500m"}}}
    rs = defaulted(
        apps_pb2.ReplicaSet,
        {"metadata": {"name": "a"}, "spec": {"template": {"spec": {"containers": [container]}}}},
    )
    assert "requests" not in rs["spec"]["template"]["spec"]["containers"][0]["resources"]


def test_env_field_refs_default_to_api_version_v1():
    container = {
        **CONTAINER,
        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
    }
    pod = defaulted(core_pb2.Pod, {"metadata": {"name": "a"}, "spec": {"containers": [container]}})
    assert pod["spec"]["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"


def test_volume_defaults():
    spec = {
        "containers": [CONTAINER],
        "volumes": [
            {"name": "config", "configMap": {"name": "settings"}},
            {"name": "token", "secret": {"secretName": "token", "defaultMode": 0o400}},
            {"name": "scratch"},
        ],
    }
    volumes = defaulted(core_pb2.Pod, {"metadata": {"name": "a"}, "spec": spec})["spec"]["volumes"]
    assert volumes[0]["configMap"]["defaultMode"] == 420
    assert volumes[1]["secret"]["defaultMode"] == 0o400
    assert volumes[2] == {"name": "scratch", "emptyDir": {}}


def test_deployment_defaults():
    deployment = defaulted(
        apps_pb2.Deployment, {"metadata": {"name": "web"}, "spec": {"template": {"spec": POD_SPEC}}}
    )
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert "namespace" not in spec["template"].get("metadata", {})


def test_deployment_keeps_zero_replicas_and_given_rolling_update_values():
    deployment = defaulted(
        apps_pb2.Deployment,
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 0,
                "revisionHistoryLimit": 0,
                "strategy": {"rollingUpdate": {"maxSurge": "1"}},
                "template": {"spec": POD_SPEC},
            },
        },
    )["spec"]
    assert deployment.get("replicas", 0) == 0
    assert deployment.get("revisionHistoryLimit", 0) == 0
    assert deployment["strategy"]["rollingUpdate"] == {"maxSurge": "1", "maxUnavailable": "25%"}


def test_recreate_deployments_get_no_rolling_update():
    deployment = defaulted(
        apps_pb2.Deployment,
        {
            "metadata": {"name": "w"},
            "spec": {"strategy": {"type": "Recreate"}, "template": {"spec": POD_SPEC}},
        },
    )
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_replica_set_defaults():
    rs = defaulted(
        apps_pb2.ReplicaSet, {"metadata": {"name": "w"}, "spec": {"template": {"spec": POD_SPEC}}}
    )
    assert rs["spec"]["replicas"] == 1
    assert rs["spec"]["template"]["spec"]["restartPolicy"] == "Always"


def test_service_defaults():
    service = defaulted(
        core_pb2.Service,
        {
            "metadata": {"name": "web"},
            "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]},
        },
    )["spec"]
    assert service["type"] == "ClusterIP"
    assert service["sessionAffinity"] == "None"
    assert "externalTrafficPolicy" not in service
    assert service["ports"] == [
        {"port": 80, "protocol": "TCP", "targetPort": "80"},
        {"port": 53, "protocol": "UDP", "targetPort": "dns"},
    ]


def test_client_ip_affinity_lasts_three_hours_unless_told_otherwise():
    sticky: dict[str, Any] = {"metadata": {"name": "web"}, "spec": {"sessionAffinity": "ClientIP"}}
    service = defaulted(core_pb2.Service, sticky)["spec"]
    assert service["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    sticky["spec"]["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 60}}
    service = defaulted(core_pb2.Service, sticky)["spec"]
    assert service["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 60}}


def test_node_port_services_default_external_traffic_policy_to_cluster():
    service = defaulted(
        core_pb2.Service, {"metadata": {"name": "web"}, "spec": {"type": "NodePort"}}
    )
    assert service["spec"]["externalTrafficPolicy"] == "Cluster"


def test_secret_string_data_is_merged_into_data_and_dropped():
    secret = core_pb2.Secret(data={"a": b"old", "b": b"kept"}, string_data={"a": "new", "c": "é"})
    apply_defaults(secret)
    assert dict(secret.data) == {"a": b"new", "b": b"kept", "c": "é".encode()}
    assert not secret.string_data
    assert secret.type == "Opaque"


def test_secret_type_is_kept():
    secret = core_pb2.Secret(type="kubernetes.io/tls")
    apply_defaults(secret)
    assert secret.type == "kubernetes.io/tls"


def test_hpa_defaults_min_replicas_and_cpu_metric_and_leaves_behavior_unset():
    hpa = defaulted(
        autoscaling_pb2.HorizontalPodAutoscaler,
        {"metadata": {"name": "web"}, "spec": {"maxReplicas": 5}},
    )["spec"]
    assert hpa["minReplicas"] == 1
    assert hpa["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80},
            },
        }
    ]
    assert "behavior" not in hpa


def test_hpa_given_behavior_is_completed_with_kubernetes_defaults():
    hpa = defaulted(
        autoscaling_pb2.HorizontalPodAutoscaler,
        {
            "metadata": {"name": "web"},
            "spec": {
                "maxReplicas": 5,
                "behavior": {"scaleDown": {"selectPolicy": "Min", "stabilizationWindowSeconds": 0}},
            },
        },
    )["spec"]
    assert hpa["behavior"]["scaleUp"] == {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    }
    assert hpa["behavior"]["scaleDown"] == {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Min",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }


def test_hpa_scale_down_window_defaults_to_five_minutes():
    hpa = autoscaling_pb2.HorizontalPodAutoscaler()
    hpa.spec.behavior.scale_up.select_policy = "Disabled"
    apply_defaults(hpa)
    assert hpa.spec.behavior.scale_down.stabilization_window_seconds == 300
    assert hpa.spec.behavior.scale_up.select_policy == "Disabled"


def test_namespace_phase_defaults_to_active():
    namespace = defaulted(core_pb2.Namespace, {"metadata": {"name": "team"}})
    assert namespace["status"]["phase"] == "Active"


def test_event_defaults():
    event = defaulted(core_pb2.Event, {"metadata": {"name": "e"}})
    assert (event["count"], event["type"]) == (1, "Normal")
    warning = defaulted(core_pb2.Event, {"metadata": {"name": "e"}, "type": "Warning", "count": 4})
    assert (warning["count"], warning["type"]) == (4, "Warning")


def test_node_allocatable_defaults_to_capacity():
    node = defaulted(
        core_pb2.Node, {"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "2"}}}
    )
    assert node["status"]["allocatable"] == {"cpu": "2"}
    given = defaulted(
        core_pb2.Node,
        {
            "metadata": {"name": "n"},
            "status": {"capacity": {"cpu": "2"}, "allocatable": {"cpu": "1"}},
        },
    )
    assert given["status"]["allocatable"] == {"cpu": "1"}


@pytest.mark.parametrize(
    ("message_type", "manifest"),
    [
        (coordination_pb2.Lease, {"metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}}),
        (
            networking_pb2.Ingress,
            {"metadata": {"name": "i"}, "spec": {"rules": [{"http": {"paths": [{"path": "/"}]}}]}},
        ),
        (core_pb2.ConfigMap, {"metadata": {"name": "c"}, "data": {"a": "b"}}),
    ],
)
def test_kinds_without_defaults_only_get_a_namespace(message_type, manifest):
    result = defaulted(message_type, manifest)
    manifest = {**manifest, "metadata": {**manifest["metadata"], "namespace": "default"}}
    assert result == manifest


@pytest.mark.parametrize(
    ("message_type", "manifest"),
    [
        (
            core_pb2.Pod,
            {
                "metadata": {"name": "a"},
                "spec": {
                    "containers": [{**CONTAINER, "livenessProbe": {"httpGet": {"port": "80"}}}],
                    "volumes": [{"name": "v"}],
                },
            },
        ),
        (
            apps_pb2.Deployment,
            {"metadata": {"name": "a"}, "spec": {"template": {"spec": POD_SPEC}}},
        ),
        (core_pb2.Service, {"metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}}),
        (core_pb2.Secret, {"metadata": {"name": "a"}, "stringData": {"k": "v"}}),
        (
            autoscaling_pb2.HorizontalPodAutoscaler,
            {"metadata": {"name": "a"}, "spec": {"behavior": {}}},
        ),
    ],
)
def test_defaulting_twice_changes_nothing(message_type, manifest):
    once = json_format.ParseDict(manifest, message_type())
    apply_defaults(once)
    twice = message_type()
    twice.CopyFrom(once)
    apply_defaults(twice)
    assert twice == once
