"""The nftables ruleset that makes Services carry traffic: a pure function of the
Services and their EndpointSlices, after kube-proxy's nftables mode.

One table per cluster (`ip corral-<cluster>`), replaced whole in one `nft -f`
transaction. Lookups go through maps keyed by address . protocol . port, so a packet's
cost does not grow with the number of Services:

- `service-ips`: cluster IP . protocol . port → the Service port's chain;
- `node-ports`: protocol . port → the same chain, for packets to a local address;
- `no-endpoints`: Service ports with no ready endpoint, rejected at once (TCP reset,
  ICMP port unreachable) rather than left to time out.

A Service port's chain picks one ready endpoint at random (`numgen random`), or the one
a client was sent to before when sessionAffinity is ClientIP (a per-endpoint set of
client addresses with the affinity timeout). The endpoint's chain DNATs to the pod's
address and port. Connections that would come back on the same path (a pod calling its
own Service: hairpin; NodePort traffic) are marked and masqueraded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from corral.api import discovery
from corral.api.v1 import core_pb2, discovery_pb2

MASQUERADE_MARK = 0x4000


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, with its ready endpoints: all the rules need."""

    namespace: str
    service: str
    port_name: str
    protocol: str  # "tcp" or "udp"
    cluster_ip: str
    port: int
    node_port: int
    affinity_seconds: int  # 0: no session affinity
    endpoints: tuple[Endpoint, ...]

    @property
    def chain(self) -> str:
        return _chain_name("svc", self.namespace, self.service, self.port_name or str(self.port),
                           self.protocol)


def service_ports(services: Iterable[core_pb2.Service],
                  endpoint_slices: Iterable[discovery_pb2.EndpointSlice]) -> list[ServicePort]:
    """Every proxied Service port (Services with a cluster IP), with the ready endpoints
    the EndpointSlices list for it, sorted so the same state renders the same text."""
    ready: dict[tuple[str, str, str, str], set[Endpoint]] = {}
    for endpoint_slice in endpoint_slices:
        owner = endpoint_slice.metadata.labels.get(discovery.SERVICE_NAME_LABEL)
        if owner is None or endpoint_slice.address_type != "IPv4":
            continue
        for served in endpoint_slice.ports:
            key = (endpoint_slice.metadata.namespace, owner, served.name,
                   (served.protocol or "TCP").lower())
            bucket = ready.setdefault(key, set())
            for endpoint in endpoint_slice.endpoints:
                if endpoint.conditions.ready:
                    bucket.update(Endpoint(address, served.port)
                                  for address in endpoint.addresses)
    result = []
    for service in services:
        spec, meta = service.spec, service.metadata
        if not spec.cluster_ip or spec.cluster_ip == "None" or spec.type == "ExternalName":
            continue
        affinity = (spec.session_affinity_config.client_ip.timeout_seconds or 10800
                    if spec.session_affinity == "ClientIP" else 0)
        for port in spec.ports:
            protocol = (port.protocol or "TCP").lower()
            if protocol not in ("tcp", "udp"):
                continue
            endpoints = ready.get((meta.namespace, meta.name, port.name, protocol), set())
            result.append(ServicePort(
                meta.namespace, meta.name, port.name, protocol, spec.cluster_ip, port.port,
                port.node_port, affinity,
                tuple(sorted(endpoints, key=lambda e: (_ip_key(e.ip), e.port)))))
    return sorted(result, key=lambda p: (p.namespace, p.service, p.port, p.protocol))


def table_name(cluster: str) -> str:
    return f"corral-{cluster}"


# Chain priorities as numbers (nft 1.0.6 takes the names dstnat/srcnat/filter only on
# some hooks): DNAT at -100 and SNAT at 100 as iptables' nat table; the rejects at -1,
# just before the filter tables of Docker and the host.
def render(cluster: str, ports: Sequence[ServicePort]) -> str:
    """The `nft -f` input that replaces the cluster's table with these rules, atomically
    (the table is created empty, deleted and defined again in one transaction)."""
    table = table_name(cluster)
    lines = [
        f"add table ip {table}",
        f"delete table ip {table}",
        f"table ip {table} {{",
        *_maps(ports),
        "",
        "\tchain services {",
        "\t\tip daddr . meta l4proto . th dport vmap @service-ips",
        "\t\tfib daddr type local meta l4proto . th dport vmap @node-ports",
        "\t}",
        "",
        "\tchain prerouting {",
        "\t\ttype nat hook prerouting priority -100; policy accept;",
        "\t\tjump services",
        "\t}",
        "",
        "\tchain output {",
        "\t\ttype nat hook output priority -100; policy accept;",
        "\t\tjump services",
        "\t}",
        "",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority 100; policy accept;",
        f"\t\tmeta mark & {MASQUERADE_MARK:#x} == {MASQUERADE_MARK:#x} masquerade",
        "\t}",
        "",
        "\tchain reject-no-endpoints {",
        "\t\ttype filter hook input priority -1; policy accept;",
        *_REJECT,
        "\t}",
        "",
        "\tchain forward-no-endpoints {",
        "\t\ttype filter hook forward priority -1; policy accept;",
        *_REJECT,
        "\t}",
        "",
        "\tchain output-no-endpoints {",
        "\t\ttype filter hook output priority -1; policy accept;",
        *_REJECT,
        "\t}",
    ]
    for port in ports:
        if port.endpoints:
            lines += ["", *_service_chain(port)]
            for index, endpoint in enumerate(port.endpoints):
                lines += ["", *_endpoint_chain(port, index, endpoint)]
    lines.append("}")
    return "\n".join(lines) + "\n"


# A Service port without a ready endpoint refuses at once: TCP gets a reset, UDP an ICMP
# port unreachable (never a silent drop that makes clients wait for a timeout).
_REJECT = [
    "\t\tip daddr . meta l4proto . th dport @no-endpoints meta l4proto tcp reject with tcp reset",
    "\t\tip daddr . meta l4proto . th dport @no-endpoints"
    " reject with icmp type port-unreachable",
]


def _maps(ports: Sequence[ServicePort]) -> list[str]:
    served = [p for p in ports if p.endpoints]
    empty = [p for p in ports if not p.endpoints]
    lines = [
        "\tmap service-ips {",
        "\t\ttype ipv4_addr . inet_proto . inet_service : verdict",
        *_elements(f"{p.cluster_ip} . {p.protocol} . {p.port} : goto {p.chain}" for p in served),
        "\t}",
        "",
        "\tmap node-ports {",
        "\t\ttype inet_proto . inet_service : verdict",
        *_elements(f"{p.protocol} . {p.node_port} : goto {_node_port_chain(p)}"
                   for p in served if p.node_port),
        "\t}",
        "",
        "\tset no-endpoints {",
        "\t\ttype ipv4_addr . inet_proto . inet_service",
        *_elements(f"{p.cluster_ip} . {p.protocol} . {p.port}" for p in empty),
        "\t}",
    ]
    for port in served:
        if port.affinity_seconds:
            for index, _ in enumerate(port.endpoints):
                lines += ["", f"\tset {_affinity_set(port, index)} {{",
                          "\t\ttype ipv4_addr",
                          "\t\tflags dynamic,timeout",
                          f"\t\ttimeout {port.affinity_seconds}s",
                          "\t}"]
    return lines


def _elements(items: Iterable[str]) -> list[str]:
    listed = list(items)
    if not listed:
        return []
    return ["\t\telements = {", *(f"\t\t\t{item}," for item in listed), "\t\t}"]


def _service_chain(port: ServicePort) -> list[str]:
    lines = [f"\tchain {port.chain} {{"]
    if port.affinity_seconds:
        for index, _ in enumerate(port.endpoints):
            lines.append(f"\t\tip saddr @{_affinity_set(port, index)} goto "
                         f"{_endpoint_chain_name(port, index)}")
    count = len(port.endpoints)
    if count == 1:
        lines.append(f"\t\tgoto {_endpoint_chain_name(port, 0)}")
    else:
        choices = ", ".join(f"{i} : goto {_endpoint_chain_name(port, i)}" for i in range(count))
        lines.append(f"\t\tnumgen random mod {count} vmap {{ {choices} }}")
    lines.append("\t}")
    if port.node_port:
        lines += ["", f"\tchain {_node_port_chain(port)} {{",
                  f"\t\tmeta mark set meta mark | {MASQUERADE_MARK:#x}",
                  f"\t\tgoto {port.chain}",
                  "\t}"]
    return lines


def _endpoint_chain(port: ServicePort, index: int, endpoint: Endpoint) -> list[str]:
    lines = [f"\tchain {_endpoint_chain_name(port, index)} {{",
             # Hairpin: a pod reaching itself through its Service must see the reply come
             # back through the DNAT, so the connection is masqueraded.
             f"\t\tip saddr {endpoint.ip} meta mark set meta mark | {MASQUERADE_MARK:#x}"]
    if port.affinity_seconds:
        lines.append(f"\t\tupdate @{_affinity_set(port, index)} {{ ip saddr }}")
    lines += [f"\t\tmeta l4proto {port.protocol} dnat to {endpoint.ip}:{endpoint.port}", "\t}"]
    return lines


def _endpoint_chain_name(port: ServicePort, index: int) -> str:
    return _chain_name("ep", port.namespace, port.service, port.port_name or str(port.port),
                       port.protocol, str(index))


def _node_port_chain(port: ServicePort) -> str:
    return _chain_name("np", port.namespace, port.service, port.port_name or str(port.port),
                       port.protocol)


def _affinity_set(port: ServicePort, index: int) -> str:
    return _chain_name("aff", port.namespace, port.service, port.port_name or str(port.port),
                       port.protocol, str(index))


def _chain_name(prefix: str, *parts: str) -> str:
    """A readable, unique nftables name: the parts joined, cut to fit (names are at most
    255 bytes; a hash keeps cut names distinct)."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", "-".join(parts))
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()[:8]
    return f"{prefix}-{readable[:80]}-{digest}"


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(part) for part in ip.split("."))
