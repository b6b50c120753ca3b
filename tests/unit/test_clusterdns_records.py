"""The cluster domain's answers (clusterdns/records.py), without a server."""

from __future__ import annotations

from clusterdns.records import CNAME, SRV, A, ClusterRecords
from corral.api.v1 import core_pb2, discovery_pb2


def service(name: str, cluster_ip: str = "10.96.0.10", **spec: str) -> core_pb2.Service:
    svc = core_pb2.Service()
    svc.metadata.name, svc.metadata.namespace = name, "shop"
    svc.spec.cluster_ip = cluster_ip
    svc.spec.ports.add(name="http", port=80, protocol="TCP")
    for key, value in spec.items():
        setattr(svc.spec, key, value)
    return svc


def endpoints(service_name: str, *addresses: tuple[str, bool]) -> discovery_pb2.EndpointSlice:
    endpoint_slice = discovery_pb2.EndpointSlice(address_type="IPv4")
    endpoint_slice.metadata.namespace = "shop"
    endpoint_slice.metadata.labels["kubernetes.io/service-name"] = service_name
    for address, ready in addresses:
        endpoint_slice.endpoints.add(addresses=[address]).conditions.ready = ready
    return endpoint_slice


RECORDS = ClusterRecords.build(
    "cluster.local",
    [service("web"), service("db", "None"),
     service("search", "", type="ExternalName", external_name="search.example")],
    [endpoints("db", ("10.1.0.2", True), ("10.1.0.1", True), ("10.1.0.3", False))],
)


def data(name: str, qtype: str) -> list[str]:
    answer = RECORDS.answer(name, qtype)
    assert answer is not None and answer.exists
    return [r.data for r in answer.records]


def test_a_service_name_is_its_cluster_ip_and_a_headless_one_its_ready_pods() -> None:
    assert data("web.shop.svc.cluster.local.", A) == ["10.96.0.10"]
    assert data("WEB.shop.svc.cluster.local", A) == ["10.96.0.10"]  # names are case-blind
    assert data("db.shop.svc.cluster.local.", A) == ["10.1.0.1", "10.1.0.2"]


def test_named_ports_have_srv_records_and_external_names_a_cname() -> None:
    assert data("_http._tcp.web.shop.svc.cluster.local.", SRV) == [
        "0 100 80 web.shop.svc.cluster.local."]
    answer = RECORDS.answer("search.shop.svc.cluster.local.", A)
    assert answer is not None
    assert [(r.type, r.data) for r in answer.records] == [(CNAME, "search.example.")]


def test_pod_names_spell_their_address() -> None:
    assert data("10-1-0-7.shop.pod.cluster.local.", A) == ["10.1.0.7"]


def test_unknown_cluster_names_do_not_exist_and_other_names_are_not_ours() -> None:
    missing = RECORDS.answer("nope.shop.svc.cluster.local.", A)
    assert missing is not None and not missing.exists
    assert RECORDS.answer("example.com.", A) is None
    # A name that exists without records of the asked type: an empty answer, not NXDOMAIN.
    empty = RECORDS.answer("web.shop.svc.cluster.local.", "AAAA")
    assert empty is not None and empty.exists and empty.records == ()
