"""Pod status from container states: phase rules, container states, conditions."""

from __future__ import annotations

from agent.runtime import ContainerInfo, PodRef
from agent.status import ContainerView, pod_phase, pod_status, qos_class
from corral.api.v1 import core_pb2

REF = PodRef("uid", "ns", "p")


def pod(policy: str = "Always", *names: str) -> core_pb2.Pod:
    result = core_pb2.Pod()
    result.metadata.name = "p"
    result.spec.restart_policy = policy
    for name in names or ("app",):
        result.spec.containers.add(name=name, image="img")
    return result


def info(state: str, exit_code: int = 0, attempt: int = 0, oom: bool = False) -> ContainerInfo:
    return ContainerInfo(id=f"id-{state}-{attempt}", pod=REF, name="app", role="app",
                         attempt=attempt, image="img", image_id="sha", state=state,
                         exit_code=exit_code, oom_killed=oom, started_at=10.0,
                         finished_at=20.0 if state == "exited" else 0.0)


def view(current: ContainerInfo | None, reason: str = "", ready: bool = True,
         previous: ContainerInfo | None = None) -> ContainerView:
    return ContainerView("app", "img", current, previous, reason, "", ready, True)


def test_phase_follows_kubernetes_rules() -> None:
    assert pod_phase(pod(), [], [view(None)]) == "Pending"
    assert pod_phase(pod(), [], [view(info("running"))]) == "Running"
    assert pod_phase(pod("Always"), [], [view(info("exited", 1))]) == "Running"
    assert pod_phase(pod("Never"), [], [view(info("exited", 1))]) == "Failed"
    assert pod_phase(pod("Never"), [], [view(info("exited", 0))]) == "Succeeded"
    assert pod_phase(pod("OnFailure"), [], [view(info("exited", 0))]) == "Succeeded"
    assert pod_phase(pod("OnFailure"), [], [view(info("exited", 2))]) == "Running"
    # Back-off after a crash: the container counts as stopped, not waiting.
    assert pod_phase(pod(), [], [view(info("exited", 1), "CrashLoopBackOff")]) == "Running"


def test_terminal_phases_are_final() -> None:
    assert pod_phase(pod(), [], [view(info("running"))], old_phase="Failed") == "Failed"


def test_crash_loop_shows_waiting_with_the_exit_as_last_state() -> None:
    status = pod_status(pod(), [], [view(info("exited", 3, attempt=2), "CrashLoopBackOff")],
                        pod_ip="10.0.0.2", host_ip="1.2.3.4", now=100.0)
    [container] = status.container_statuses
    assert container.state.waiting.reason == "CrashLoopBackOff"
    assert container.last_state.terminated.exit_code == 3
    assert container.last_state.terminated.reason == "Error"
    assert container.restart_count == 2
    assert not container.ready


def test_oom_killed_is_the_termination_reason() -> None:
    status = pod_status(pod("Never"), [], [view(info("exited", 137, oom=True))], pod_ip="",
                        host_ip="h", now=100.0)
    terminated = status.container_statuses[0].state.terminated
    assert (terminated.reason, terminated.exit_code, terminated.signal) == ("OOMKilled", 137, 9)
    assert status.phase == "Failed"


def test_ready_conditions_and_transition_times_carry_over() -> None:
    running = [view(info("running"), ready=True)]
    first = pod_status(pod(), [], running, pod_ip="10.0.0.2", host_ip="h", now=100.0)
    conditions = {c.type: c.status for c in first.conditions}
    assert conditions == {"PodScheduled": "True", "Initialized": "True",
                          "ContainersReady": "True", "Ready": "True"}
    again = pod_status(pod(), [], running, pod_ip="10.0.0.2", host_ip="h", now=200.0,
                       previous=first)
    assert again == first  # nothing changed: nothing to write
    unready = pod_status(pod(), [], [view(info("running"), ready=False)], pod_ip="10.0.0.2",
                         host_ip="h", now=300.0, previous=first)
    ready = next(c for c in unready.conditions if c.type == "Ready")
    assert ready.status == "False" and ready.last_transition_time.seconds == 300
    assert "unready status: [app]" in ready.message


def test_init_containers_keep_the_pod_pending_until_they_succeed() -> None:
    p = pod()
    p.spec.init_containers.add(name="init", image="img")
    init_running = ContainerView("init", "img", info("running"))
    assert pod_phase(p, [init_running], [view(None, "PodInitializing")]) == "Pending"
    init_done = ContainerView("init", "img", info("exited", 0))
    assert pod_phase(p, [init_done], [view(info("running"))]) == "Running"
    p.spec.restart_policy = "Never"
    init_failed = ContainerView("init", "img", info("exited", 1))
    assert pod_phase(p, [init_failed], [view(None)]) == "Failed"


def test_qos_class() -> None:
    p = pod()
    assert qos_class(p) == "BestEffort"
    p.spec.containers[0].resources.limits.update({"cpu": "1", "memory": "1Gi"})
    assert qos_class(p) == "Guaranteed"
    p.spec.containers[0].resources.requests["cpu"] = "500m"
    assert qos_class(p) == "Burstable"
