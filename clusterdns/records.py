"""The cluster domain's records, from Services and EndpointSlices: a pure index.

- `<service>.<namespace>.svc.<domain>` A: the cluster IP; a headless Service: the
  addresses of its ready endpoints; an ExternalName Service: a CNAME to its name.
- `_<port>._<protocol>.<service>.<namespace>.svc.<domain>` SRV: each named port.
- `<a-b-c-d>.<namespace>.pod.<domain>` A: the address spelled in the name.
- Any other name in the domain: NXDOMAIN. A name that exists with no record of the asked
  type: an empty answer (NOERROR), so resolvers do not give up on the name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from corral.api import discovery
from corral.api.v1 import core_pb2, discovery_pb2

DEFAULT_DOMAIN = "cluster.local"
# Seconds resolvers may keep an answer (CoreDNS's kubernetes plugin default).
TTL = 5

A, CNAME, SRV = "A", "CNAME", "SRV"


@dataclass(frozen=True)
class Record:
    name: str  # absolute, with the trailing dot
    type: str  # A, CNAME or SRV
    data: str  # the record's text form, e.g. "10.96.0.1" or "0 100 80 web.shop.svc.cluster.local."


@dataclass(frozen=True)
class Answer:
    exists: bool  # False: NXDOMAIN
    records: tuple[Record, ...] = ()


@dataclass
class ClusterRecords:
    """Every record of the cluster domain, by name."""

    domain: str = DEFAULT_DOMAIN
    by_name: dict[str, list[Record]] = field(default_factory=dict)

    @classmethod
    def build(cls, domain: str, services: Iterable[core_pb2.Service],
              endpoint_slices: Iterable[discovery_pb2.EndpointSlice]) -> ClusterRecords:
        index = cls(domain.strip(".").lower())
        ready: dict[tuple[str, str], list[str]] = {}
        for endpoint_slice in endpoint_slices:
            owner = endpoint_slice.metadata.labels.get(discovery.SERVICE_NAME_LABEL)
            if owner is None:
                continue
            addresses = ready.setdefault((endpoint_slice.metadata.namespace, owner), [])
            for endpoint in endpoint_slice.endpoints:
                if endpoint.conditions.ready:
                    addresses.extend(endpoint.addresses)
        for service in services:
            index._add_service(service, ready.get(
                (service.metadata.namespace, service.metadata.name), []))
        return index

    def _add(self, name: str, type_: str, data: str) -> None:
        self.by_name.setdefault(name, []).append(Record(name, type_, data))

    def _add_service(self, service: core_pb2.Service, ready: list[str]) -> None:
        meta, spec = service.metadata, service.spec
        name = f"{meta.name}.{meta.namespace}.svc.{self.domain}."
        self.by_name.setdefault(name, [])
        if spec.type == "ExternalName":
            self._add(name, CNAME, spec.external_name.rstrip(".") + ".")
            return
        if spec.cluster_ip == "None":
            for address in sorted(set(ready)):
                self._add(name, A, address)
        elif spec.cluster_ip:
            self._add(name, A, spec.cluster_ip)
        for port in spec.ports:
            if port.name:
                protocol = (port.protocol or "TCP").lower()
                self._add(f"_{port.name}._{protocol}.{name}", SRV, f"0 100 {port.port} {name}")

    def answer(self, qname: str, qtype: str) -> Answer | None:
        """The answer for a name of the cluster domain; None for any other name (the
        server forwards those)."""
        name = qname.lower().rstrip(".") + "."
        suffix = f".{self.domain}."
        if not name.endswith(suffix) and name != self.domain + ".":
            return None
        if name in self.by_name:
            records = self.by_name[name]
            return Answer(True, tuple(r for r in records if r.type == qtype or r.type == CNAME))
        pod = self._pod_address(name[: -len(suffix)])
        if pod is not None:
            return Answer(True, (Record(name, A, pod),) if qtype == A else ())
        return Answer(False)

    @staticmethod
    def _pod_address(relative: str) -> str | None:
        """a-b-c-d.<namespace>.pod → a.b.c.d"""
        labels = relative.split(".")
        if len(labels) != 3 or labels[2] != "pod":
            return None
        try:
            return str(ipaddress.IPv4Address(labels[0].replace("-", ".")))
        except ValueError:
            return None
