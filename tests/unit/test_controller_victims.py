"""Which pods a ReplicaSet deletes first."""

from __future__ import annotations

from controller import victims
from corral.api.v1 import core_pb2


def pod(name, *, node="", phase="Running", ready_at=None, created=0, restarts=0):
    p = core_pb2.Pod()
    p.metadata.name = name
    p.metadata.creation_timestamp.FromSeconds(created)
    p.spec.node_name = node
    p.status.phase = phase
    if ready_at is not None:
        cond = p.status.conditions.add(type="Ready", status="True")
        cond.last_transition_time.FromSeconds(ready_at)
    p.status.container_statuses.add(name="c", restart_count=restarts)
    return p


def names(pods):
    return [p.metadata.name for p in pods]


def test_unscheduled_go_before_scheduled():
    order = victims.deletion_order([pod("bound", node="n1", ready_at=5), pod("floating",
                                                                         phase="Pending")])
    assert names(order) == ["floating", "bound"]


def test_pending_before_running_and_not_ready_before_ready():
    pods = [
        pod("ready", node="n", ready_at=1),
        pod("running-not-ready", node="n"),
        pod("pending", node="n", phase="Pending"),
    ]
    assert names(victims.deletion_order(pods)) == ["pending", "running-not-ready", "ready"]


def test_crowded_node_before_quiet_node():
    pods = [pod("alone", node="n1", ready_at=1), pod("a", node="n2", ready_at=1),
            pod("b", node="n2", ready_at=1)]
    assert victims.deletion_order(pods)[0].metadata.name in ("a", "b")
    assert victims.deletion_order(pods)[-1].metadata.name == "alone"


def test_ready_for_less_time_then_more_restarts_then_newer_first():
    assert names(victims.deletion_order([
        pod("long-ready", node="n", ready_at=10), pod("just-ready", node="n", ready_at=100),
    ])) == ["just-ready", "long-ready"]
    assert names(victims.deletion_order([
        pod("calm", node="n", ready_at=10), pod("crashy", node="n", ready_at=10, restarts=4),
    ])) == ["crashy", "calm"]
    assert names(victims.deletion_order([
        pod("old", node="n", ready_at=10, created=1), pod("new", node="n", ready_at=10,
                                                          created=9),
    ])) == ["new", "old"]


def test_pick_victims_takes_the_first_count():
    pods = [pod(f"p{i}", node="n", ready_at=i) for i in range(5)]
    assert names(victims.pick_victims(pods, 2)) == ["p4", "p3"]
    assert victims.pick_victims(pods, 0) == []


def test_finished_and_terminating_pods_are_not_active():
    done = pod("done", phase="Succeeded")
    going = pod("going")
    going.metadata.deletion_timestamp.FromSeconds(5)
    assert not victims.is_active(done)
    assert not victims.is_active(going)
    assert victims.is_active(pod("live"))


def test_available_means_ready_for_min_ready_seconds():
    p = pod("p", node="n", ready_at=100)
    assert victims.is_available(p, 0, 100.0)
    assert not victims.is_available(p, 10, 105.0)
    assert victims.is_available(p, 10, 110.0)
    assert not victims.is_available(pod("q", node="n"), 0, 100.0)
