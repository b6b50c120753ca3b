"""The reasons of the Events the controllers record: Kubernetes' own strings, so that
`corral describe`, `corral get events` and anyone who knows kubectl read them alike."""

from __future__ import annotations

from typing import Final

# ReplicaSet controller
SUCCESSFUL_CREATE: Final = "SuccessfulCreate"
FAILED_CREATE: Final = "FailedCreate"
SUCCESSFUL_DELETE: Final = "SuccessfulDelete"
FAILED_DELETE: Final = "FailedDelete"

# Deployment controller
SCALING_REPLICA_SET: Final = "ScalingReplicaSet"
SELECTING_ALL: Final = "SelectingAll"

# Node lifecycle controller
NODE_NOT_READY: Final = "NodeNotReady"
TAINT_MANAGER_EVICTION: Final = "TaintManagerEviction"
