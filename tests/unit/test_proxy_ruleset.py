"""The nftables ruleset for a table of Services (proxy/ruleset.py): golden text, and the
kernel's own check of it (`nft -c`, in a network namespace of its own: nothing applied)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from corral.api.v1 import core_pb2, discovery_pb2
from proxy.ruleset import Endpoint, render, service_ports

GOLDEN = Path(__file__).parent / "golden" / "proxy-ruleset.nft"


def service(name: str, cluster_ip: str, *ports: tuple[str, int, str, int],
            affinity: int = 0, type_: str = "ClusterIP") -> core_pb2.Service:
    svc = core_pb2.Service()
    svc.metadata.name, svc.metadata.namespace = name, "shop"
    svc.spec.cluster_ip, svc.spec.type = cluster_ip, type_
    for port_name, port, protocol, node_port in ports:
        svc.spec.ports.add(name=port_name, port=port, protocol=protocol, node_port=node_port)
    if affinity:
        svc.spec.session_affinity = "ClientIP"
        svc.spec.session_affinity_config.client_ip.timeout_seconds = affinity
    return svc


def endpoints(name: str, ports: list[tuple[str, int, str]],
              *addresses: tuple[str, bool]) -> discovery_pb2.EndpointSlice:
    endpoint_slice = discovery_pb2.EndpointSlice(address_type="IPv4")
    endpoint_slice.metadata.namespace = "shop"
    endpoint_slice.metadata.labels["kubernetes.io/service-name"] = name
    for port_name, port, protocol in ports:
        endpoint_slice.ports.add(name=port_name, port=port, protocol=protocol)
    for address, ready in addresses:
        endpoint_slice.endpoints.add(addresses=[address]).conditions.ready = ready
    return endpoint_slice


SERVICES = [
    service("web", "10.96.0.10", ("http", 80, "TCP", 0), ("metrics", 9090, "TCP", 0)),
    service("shop", "10.96.0.11", ("", 80, "TCP", 30080), type_="NodePort"),
    service("cart", "10.96.0.12", ("", 80, "TCP", 0), affinity=600),
    service("dns", "10.96.0.13", ("dns", 53, "UDP", 0)),
    service("empty", "10.96.0.14", ("", 80, "TCP", 0)),
    service("db", "None", ("", 5432, "TCP", 0)),  # headless: nothing to proxy
]
SLICES = [
    endpoints("web", [("http", 8080, "TCP"), ("metrics", 9100, "TCP")],
              ("10.1.0.2", True), ("10.1.0.1", True), ("10.1.0.3", False)),
    endpoints("shop", [("", 8080, "TCP")], ("10.1.0.4", True)),
    endpoints("cart", [("", 8080, "TCP")], ("10.1.0.5", True), ("10.1.0.6", True)),
    endpoints("dns", [("dns", 5353, "UDP")], ("10.1.0.7", True)),
    endpoints("empty", [("", 8080, "TCP")], ("10.1.0.8", False)),
]


def test_service_ports_carry_only_ready_endpoints_with_their_target_ports() -> None:
    ports = {(p.service, p.port_name): p for p in service_ports(SERVICES, SLICES)}
    assert ports[("web", "http")].endpoints == (Endpoint("10.1.0.1", 8080),
                                                Endpoint("10.1.0.2", 8080))
    assert ports[("web", "metrics")].endpoints[0] == Endpoint("10.1.0.1", 9100)
    assert ports[("empty", "")].endpoints == ()
    assert ports[("cart", "")].affinity_seconds == 600
    assert ("db", "") not in ports


def test_the_ruleset_matches_its_golden_file() -> None:
    text = render("test", service_ports(SERVICES, SLICES))
    if os.environ.get("CORRAL_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "set CORRAL_UPDATE_GOLDEN=1 to rewrite, then review"


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("nft") is None or shutil.which("unshare") is None
                    or os.geteuid() != 0, reason="needs nft, unshare and root")
def test_the_kernel_accepts_the_ruleset(tmp_path: Path) -> None:
    ruleset = tmp_path / "ruleset.nft"
    ruleset.write_text(render("test", service_ports(SERVICES, SLICES)))
    # A network namespace of its own: the host's rules are never touched, even by a check.
    checked = subprocess.run(["unshare", "--net", "nft", "-c", "-f", str(ruleset)],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
