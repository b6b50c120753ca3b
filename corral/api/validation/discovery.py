"""The discovery group (discovery.k8s.io/v1): EndpointSlices."""

from __future__ import annotations

import ipaddress

from corral.api.v1 import discovery_pb2
from corral.api.validation.common import (
    Errors,
    FieldError,
    dns_label_problem,
    validate_name,
    validate_one_of,
    validate_port_number,
)

ADDRESS_TYPES = ("IPv4", "IPv6", "FQDN")
# Kubernetes' limits: a slice is a bounded unit of change.
MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100
MAX_PORTS = 100


def validate_endpoint_slice(
    endpoint_slice: discovery_pb2.EndpointSlice, old: discovery_pb2.EndpointSlice | None
) -> Errors:
    yield from validate_one_of(endpoint_slice.address_type, "addressType", ADDRESS_TYPES)
    if old is not None and old.address_type and endpoint_slice.address_type != old.address_type:
        yield FieldError("addressType", "field is immutable")
    if len(endpoint_slice.endpoints) > MAX_ENDPOINTS:
        yield FieldError("endpoints", f"at most {MAX_ENDPOINTS} endpoints, got "
                                      f"{len(endpoint_slice.endpoints)}")
    for i, endpoint in enumerate(endpoint_slice.endpoints):
        here = f"endpoints[{i}].addresses"
        if not 1 <= len(endpoint.addresses) <= MAX_ADDRESSES:
            yield FieldError(here, f"must have 1 to {MAX_ADDRESSES} addresses, "
                                   f"got {len(endpoint.addresses)}")
        for j, address in enumerate(endpoint.addresses):
            yield from _address(endpoint_slice.address_type, address, f"{here}[{j}]")
    if len(endpoint_slice.ports) > MAX_PORTS:
        yield FieldError("ports", f"at most {MAX_PORTS} ports, got {len(endpoint_slice.ports)}")
    names: set[str] = set()
    for i, port in enumerate(endpoint_slice.ports):
        here = f"ports[{i}]"
        if port.name:
            yield from validate_name(port.name, f"{here}.name", "port name", dns_label_problem)
        if port.name in names:
            yield FieldError(f"{here}.name", f'duplicate port name "{port.name}"')
        names.add(port.name)
        if port.HasField("port"):
            yield from validate_port_number(port.port, f"{here}.port")
        yield from validate_one_of(port.protocol, f"{here}.protocol", ("TCP", "UDP", "SCTP"))


def _address(address_type: str, address: str, path: str) -> Errors:
    if address_type == "FQDN":
        return
    want = 4 if address_type == "IPv4" else 6
    try:
        valid = ipaddress.ip_address(address).version == want
    except ValueError:
        valid = False
    if not valid:
        yield FieldError(path, f'"{address}" is not an {address_type} address')
