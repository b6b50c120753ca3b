"""A pod's status from what its containers are doing (pure: the caller passes the time).

`pod_status` turns observed containers, the agent's waiting reasons (pulling,
backing off) and probe results into the PodStatus Kubernetes would report:
phase, conditions with transition times, per-container state and lastState,
restart counts, IPs and QoS class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.runtime import ContainerInfo
from corral.api import (
    POD_FAILED,
    POD_PENDING,
    POD_RUNNING,
    POD_SUCCEEDED,
    POD_TERMINAL_PHASES,
    to_timestamp,
)
from corral.api.v1 import core_pb2

CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
CREATE_CONTAINER_ERROR = "CreateContainerError"


@dataclass
class ContainerView:
    """What the agent knows about one container of the pod's spec."""

    name: str
    image: str
    # The newest instance and the one before it (None when there is none).
    current: ContainerInfo | None = None
    previous: ContainerInfo | None = None
    # Why the container is not running when the agent knows better than the runtime
    # (ContainerCreating, ErrImagePull, CrashLoopBackOff, ...).
    waiting_reason: str = ""
    waiting_message: str = ""
    # Probe results: readiness passed, startup passed (True when there is no such probe).
    ready: bool = False
    started: bool = False


def terminated_state(info: ContainerInfo) -> core_pb2.ContainerStateTerminated:
    if info.oom_killed:
        reason = "OOMKilled"
    elif info.exit_code == 0:
        reason = "Completed"
    else:
        reason = "Error"
    state = core_pb2.ContainerStateTerminated(
        exit_code=info.exit_code, reason=reason, message=info.error,
        container_id=f"docker://{info.id}",
    )
    if info.exit_code > 128:
        state.signal = info.exit_code - 128
    if info.started_at:
        state.started_at.CopyFrom(to_timestamp(info.started_at))
    if info.finished_at:
        state.finished_at.CopyFrom(to_timestamp(info.finished_at))
    return state


def container_status(view: ContainerView) -> core_pb2.ContainerStatus:
    status = core_pb2.ContainerStatus(name=view.name, image=view.image)
    current = view.current
    if current is not None:
        status.restart_count = current.attempt
        status.image_id = current.image_id
        status.container_id = f"docker://{current.id}"
    if view.previous is not None:
        status.last_state.terminated.CopyFrom(terminated_state(view.previous))
    if current is None or current.state == "created":
        status.state.waiting.reason = view.waiting_reason or CONTAINER_CREATING
        status.state.waiting.message = view.waiting_message
    elif current.running and not view.waiting_reason:
        status.state.running.started_at.CopyFrom(to_timestamp(current.started_at))
        status.ready = view.ready
    elif current.exited and view.waiting_reason:
        # It will be started again: Kubernetes shows the wait, and the exit as lastState.
        status.state.waiting.reason = view.waiting_reason
        status.state.waiting.message = view.waiting_message
        status.last_state.terminated.CopyFrom(terminated_state(current))
    elif current.exited:
        status.state.terminated.CopyFrom(terminated_state(current))
    else:
        status.state.waiting.reason = view.waiting_reason
        status.state.waiting.message = view.waiting_message
    status.started = current is not None and current.running and view.started
    return status


def init_done(views: Sequence[ContainerView]) -> bool:
    """Whether every init container has completed successfully."""
    return all(
        v.current is not None and v.current.exited and v.current.exit_code == 0 for v in views
    )


def pod_phase(
    pod: core_pb2.Pod,
    init_views: Sequence[ContainerView],
    views: Sequence[ContainerView],
    old_phase: str = "",
) -> str:
    """Kubernetes' phase rules (kubelet getPhase), plus: a deleted pod whose containers
    have all stopped is Succeeded or Failed by their exit codes."""
    policy = pod.spec.restart_policy or "Always"
    old_phase = old_phase or pod.status.phase
    if old_phase in POD_TERMINAL_PHASES:
        return old_phase  # terminal phases are final
    for view in init_views:
        current = view.current
        if current is not None and current.exited and current.exit_code != 0:
            if policy == "Never":
                return POD_FAILED
            return POD_PENDING
    if not init_done(init_views):
        return POD_PENDING
    running = waiting = stopped = succeeded = 0
    for view in views:
        current = view.current
        if current is None or current.state == "created":
            waiting += 1
        elif current.running and not view.waiting_reason:
            running += 1
        elif current.exited:
            stopped += 1
            if current.exit_code == 0:
                succeeded += 1
        else:
            waiting += 1
    deleting = pod.metadata.HasField("deletion_timestamp")
    if deleting and running == 0 and waiting == 0 and stopped > 0:
        return POD_SUCCEEDED if stopped == succeeded else POD_FAILED
    if waiting > 0:
        return POD_PENDING
    if running > 0:
        return POD_RUNNING
    if stopped > 0:
        if policy == "Always":
            return POD_RUNNING
        if stopped == succeeded:
            return POD_SUCCEEDED
        if policy == "Never":
            return POD_FAILED
        # OnFailure: the failed ones will run again.
        return POD_RUNNING
    return POD_PENDING


def qos_class(pod: core_pb2.Pod) -> str:
    containers = [*pod.spec.init_containers, *pod.spec.containers]
    if all(not c.resources.limits and not c.resources.requests for c in containers):
        return "BestEffort"
    for c in containers:
        for resource in ("cpu", "memory"):
            limit = c.resources.limits.get(resource)
            if not limit or c.resources.requests.get(resource, limit) != limit:
                return "Burstable"
    return "Guaranteed"


def _set_condition(
    status: core_pb2.PodStatus,
    old: core_pb2.PodStatus,
    type_: str,
    value: bool,
    now: float,
    reason: str = "",
    message: str = "",
) -> None:
    text = "True" if value else "False"
    condition = status.conditions.add(type=type_, status=text)
    if not value:
        condition.reason = reason
        condition.message = message
    for before in old.conditions:
        if before.type == type_ and before.status == text:
            condition.last_transition_time.CopyFrom(before.last_transition_time)
            return
    condition.last_transition_time.CopyFrom(to_timestamp(now))


def pod_status(
    pod: core_pb2.Pod,
    init_views: Sequence[ContainerView],
    views: Sequence[ContainerView],
    *,
    pod_ip: str,
    host_ip: str,
    now: float,
    previous: core_pb2.PodStatus | None = None,
) -> core_pb2.PodStatus:
    """The status to write: compare it with the last one and write only when it differs.

    `previous` is the status last written (default: pod.status); transition times
    and the start time carry over from it."""
    old = previous if previous is not None else pod.status
    status = core_pb2.PodStatus()
    status.phase = pod_phase(pod, init_views, views, old.phase)
    status.host_ip = host_ip
    if pod_ip:
        status.pod_ip = pod_ip
        status.pod_ips.add(ip=pod_ip)
    elif old.pod_ip and status.phase in POD_TERMINAL_PHASES:
        status.pod_ip = old.pod_ip
        status.pod_ips.extend(old.pod_ips)
    if old.HasField("start_time"):
        status.start_time.CopyFrom(old.start_time)
    else:
        status.start_time.CopyFrom(to_timestamp(now))
    status.qos_class = qos_class(pod)
    status.nominated_node_name = old.nominated_node_name
    status.init_container_statuses.extend(container_status(v) for v in init_views)
    status.container_statuses.extend(container_status(v) for v in views)

    _set_condition(status, old, "PodScheduled", True, now)
    initialized = init_done(init_views)
    pending_init = [v.name for v in init_views if not (
        v.current is not None and v.current.exited and v.current.exit_code == 0)]
    _set_condition(status, old, "Initialized", initialized, now, "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(pending_init)}]")
    not_ready = [c.name for c in status.container_statuses if not c.ready]
    all_ready = initialized and not not_ready and status.phase == POD_RUNNING
    message = f"containers with unready status: [{' '.join(not_ready)}]"
    reason = "PodCompleted" if status.phase in POD_TERMINAL_PHASES else "ContainersNotReady"
    _set_condition(status, old, "ContainersReady", all_ready, now, reason, message)
    _set_condition(status, old, "Ready", all_ready, now, reason, message)
    return status
