"""Which pods a ReplicaSet deletes first when it has too many (Kubernetes' ActivePods
order): the ones whose loss hurts least come first.

1. not yet scheduled before scheduled;
2. Pending before Unknown before Running;
3. not ready before ready;
4. on a node crowded with this ReplicaSet's pods before on a quieter node;
5. ready for a shorter time before ready for longer;
6. more container restarts before fewer;
7. newer before older.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from corral.api import (
    CONDITION_TRUE,
    POD_PENDING,
    POD_RUNNING,
    POD_TERMINAL_PHASES,
    POD_UNKNOWN,
)
from corral.api.v1 import core_pb2, meta_pb2

# An unset phase ranks as Pending.
_PHASE_RANK = {POD_PENDING: 0, "": 0, POD_UNKNOWN: 1, POD_RUNNING: 2}


def is_active(pod: core_pb2.Pod) -> bool:
    """Counts towards a ReplicaSet: not finished and not being deleted."""
    return pod.status.phase not in POD_TERMINAL_PHASES and not pod.metadata.HasField(
        "deletion_timestamp"
    )


def ready_condition(pod: core_pb2.Pod) -> meta_pb2.Condition | None:
    return next((c for c in pod.status.conditions if c.type == "Ready"), None)


def is_ready(pod: core_pb2.Pod) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.status == CONDITION_TRUE


def ready_since(pod: core_pb2.Pod) -> float | None:
    """When the pod became ready (seconds since the epoch), or None if it is not ready."""
    condition = ready_condition(pod)
    if condition is None or condition.status != CONDITION_TRUE:
        return None
    return condition.last_transition_time.ToNanoseconds() / 1e9


def is_available(pod: core_pb2.Pod, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least min_ready_seconds."""
    since = ready_since(pod)
    if since is None:
        return False
    return min_ready_seconds == 0 or since + min_ready_seconds <= now


def _created(pod: core_pb2.Pod) -> float:
    return pod.metadata.creation_timestamp.ToNanoseconds() / 1e9


def _restarts(pod: core_pb2.Pod) -> int:
    return max((s.restart_count for s in pod.status.container_statuses), default=0)


def deletion_order(pods: Sequence[core_pb2.Pod]) -> list[core_pb2.Pod]:
    """The pods, first-to-delete first."""
    per_node = Counter(pod.spec.node_name for pod in pods if pod.spec.node_name)

    def key(pod: core_pb2.Pod) -> tuple[int, int, int, int, float, int, float, str]:
        since = ready_since(pod)
        return (
            1 if pod.spec.node_name else 0,
            _PHASE_RANK.get(pod.status.phase, 0),
            1 if since is not None else 0,
            -per_node[pod.spec.node_name] if pod.spec.node_name else 0,
            # Ready more recently sorts first (bigger timestamp -> smaller key).
            -since if since is not None else 0.0,
            -_restarts(pod),
            -_created(pod),
            pod.metadata.name,
        )

    return sorted(pods, key=key)


def pick_victims(pods: Sequence[core_pb2.Pod], count: int) -> list[core_pb2.Pod]:
    """The `count` pods to delete first."""
    if count <= 0:
        return []
    return deletion_order(pods)[:count]
