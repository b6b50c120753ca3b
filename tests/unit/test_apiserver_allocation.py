"""Which cluster IPs and node ports a Service gets (apiserver/allocation.py), without etcd."""

from __future__ import annotations

import random

import pytest

from apiserver.allocation import (
    InvalidRange,
    Ranges,
    check_requested_ip,
    claims_of,
    ip_claim,
    keep_allocations,
    node_port_claim,
    pick_ip,
    pick_node_port,
    refuse_sctp,
)
from corral.api import errors
from corral.api.v1 import core_pb2

RANGES = Ranges.parse("10.96.0.0/29", "30000-30002")


def service(cluster_ip: str = "", type_: str = "ClusterIP", *ports: tuple[int, int, str]
            ) -> core_pb2.Service:
    svc = core_pb2.Service()
    svc.metadata.name, svc.metadata.namespace = "web", "shop"
    svc.spec.type, svc.spec.cluster_ip = type_, cluster_ip
    for port, node_port, protocol in ports:
        svc.spec.ports.add(port=port, node_port=node_port, protocol=protocol)
    return svc


def test_picked_addresses_skip_the_network_and_broadcast_addresses_and_taken_ones() -> None:
    rng = random.Random(1)
    taken: set[str] = set()
    for _ in range(RANGES.usable_ips):
        taken.add(pick_ip(RANGES, taken, rng))
    assert taken == {f"10.96.0.{i}" for i in range(1, 7)}
    with pytest.raises(errors.Invalid, match=r"no free cluster IP is left in 10\.96\.0\.0/29"):
        pick_ip(RANGES, taken, rng)


def test_a_requested_address_must_be_a_handed_out_address_of_the_range() -> None:
    assert check_requested_ip("10.96.0.5", RANGES) == "10.96.0.5"
    for bad, why in [("10.97.0.1", "not in the service cluster IP range 10.96.0.0/29"),
                     ("10.96.0.0", "not in the service"), ("10.96.0.7", "not in the service"),
                     ("web", "not an IP address")]:
        with pytest.raises(errors.Invalid, match=why) as caught:
            check_requested_ip(bad, RANGES)
        assert caught.value.field == "spec.clusterIP"


def test_node_ports_come_from_the_range_until_it_is_full() -> None:
    rng = random.Random(2)
    taken: set[int] = set()
    for _ in range(3):
        taken.add(pick_node_port(RANGES, taken, rng, "spec.ports[0].nodePort"))
    assert taken == {30000, 30001, 30002}
    with pytest.raises(errors.Invalid, match="no free node port is left in 30000-30002"):
        pick_node_port(RANGES, taken, rng, "spec.ports[0].nodePort")


def test_a_service_holds_its_address_and_node_ports_but_a_headless_one_no_address() -> None:
    svc = service("10.96.0.3", "NodePort", (80, 30001, "TCP"), (53, 30001, "UDP"))
    assert claims_of(svc) == {ip_claim("10.96.0.3"), node_port_claim("TCP", 30001),
                              node_port_claim("UDP", 30001)}
    assert claims_of(service("None")) == set()


def test_an_update_without_addresses_keeps_the_stored_ones() -> None:
    old = service("10.96.0.3", "NodePort", (80, 30001, "TCP"))
    old.spec.cluster_ips.append("10.96.0.3")
    new = service("", "NodePort", (80, 0, "TCP"), (443, 0, "TCP"))
    keep_allocations(old, new)
    assert (new.spec.cluster_ip, list(new.spec.cluster_ips)) == ("10.96.0.3", ["10.96.0.3"])
    assert [p.node_port for p in new.spec.ports] == [30001, 0]


def test_sctp_is_refused_naming_the_port() -> None:
    with pytest.raises(errors.Invalid, match="SCTP is not supported") as caught:
        refuse_sctp(service("", "ClusterIP", (80, 0, "TCP"), (9, 0, "SCTP")))
    assert caught.value.field == "spec.ports[1].protocol"


@pytest.mark.parametrize(("ips", "ports", "message"), [
    ("10.96.0.0/30", "30000-32767", "too small"),
    ("10.96.0.1/16", "30000-32767", "has host bits set"),
    ("10.96.0.0/16", "32767-30000", "the first no larger than the last"),
    ("10.96.0.0/16", "30000", "expected FIRST-LAST"),
])
def test_unusable_ranges_are_refused_with_the_flag_named(ips: str, ports: str,
                                                          message: str) -> None:
    with pytest.raises(InvalidRange, match=message):
        Ranges.parse(ips, ports)
