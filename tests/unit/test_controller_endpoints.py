"""Which EndpointSlices a Service should have (controller/endpoints.py), without a cluster."""

from __future__ import annotations

from collections.abc import Iterable

from controller.endpoints import desired_slices, differs
from corral.api.discovery import MANAGED_BY_CONTROLLER, MANAGED_BY_LABEL, SERVICE_NAME_LABEL
from corral.api.v1 import core_pb2, discovery_pb2


def service(target_port: str = "8080", *, name: str = "web") -> core_pb2.Service:
    svc = core_pb2.Service()
    svc.metadata.name, svc.metadata.namespace, svc.metadata.uid = name, "shop", "svc-uid"
    svc.spec.selector["app"] = "web"
    svc.spec.ports.add(name="http", port=80, target_port=target_port, protocol="TCP")
    return svc


def pod(name: str, ip: str = "", *, ready: bool = True, deleting: bool = False,
        app: str = "web", http_port: int = 0, phase: str = "Running",
        node: str = "node-1") -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name, p.metadata.namespace, p.metadata.uid = name, "shop", f"uid-{name}"
    p.metadata.labels["app"] = app
    p.spec.node_name = node
    container = p.spec.containers.add(name="app", image="web")
    if http_port:
        container.ports.add(name="http", container_port=http_port, protocol="TCP")
    p.status.phase, p.status.pod_ip = phase, ip
    p.status.conditions.add(type="Ready", status="True" if ready else "False")
    if deleting:
        p.metadata.deletion_timestamp.FromSeconds(1)
    return p


def conditions(endpoints: Iterable[discovery_pb2.Endpoint]) -> list[tuple[str, bool, bool, bool]]:
    return [(e.target_ref.name, e.conditions.ready, e.conditions.serving, e.conditions.terminating)
            for e in endpoints]


def test_ready_not_ready_and_terminating_pods_are_told_apart() -> None:
    pods = [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False),
            pod("c", "10.0.0.3", deleting=True)]
    [only] = desired_slices(service(), pods, {"node-1": "zone-a"})
    assert conditions(only.endpoints) == [
        ("a", True, True, False), ("b", False, False, False), ("c", False, True, True)]
    assert only.endpoints[0].zone == "zone-a" and only.endpoints[0].node_name == "node-1"
    assert [(p.name, p.protocol, p.port) for p in only.ports] == [("http", "TCP", 8080)]
    assert only.metadata.labels[SERVICE_NAME_LABEL] == "web"
    assert only.metadata.labels[MANAGED_BY_LABEL] == MANAGED_BY_CONTROLLER
    assert only.metadata.owner_references[0].uid == "svc-uid"


def test_pods_without_an_ip_finished_or_not_selected_are_no_endpoints() -> None:
    pods = [pod("pending"), pod("done", "10.0.0.4", phase="Succeeded"),
            pod("other", "10.0.0.5", app="api")]
    [empty] = desired_slices(service(), pods, {})
    assert list(empty.endpoints) == [] and [p.port for p in empty.ports] == [8080]


def test_a_named_target_port_is_resolved_per_pod_and_splits_the_slices() -> None:
    pods = [pod("a", "10.0.0.1", http_port=8080), pod("b", "10.0.0.2", http_port=9090),
            pod("c", "10.0.0.3")]  # c has no port named http: it serves no port
    slices = desired_slices(service("http"), pods, {})
    by_port = {tuple(p.port for p in s.ports): [e.target_ref.name for e in s.endpoints]
               for s in slices}
    assert by_port == {(8080,): ["a"], (9090,): ["b"], (): ["c"]}


def test_slices_split_at_one_hundred_endpoints_with_stable_names() -> None:
    pods = [pod(f"p{i:03}", f"10.0.{i // 250}.{i % 250 + 1}") for i in range(250)]
    slices = desired_slices(service(), pods, {})
    assert [len(s.endpoints) for s in slices] == [100, 100, 50]
    names = [s.metadata.name for s in slices]
    assert names == [s.metadata.name for s in desired_slices(service(), reversed(pods), {})]
    assert len(set(names)) == 3 and all(n.startswith("web-") for n in names)


def test_only_a_change_that_matters_makes_a_slice_differ() -> None:
    [before] = desired_slices(service(), [pod("a", "10.0.0.1")], {})
    [same] = desired_slices(service(), [pod("a", "10.0.0.1")], {})
    same.metadata.resource_version = "42"  # server-set metadata is not a difference
    assert not differs(same, before)
    [after] = desired_slices(service(), [pod("a", "10.0.0.1", ready=False)], {})
    assert differs(before, after)
