"""The conditions an HPA decision sets on the HorizontalPodAutoscaler's status (its
AbleToScale, ScalingActive and ScalingLimited, as Kubernetes names them)."""

from __future__ import annotations

from dataclasses import dataclass

ABLE_TO_SCALE = "AbleToScale"
SCALING_ACTIVE = "ScalingActive"
SCALING_LIMITED = "ScalingLimited"


@dataclass(frozen=True)
class ConditionUpdate:
    type: str
    status: str  # "True" or "False"
    reason: str
    message: str

