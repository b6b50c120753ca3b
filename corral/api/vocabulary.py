"""The closed string vocabularies of the API: pod and namespace phases, condition
statuses and event types (Kubernetes' values, so tools that know them keep working).

The protobuf fields that hold them are plain strings; these `Literal` aliases name the
values a signature takes, and the `Final` constants are the values themselves.
"""

from __future__ import annotations

from typing import Final, Literal

# -- pods ----------------------------------------------------------------------------------------

PodPhase = Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"]
POD_PENDING: Final = "Pending"
POD_RUNNING: Final = "Running"
POD_SUCCEEDED: Final = "Succeeded"
POD_FAILED: Final = "Failed"
POD_UNKNOWN: Final = "Unknown"
# A pod in one of these phases has finished for good: its containers will not run again.
POD_TERMINAL_PHASES: Final[tuple[PodPhase, ...]] = (POD_SUCCEEDED, POD_FAILED)

# -- namespaces ----------------------------------------------------------------------------------

NamespacePhase = Literal["Active", "Terminating"]
NAMESPACE_ACTIVE: Final = "Active"
NAMESPACE_TERMINATING: Final = "Terminating"

# -- conditions ----------------------------------------------------------------------------------

ConditionStatus = Literal["True", "False", "Unknown"]
CONDITION_TRUE: Final = "True"
CONDITION_FALSE: Final = "False"
CONDITION_UNKNOWN: Final = "Unknown"

# -- events --------------------------------------------------------------------------------------

EventType = Literal["Normal", "Warning"]
NORMAL: Final = "Normal"
WARNING: Final = "Warning"
