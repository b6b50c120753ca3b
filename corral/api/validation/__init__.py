"""Validation of every kind, run by the API server on Create and Update.

`validate` returns every problem it finds, each as a FieldError naming the
field by its Kubernetes JSON path (`spec.template.spec.containers[0].image`)
and saying why the value is wrong; `check` raises them as one Invalid error.
The rules follow Kubernetes' own validation (k8s.io/kubernetes/pkg/apis/*/
validation) for the fields corral has, so a manifest Kubernetes accepts is
accepted here and one it refuses is refused for the same reason.

As in Kubernetes, the rules live by API group: `common` (metadata, names,
labels, selectors, quantities), `core`, `apps`, `autoscaling`, `networking`
and `coordination`. This module is the one place that says which rules each
kind follows.

Objects are validated as they will be stored: defaults are applied to a copy
first, so callers may pass an object with or without its defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from corral.api import kinds
from corral.api.defaults import apply_defaults
from corral.api.errors import Invalid
from corral.api.validation import apps, autoscaling, coordination, core, discovery, networking
from corral.api.validation.common import (
    MAX_ANNOTATIONS_BYTES,
    Errors,
    FieldError,
    dns_1035_label_problem,
    dns_label_problem,
    dns_subdomain_problem,
    port_name_problem,
    resource_name_problem,
    validate_object_meta,
)
from corral.api.validation.core import (
    MAX_CONFIG_BYTES,
    NODE_PORT_RANGE,
    config_key_problem,
    validate_pod_spec,
)

__all__ = [
    "MAX_ANNOTATIONS_BYTES",
    "MAX_CONFIG_BYTES",
    "NODE_PORT_RANGE",
    "Errors",
    "FieldError",
    "check",
    "config_key_problem",
    "dns_1035_label_problem",
    "dns_label_problem",
    "dns_subdomain_problem",
    "port_name_problem",
    "resource_name_problem",
    "validate",
    "validate_pod_spec",
]


def validate(
    obj: Message, old: Message | None = None, *, defaulted: bool = False
) -> list[FieldError]:
    """Every problem with `obj`; `old` is the stored object when this is an Update.

    Both are validated as defaults would leave them; `defaulted=True` says
    they already are (the API server's case), which saves copying them."""
    if not defaulted:
        obj = _defaulted(obj)
        old = _defaulted(old) if old is not None else None
    kind = kinds.of_message(obj)
    obj_: Any = obj
    old_: Any = old
    errors = list(
        validate_object_meta(obj_.metadata, kind, old_.metadata if old_ is not None else None)
    )
    validate_kind = _BY_KIND.get(kind.name)
    if validate_kind is not None:
        errors.extend(validate_kind(obj_, old_))
    return errors


def check(obj: Message, old: Message | None = None, *, defaulted: bool = False) -> None:
    """Raises Invalid naming every problem (first field first), or returns."""
    errors = validate(obj, old, defaulted=defaulted)
    if errors:
        first, *rest = errors
        raise Invalid("; ".join([first.message, *map(str, rest)]), field=first.path)


def _defaulted(obj: Message) -> Message:
    copy = type(obj)()
    copy.CopyFrom(obj)
    apply_defaults(copy)
    return copy


# The rules of each kind beyond its metadata; a kind missing here has none.
_BY_KIND: dict[str, Callable[[Any, Any], Errors]] = {
    "Namespace": core.validate_namespace,
    "Node": core.validate_node,
    "Pod": core.validate_pod,
    "Service": core.validate_service,
    "EndpointSlice": discovery.validate_endpoint_slice,
    "ConfigMap": core.validate_config_map,
    "Secret": core.validate_secret,
    "Event": core.validate_event,
    "ReplicaSet": apps.validate_replica_set,
    "Deployment": apps.validate_deployment,
    "HorizontalPodAutoscaler": autoscaling.validate_horizontal_pod_autoscaler,
    "Ingress": networking.validate_ingress,
    "Lease": coordination.validate_lease,
}
