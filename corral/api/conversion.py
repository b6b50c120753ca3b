"""Manifests of an older apiVersion in the shape corral stores.

A kind may accept other apiVersions in manifests (`Kind.other_api_versions`);
`convert` turns the body of such a manifest (its fields besides apiVersion and
kind, with Kubernetes' JSON names) into a body of the kind's stored apiVersion,
as Kubernetes' conversion functions do between the versions of a group. Only
the shape changes here: reading values into a message stays with the caller,
which knows how to say what is wrong with a value, and where it was written.

Today: autoscaling/v1 HorizontalPodAutoscalers (what `kubectl autoscale`
writes) become autoscaling/v2 ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# A position inside a manifest: field names, map keys and list indexes.
FieldPath = tuple[str | int, ...]

# Reads an int32 field's value from a manifest, or raises the caller's own error naming the path.
ReadInt32 = Callable[[Any, FieldPath], int]


class ConversionError(Exception):
    """A field the manifest's apiVersion does not have; `path` is where it was written."""

    def __init__(self, path: FieldPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Converted:
    """A converted body, and each field the conversion made with the field of the
    original it was made from, so that what is said about one can point at what the
    user wrote."""

    body: dict[str, Any]
    sources: dict[FieldPath, FieldPath] = field(default_factory=dict)


def convert(kind: str, api_version: str, body: dict[str, Any], read_int32: ReadInt32) -> Converted:
    """The body of a `kind` manifest of `api_version` (one of the kind's
    `other_api_versions`) in the shape of the kind's stored apiVersion.

    Raises ConversionError for a field `api_version` does not have, and whatever
    `read_int32` raises for a value that is not an int32."""
    return _CONVERSIONS[(kind, api_version)](body, read_int32)


# ------------------------------------------------------ HorizontalPodAutoscaler

_HPA_V1_SPEC = {"scaleTargetRef", "minReplicas", "maxReplicas", "targetCPUUtilizationPercentage"}
_HPA_V1_STATUS = {
    "observedGeneration",
    "lastScaleTime",
    "currentReplicas",
    "desiredReplicas",
    "currentCPUUtilizationPercentage",
}


def _hpa_v1_to_v2(body: dict[str, Any], read_int32: ReadInt32) -> Converted:
    """An autoscaling/v1 HorizontalPodAutoscaler in the autoscaling/v2 shape:
    the CPU utilization target becomes a Resource metric."""
    body = dict(body)
    sources: dict[FieldPath, FieldPath] = {}
    spec = body.get("spec")
    if isinstance(spec, dict):
        spec = _only_fields(spec, _HPA_V1_SPEC, ("spec",))
        target = spec.pop("targetCPUUtilizationPercentage", None)
        if target is not None:
            path: FieldPath = ("spec", "targetCPUUtilizationPercentage")
            spec["metrics"] = [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": read_int32(target, path),
                        },
                    },
                }
            ]
            sources[("spec", "metrics")] = path
        body["spec"] = spec
    status = body.get("status")
    if isinstance(status, dict):
        status = _only_fields(status, _HPA_V1_STATUS, ("status",))
        current = status.pop("currentCPUUtilizationPercentage", None)
        if current is not None:
            path = ("status", "currentCPUUtilizationPercentage")
            status["currentMetrics"] = [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "current": {"averageUtilization": read_int32(current, path)},
                    },
                }
            ]
            sources[("status", "currentMetrics")] = path
        body["status"] = status
    return Converted(body, sources)


def _only_fields(data: dict[str, Any], allowed: set[str], path: FieldPath) -> dict[str, Any]:
    for key in data:
        if key not in allowed:
            raise ConversionError((*path, key), "unknown field in autoscaling/v1")
    return dict(data)


_CONVERSIONS: dict[tuple[str, str], Callable[[dict[str, Any], ReadInt32], Converted]] = {
    ("HorizontalPodAutoscaler", "autoscaling/v1"): _hpa_v1_to_v2,
}
