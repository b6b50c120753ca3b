"""What a Deployment and its ReplicaSets *are* beyond their fields: the well-known labels,
annotations and condition vocabulary (Kubernetes' names, so tools that know them keep
working). The controller writes them; the CLI reads them (`corral rollout`).
"""

from __future__ import annotations

from corral.api.v1 import core_pb2

# The label a Deployment puts on its ReplicaSets and their pods: the pod template's hash.
POD_TEMPLATE_HASH_LABEL = "pod-template-hash"

# Annotations a Deployment writes on its ReplicaSets (Kubernetes' names, so
# tools that know them keep working).
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"

# Condition types and reasons (Kubernetes' values; `kubectl rollout status` knows them).
AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
MIN_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MIN_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"


def parse_revision(value: str | None) -> int:
    """A revision annotation as a number; 0 when missing or not a number."""
    if not value:
        return 0
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


def without_hash_label(template: core_pb2.PodTemplateSpec) -> core_pb2.PodTemplateSpec:
    """A copy of the template without the pod-template-hash label."""
    copy = core_pb2.PodTemplateSpec()
    copy.CopyFrom(template)
    copy.metadata.labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return copy
