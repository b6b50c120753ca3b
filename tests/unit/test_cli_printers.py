"""Tables and ages as `corral get` prints them (corral.printers)."""

from __future__ import annotations

import pytest

from corral.api import kinds
from corral.api.v1 import apps_pb2, core_pb2
from corral.cli.manifest import to_object
from corral.cli.printers import (
    Table,
    headers,
    hpa_targets,
    human_duration,
    object_name,
    pod_status,
    row,
    table_lines,
)

NOW = 1_700_000_000.0


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (-5, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (312, "5m12s"),
    (599, "9m59s"), (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 240, "3h4m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (50 * 3600, "2d2h"),
    (8 * 86400, "8d"), (400 * 86400, "400d"), (800 * 86400, "2y70d"), (3650 * 86400, "10y"),
])
def test_human_duration_matches_kubectl_ages(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def _pod(name: str = "web", created: float = NOW - 312, **status: object) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = "shop"
    pod.metadata.creation_timestamp.FromSeconds(int(created))
    pod.spec.containers.add(name="web")
    pod.spec.containers.add(name="log")
    pod.spec.node_name = "node-1"
    pod.status.phase = "Running"
    pod.status.pod_ip = "10.0.0.7"
    pod.status.container_statuses.add(name="web", ready=True, restart_count=2)
    pod.status.container_statuses.add(name="log", ready=False, restart_count=1)
    return pod


def test_pod_table_has_kubectl_columns_and_values() -> None:
    lines = table_lines([_pod()], kinds.by_name("Pod"), NOW)
    assert lines == [
        "NAME   READY   STATUS    RESTARTS   AGE",
        "web    1/2     Running   3          5m12s",
    ]


def test_wide_pod_table_adds_ip_and_node_and_all_namespaces_adds_namespace() -> None:
    lines = table_lines([_pod()], kinds.by_name("Pod"), NOW, wide=True, namespace=True)
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP",
                                "NODE", "NOMINATED", "NODE"]
    assert lines[1].split() == ["shop", "web", "1/2", "Running", "3", "5m12s", "10.0.0.7",
                                "node-1", "<none>"]


def test_show_labels_adds_sorted_labels_column() -> None:
    pod = _pod()
    pod.metadata.labels.update({"tier": "web", "app": "shop"})
    assert row(pod, NOW, labels=True)[-1] == "app=shop,tier=web"
    assert headers(kinds.by_name("Pod"), labels=True)[-1] == "LABELS"


def test_columns_are_as_wide_as_their_widest_cell_and_keep_that_width() -> None:
    table = Table(["NAME", "AGE"])
    first = table.render([["a-long-name", "1s"]])
    later = table.render([["b", "2s"]], header=False)
    assert first == ["NAME          AGE", "a-long-name   1s"]
    assert later == ["b             2s"]


def test_pod_status_prefers_terminating_then_container_reasons() -> None:
    pod = _pod()
    pod.status.container_statuses[1].state.waiting.reason = "CrashLoopBackOff"
    assert pod_status(pod) == "CrashLoopBackOff"
    pod.metadata.deletion_timestamp.FromSeconds(int(NOW))
    assert pod_status(pod) == "Terminating"


def test_deployment_row() -> None:
    deploy = apps_pb2.Deployment()
    deploy.metadata.name = "web"
    deploy.metadata.creation_timestamp.FromSeconds(int(NOW - 90))
    deploy.spec.replicas = 3
    deploy.status.ready_replicas = 2
    deploy.status.updated_replicas = 3
    deploy.status.available_replicas = 2
    assert row(deploy, NOW) == ["web", "2/3", "3", "2", "90s"]


def test_node_row_shows_readiness_roles_and_version() -> None:
    node = core_pb2.Node()
    node.metadata.name = "n1"
    node.metadata.labels["node-role.kubernetes.io/control-plane"] = ""
    node.status.conditions.add(type="Ready", status="True")
    node.spec.unschedulable = True
    node.status.node_info.kubelet_version = "corral-0.1"
    assert row(node, NOW) == ["n1", "Ready,SchedulingDisabled", "control-plane", "<unknown>",
                              "corral-0.1"]


def test_service_ports_show_node_ports() -> None:
    service, _ = to_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                            "spec": {"type": "NodePort", "clusterIP": "10.96.0.9", "ports": [
                                {"port": 80, "nodePort": 30080}, {"port": 53, "protocol": "UDP"}]}})
    assert row(service, NOW)[1:5] == ["NodePort", "10.96.0.9", "<none>", "80:30080/TCP,53/UDP"]


def test_endpoint_slice_row_shows_ports_and_the_first_three_addresses() -> None:
    endpoint_slice, _ = to_object({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abc12"}, "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}],
        "endpoints": [{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)]})
    assert row(endpoint_slice, NOW)[:4] == [
        "web-abc12", "IPv4", "8080,9090", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..."]


def test_hpa_targets_pair_current_and_target_per_metric() -> None:
    hpa, _ = to_object({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5,
                 "metrics": [
                     {"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 50}}},
                     {"type": "Resource", "resource": {"name": "memory", "target": {
                         "type": "AverageValue", "averageValue": "500Mi"}}}]},
        "status": {"currentMetrics": [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": 82}}}]},
    })
    assert hpa_targets(hpa) == "82%/50%, <unknown>/500Mi"
    assert row(hpa, NOW)[:6] == ["web", "Deployment/web", "82%/50%, <unknown>/500Mi", "1", "5",
                                 "0"]


def test_event_row_names_the_object() -> None:
    event = core_pb2.Event(reason="Scheduled", message="assigned to n1", type="Normal")
    event.involved_object.kind = "Pod"
    event.involved_object.name = "web"
    event.last_timestamp.FromSeconds(int(NOW - 30))
    assert row(event, NOW) == ["30s", "Normal", "Scheduled", "pod/web", "assigned to n1"]


def test_object_names_carry_the_api_group() -> None:
    deploy = apps_pb2.Deployment()
    deploy.metadata.name = "web"
    assert object_name(deploy) == "deployment.apps/web"
    assert object_name(_pod()) == "pod/web"


def test_every_kind_has_a_table_whose_rows_match_its_headers() -> None:
    for kind in kinds.KINDS:
        obj = kind.message()
        obj.metadata.name = "x"
        for wide in (False, True):
            assert len(row(obj, NOW, wide=wide, namespace=True, labels=True)) == len(
                headers(kind, wide=wide, namespace=True, labels=True)), kind.name
