"""The coordination group (coordination.k8s.io/v1): Leases."""

from __future__ import annotations

from corral.api.v1 import coordination_pb2
from corral.api.validation.common import (
    Errors,
    FieldError,
    validate_at_least,
)


def validate_lease(lease: coordination_pb2.Lease, old: coordination_pb2.Lease | None) -> Errors:
    spec = lease.spec
    minimum = 1 if spec.holder_identity else 0
    if spec.lease_duration_seconds < minimum:
        why = (
            "must be greater than 0 when holderIdentity is set" if minimum else "must be 0 or more"
        )
        yield FieldError("spec.leaseDurationSeconds", f"{why}, got {spec.lease_duration_seconds}")
    yield from validate_at_least(spec.lease_transitions, "spec.leaseTransitions", 0)
