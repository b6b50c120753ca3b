"""Which endpoints a Service has, as EndpointSlices: a pure function of the Service, the
pods in its namespace and the nodes' zones, after Kubernetes' endpoint-slice controller.

- A pod is an endpoint when the Service's selector matches it, it has an IP and it has
  not finished (Succeeded/Failed).
- `serving` is the pod's Ready condition; `terminating` is its deletionTimestamp;
  `ready` is serving and not terminating, so a pod being deleted stops taking new
  connections at once while it finishes what it has.
- A named targetPort is resolved on each pod (its container port of that name and
  protocol); pods whose ports resolve alike share slices, at most 100 endpoints a slice.
- Slice names are derived from the Service and the port set, so a sync can compare what
  it wants with what exists by name and write only what differs.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence

from corral.api import (
    POD_TERMINAL_PHASES,
    discovery,
    is_deleting,
    owner_reference,
    selector_from_labels,
)
from corral.api.v1 import core_pb2, discovery_pb2

MAX_ENDPOINTS_PER_SLICE = 100
ZONE_LABEL = "topology.kubernetes.io/zone"

# One resolved port: (name, protocol, port on the pod, appProtocol).
PortKey = tuple[str, str, int, str]


def selects(service: core_pb2.Service) -> bool:
    """Whether the controller keeps slices for this Service (one with no selector, or an
    ExternalName alias, has slices written by hand, or none)."""
    return bool(service.spec.selector) and service.spec.type != "ExternalName"


def is_endpoint(service: core_pb2.Service, pod: core_pb2.Pod) -> bool:
    return (
        pod.metadata.namespace == service.metadata.namespace
        and bool(pod.status.pod_ip)
        and pod.status.phase not in POD_TERMINAL_PHASES
        and selector_from_labels(service.spec.selector).matches(pod.metadata.labels)
    )


def resolve_ports(service: core_pb2.Service, pod: core_pb2.Pod) -> tuple[PortKey, ...]:
    """The Service's ports as this pod serves them; a named targetPort the pod does not
    have is left out for this pod (as Kubernetes does)."""
    named: dict[tuple[str, str], int] = {
        (port.name, port.protocol or "TCP"): port.container_port
        for container in pod.spec.containers for port in container.ports if port.name
    }
    resolved: list[PortKey] = []
    for port in service.spec.ports:
        protocol = port.protocol or "TCP"
        target = port.target_port or str(port.port)
        number = int(target) if target.isdigit() else named.get((target, protocol))
        if number:
            resolved.append((port.name, protocol, number, port.app_protocol))
    return tuple(resolved)


def endpoint_of(pod: core_pb2.Pod, zones: Mapping[str, str]) -> discovery_pb2.Endpoint:
    serving = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
    terminating = is_deleting(pod)
    endpoint = discovery_pb2.Endpoint(
        addresses=[pod.status.pod_ip],
        conditions=discovery_pb2.EndpointConditions(
            ready=serving and not terminating, serving=serving, terminating=terminating),
        node_name=pod.spec.node_name,
        zone=zones.get(pod.spec.node_name, ""),
        target_ref=core_pb2.ObjectReference(
            kind="Pod", namespace=pod.metadata.namespace, name=pod.metadata.name,
            uid=pod.metadata.uid),
    )
    if pod.spec.hostname:
        endpoint.hostname = pod.spec.hostname
    return endpoint


def slice_name(service: str, ports: Sequence[PortKey], index: int) -> str:
    digest = hashlib.sha256(repr(tuple(ports)).encode()).hexdigest()[:5]
    return f"{service}-{digest}" + (f"-{index}" if index else "")


def desired_slices(
    service: core_pb2.Service, pods: Iterable[core_pb2.Pod], zones: Mapping[str, str]
) -> list[discovery_pb2.EndpointSlice]:
    """The EndpointSlices `service` should have, sorted by name; one empty slice when it
    has no endpoints (so readers can tell "no endpoints" from "not synced yet")."""
    groups: dict[tuple[PortKey, ...], list[core_pb2.Pod]] = {}
    for pod in sorted(pods, key=lambda p: p.metadata.name):
        if is_endpoint(service, pod):
            groups.setdefault(resolve_ports(service, pod), []).append(pod)
    if not groups:
        groups[resolve_ports(service, core_pb2.Pod())] = []
    slices = []
    for ports, members in groups.items():
        chunks = [members[i:i + MAX_ENDPOINTS_PER_SLICE]
                  for i in range(0, len(members), MAX_ENDPOINTS_PER_SLICE)] or [[]]
        for index, chunk in enumerate(chunks):
            slices.append(_slice(service, ports, index, chunk, zones))
    return sorted(slices, key=lambda s: s.metadata.name)


def _slice(service: core_pb2.Service, ports: Sequence[PortKey], index: int,
           pods: Sequence[core_pb2.Pod], zones: Mapping[str, str]
           ) -> discovery_pb2.EndpointSlice:
    endpoint_slice = discovery_pb2.EndpointSlice(
        address_type=_address_type(pods),
        endpoints=[endpoint_of(pod, zones) for pod in pods],
        ports=[discovery_pb2.EndpointPort(name=name, protocol=protocol, port=port,
                                          app_protocol=app_protocol)
               for name, protocol, port, app_protocol in ports],
    )
    meta = endpoint_slice.metadata
    meta.name = slice_name(service.metadata.name, ports, index)
    meta.namespace = service.metadata.namespace
    meta.labels[discovery.SERVICE_NAME_LABEL] = service.metadata.name
    meta.labels[discovery.MANAGED_BY_LABEL] = discovery.MANAGED_BY_CONTROLLER
    meta.owner_references.append(owner_reference(service))
    return endpoint_slice


def _address_type(pods: Sequence[core_pb2.Pod]) -> str:
    if pods and ipaddress.ip_address(pods[0].status.pod_ip).version == 6:
        return "IPv6"
    return "IPv4"


def differs(existing: discovery_pb2.EndpointSlice, wanted: discovery_pb2.EndpointSlice) -> bool:
    """Whether a stored slice must be rewritten to be `wanted` (server-set metadata aside)."""
    return (
        existing.address_type != wanted.address_type
        or list(existing.endpoints) != list(wanted.endpoints)
        or list(existing.ports) != list(wanted.ports)
        or any(existing.metadata.labels.get(k) != v for k, v in wanted.metadata.labels.items())
        or list(existing.metadata.owner_references) != list(wanted.metadata.owner_references)
    )
