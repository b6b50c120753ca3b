"""The networking group (networking.k8s.io/v1): Ingresses."""

from __future__ import annotations

from corral.api.v1 import networking_pb2
from corral.api.validation.common import (
    Errors,
    FieldError,
    dns_1035_label_problem,
    dns_subdomain_problem,
    port_name_problem,
    validate_name,
    validate_one_of,
    validate_port_number,
    validate_required_name,
)


def validate_ingress(ingress: networking_pb2.Ingress, old: networking_pb2.Ingress | None) -> Errors:
    spec = ingress.spec
    if not spec.rules and not spec.HasField("default_backend"):
        yield FieldError("spec", "either defaultBackend or rules must be specified")
    if spec.ingress_class_name:
        yield from validate_name(
            spec.ingress_class_name, "spec.ingressClassName", "name", dns_subdomain_problem
        )
    if spec.HasField("default_backend"):
        yield from _ingress_backend(spec.default_backend, "spec.defaultBackend")
    for i, tls in enumerate(spec.tls):
        for j, host in enumerate(tls.hosts):
            yield from _ingress_host(host, f"spec.tls[{i}].hosts[{j}]")
        if tls.secret_name:
            yield from validate_name(
                tls.secret_name, f"spec.tls[{i}].secretName", "name", dns_subdomain_problem
            )
    for i, rule in enumerate(spec.rules):
        here = f"spec.rules[{i}]"
        if rule.host:
            yield from _ingress_host(rule.host, f"{here}.host")
        if not rule.HasField("http"):
            continue
        if not rule.http.paths:
            yield FieldError(f"{here}.http.paths", "required: at least one path")
        for j, http_path in enumerate(rule.http.paths):
            yield from _ingress_path(http_path, f"{here}.http.paths[{j}]")


def _ingress_host(host: str, path: str) -> Errors:
    # A wildcard may stand for exactly the first label: *.example.com.
    name = host[2:] if host.startswith("*.") else host
    why = dns_subdomain_problem(name)
    if why is not None:
        yield FieldError(
            path, f'"{host}" is not a valid host: {why} (a leading "*." wildcard is allowed)'
        )


def _ingress_path(http_path: networking_pb2.HTTPIngressPath, path: str) -> Errors:
    if not http_path.path_type:
        yield FieldError(f"{path}.pathType", "required: Exact, Prefix or ImplementationSpecific")
    else:
        yield from validate_one_of(
            http_path.path_type, f"{path}.pathType", ("Exact", "Prefix", "ImplementationSpecific")
        )
    absolute = http_path.path.startswith("/")
    if http_path.path_type in ("Exact", "Prefix") and not absolute:
        yield FieldError(
            f"{path}.path",
            f'"{http_path.path}" must be an absolute path for pathType {http_path.path_type}',
        )
    elif http_path.path and not absolute:
        yield FieldError(f"{path}.path", f'"{http_path.path}" must be an absolute path')
    if not http_path.HasField("backend"):
        yield FieldError(f"{path}.backend", "required")
    else:
        yield from _ingress_backend(http_path.backend, f"{path}.backend")


def _ingress_backend(backend: networking_pb2.IngressBackend, path: str) -> Errors:
    if not backend.HasField("service"):
        yield FieldError(f"{path}.service", "required")
        return
    service = backend.service
    here = f"{path}.service"
    yield from validate_required_name(
        service.name, f"{here}.name", "service name", dns_1035_label_problem
    )
    port = service.port
    if port.name and port.number:
        yield FieldError(f"{here}.port", "must have exactly one of name or number, not both")
    elif port.name:
        yield from validate_name(port.name, f"{here}.port.name", "port name", port_name_problem)
    elif port.number:
        yield from validate_port_number(port.number, f"{here}.port.number")
    else:
        yield FieldError(f"{here}.port", "required: a port name or number")
