"""What a Service holds exclusively: its cluster IP and its node ports.

Each held address or port is a *claim*: one etcd key whose value names the Service that
holds it. Claims are written in the same etcd transaction as the Service itself (created
only if absent, removed with the Service), so two API servers, concurrent creates and
restarts can never hand one address out twice, and a deleted Service's address is free
again at once. The functions decide what to claim; `Allocator` reads what etcd says is
taken and fills a Service in; apiserver/service.py writes the claims with the Service.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import TypeVar

from apiserver.storage import PREFIX, Storage, prefix_end
from corral.api import errors
from corral.api.v1 import core_pb2

CLAIM_PREFIX = PREFIX + b"claims/"
IP_CLAIMS = CLAIM_PREFIX + b"serviceips/"
NODE_PORT_CLAIMS = CLAIM_PREFIX + b"nodeports/"

DEFAULT_SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
DEFAULT_SERVICE_NODE_PORT_RANGE = "30000-32767"
HEADLESS = "None"
# Types whose ports get node ports (Kubernetes: LoadBalancer builds on NodePort).
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")

T = TypeVar("T")


class InvalidRange(ValueError):
    """A --service-cluster-ip-range or --service-node-port-range that cannot be used."""


@dataclass(frozen=True)
class Ranges:
    """Where cluster IPs and node ports come from."""

    cluster_ips: ipaddress.IPv4Network | ipaddress.IPv6Network
    node_ports: range

    @classmethod
    def parse(cls, cluster_ip_range: str, node_port_range: str) -> Ranges:
        try:
            network = ipaddress.ip_network(cluster_ip_range, strict=True)
        except ValueError as error:
            raise InvalidRange(
                f"--service-cluster-ip-range {cluster_ip_range!r}: {error}") from None
        if network.num_addresses < 8:
            raise InvalidRange(f"--service-cluster-ip-range {cluster_ip_range}: too small "
                               "(at least a /29 for IPv4)")
        low, sep, high = node_port_range.partition("-")
        if not (sep and low.strip().isdigit() and high.strip().isdigit()):
            raise InvalidRange(f"--service-node-port-range {node_port_range!r}: "
                               "expected FIRST-LAST, e.g. 30000-32767")
        first, last = int(low), int(high)
        if not 1 <= first <= last <= 65535:
            raise InvalidRange(f"--service-node-port-range {node_port_range}: "
                               "ports must be 1-65535, the first no larger than the last")
        return cls(network, range(first, last + 1))

    @property
    def usable_ips(self) -> int:
        # The network address and the broadcast address are never handed out.
        return self.cluster_ips.num_addresses - 2


def ip_claim(ip: str) -> bytes:
    return IP_CLAIMS + ip.encode()


def node_port_claim(protocol: str, port: int) -> bytes:
    return NODE_PORT_CLAIMS + f"{protocol or 'TCP'}/{port}".encode()


def holder(namespace: str, name: str) -> bytes:
    """The value of a claim: who holds it."""
    return f"{namespace}/{name}".encode()


def claims_of(service: core_pb2.Service) -> set[bytes]:
    """The claim keys a stored Service holds."""
    keys: set[bytes] = set()
    if service.spec.cluster_ip and service.spec.cluster_ip != HEADLESS:
        keys.add(ip_claim(service.spec.cluster_ip))
    for port in service.spec.ports:
        if port.node_port:
            keys.add(node_port_claim(port.protocol, port.node_port))
    return keys


def check_requested_ip(ip: str, ranges: Ranges) -> str:
    """The normalized form of a requested clusterIP; Invalid when it is not an address of
    the range that may be handed out."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise errors.Invalid(f'"{ip}" is not an IP address (or "None" for a headless service)',
                             field="spec.clusterIP") from None
    network = ranges.cluster_ips
    if address not in network or address in (network.network_address,
                                             network.broadcast_address):
        raise errors.Invalid(f"{ip} is not in the service cluster IP range {network}",
                             field="spec.clusterIP")
    return str(address)


def _pick_free(size: int, nth: Callable[[int], T], taken: Container[T],
               rng: random.Random) -> T | None:
    """A free one of `size` candidates (the nth of each): random first, so concurrent
    creators rarely collide, then the first free one in order from a random start."""
    for _ in range(32):
        candidate = nth(rng.randrange(size))
        if candidate not in taken:
            return candidate
    start = rng.randrange(size)
    for offset in range(size):
        candidate = nth((start + offset) % size)
        if candidate not in taken:
            return candidate
    return None


def pick_ip(ranges: Ranges, taken: Container[str], rng: random.Random) -> str:
    """A free cluster IP (never the network or broadcast address); Invalid when the range
    is full."""
    network = ranges.cluster_ips
    base = int(network.network_address) + 1
    ip = _pick_free(ranges.usable_ips, lambda i: str(ipaddress.ip_address(base + i)), taken, rng)
    if ip is None:
        raise errors.Invalid(f"no free cluster IP is left in {network}", field="spec.clusterIP")
    return ip


def pick_node_port(ranges: Ranges, taken: Container[int], rng: random.Random, field: str) -> int:
    """A free node port of the range; Invalid when it is full."""
    ports = ranges.node_ports
    port = _pick_free(len(ports), ports.__getitem__, taken, rng)
    if port is None:
        raise errors.Invalid(f"no free node port is left in {ports.start}-{ports.stop - 1}",
                             field=field)
    return port


def refuse_sctp(service: core_pb2.Service) -> None:
    """corral's proxy programs TCP and UDP only (nftables could do SCTP; nobody asked)."""
    for i, port in enumerate(service.spec.ports):
        if port.protocol == "SCTP":
            raise errors.Invalid("SCTP is not supported for services: use TCP or UDP",
                                 field=f"spec.ports[{i}].protocol")


def keep_allocations(old: core_pb2.Service, new: core_pb2.Service) -> None:
    """An update that leaves clusterIP or a port's nodePort empty keeps what the stored
    Service holds (as Kubernetes does), so re-applying a manifest changes nothing."""
    if not new.spec.cluster_ip and old.spec.cluster_ip:
        new.spec.cluster_ip = old.spec.cluster_ip
        del new.spec.cluster_ips[:]
        new.spec.cluster_ips.extend(old.spec.cluster_ips)
    if new.spec.type in NODE_PORT_TYPES:
        held = {(p.port, p.protocol or "TCP"): p.node_port for p in old.spec.ports if p.node_port}
        for port in new.spec.ports:
            if not port.node_port:
                port.node_port = held.get((port.port, port.protocol or "TCP"), 0)


Claims = dict[bytes, bytes]


class Allocator:
    """Fills in a Service's cluster IP and node ports from what etcd says is free."""

    def __init__(self, storage: Storage, ranges: Ranges, rng: random.Random | None = None) -> None:
        self.storage = storage
        self.ranges = ranges
        self.rng = rng or random.Random()

    async def _taken(self, prefix: bytes) -> dict[str, bytes]:
        """The claimed names under prefix (an IP, or PROTOCOL/PORT) and their holders."""
        taken: dict[str, bytes] = {}
        start, end = prefix, prefix_end(prefix)
        while True:
            items, more, _ = await self.storage.range(start, end, limit=10_000)
            for item in items:
                taken[item.key[len(prefix):].decode()] = item.value
            if not more or not items:
                return taken
            start = items[-1].key + b"\0"

    async def _holder_of(self, key: bytes) -> str | None:
        stored = await self.storage.get(key)
        return stored.value.decode() if stored is not None else None

    async def allocate(self, service: core_pb2.Service, old: core_pb2.Service | None) -> Claims:
        """Gives `service` (being created, or updated from `old`) the addresses and ports
        it asks for or needs; the claims it newly holds. Invalid for an address or port
        out of range or held by another Service (named)."""
        refuse_sctp(service)
        spec = service.spec
        who = holder(service.metadata.namespace, service.metadata.name)
        if old is not None:
            keep_allocations(old, service)
        held = claims_of(old) if old is not None else set()
        claims: Claims = {}
        if not spec.cluster_ip and spec.cluster_ips:
            spec.cluster_ip = spec.cluster_ips[0]
        if spec.type == "ExternalName":
            pass  # a DNS alias: no address of its own
        elif spec.cluster_ip == HEADLESS:
            del spec.cluster_ips[:]
            spec.cluster_ips.append(HEADLESS)
        elif old is None or ip_claim(spec.cluster_ip) not in held:
            if spec.cluster_ip:
                ip = check_requested_ip(spec.cluster_ip, self.ranges)
                other = await self._holder_of(ip_claim(ip))
                if other is not None:
                    raise errors.Invalid(f"{ip} is already allocated to service {other}",
                                         field="spec.clusterIP")
            else:
                ip = pick_ip(self.ranges, (await self._taken(IP_CLAIMS)).keys(), self.rng)
            spec.cluster_ip = ip
            del spec.cluster_ips[:]
            spec.cluster_ips.append(ip)
            claims[ip_claim(ip)] = who
        if spec.type in NODE_PORT_TYPES:
            await self._node_ports(service, held, who, claims)
        return claims

    async def _node_ports(
        self, service: core_pb2.Service, held: set[bytes], who: bytes, claims: Claims
    ) -> None:
        taken: dict[str, bytes] | None = None
        ports = self.ranges.node_ports
        for i, port in enumerate(service.spec.ports):
            field = f"spec.ports[{i}].nodePort"
            protocol = port.protocol or "TCP"
            if port.node_port and node_port_claim(protocol, port.node_port) in held:
                continue
            if port.node_port:
                key = node_port_claim(protocol, port.node_port)
                if port.node_port not in ports:
                    raise errors.Invalid(
                        f"{port.node_port} is not in the node port range "
                        f"{ports.start}-{ports.stop - 1}", field=field)
                other = await self._holder_of(key)
                if other is not None or key in claims:
                    raise errors.Invalid(
                        f"port {port.node_port}/{protocol} is already allocated to service "
                        f"{other or who.decode()}", field=field)
            else:
                if taken is None:
                    taken = await self._taken(NODE_PORT_CLAIMS)
                used = {int(name.split("/")[1]) for name in taken
                        if name.startswith(protocol + "/")}
                used |= {int(k.rsplit(b"/", 1)[1]) for k in claims
                         if k.startswith(NODE_PORT_CLAIMS + protocol.encode())}
                port.node_port = pick_node_port(self.ranges, used, self.rng, field)
                key = node_port_claim(protocol, port.node_port)
            claims[key] = who
