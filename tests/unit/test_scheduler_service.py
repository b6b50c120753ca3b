"""The scheduler service's informer handlers, called directly (no API server): what they
do to the cache's namespaces and nominations and to the queue."""

from __future__ import annotations

import copy

import pytest

from corral.api.v1 import core_pb2
from corral.client import Client
from scheduler.model import pod_info
from scheduler.service import Scheduler
from scheduler.testing import make_namespace, make_node, make_pod


@pytest.fixture
def scheduler() -> Scheduler:
    # The handlers never call the client (it never connects); the informers are not started.
    return Scheduler(client=Client("unused"))


def park_unschedulable(scheduler: Scheduler, pod: core_pb2.Pod) -> None:
    scheduler.queue.add(pod_info(pod))
    queued = scheduler.queue.pop()
    assert queued is not None
    scheduler.queue.requeue_unschedulable(queued)
    assert scheduler.queue.sizes()["unschedulable"] == 1


def test_a_namespace_label_change_sends_unschedulable_pods_round_again(
    scheduler: Scheduler,
) -> None:
    old = make_namespace("ns-b", team="b")
    scheduler._on_namespace_add(old)
    park_unschedulable(scheduler, make_pod("web"))
    relabelled = make_namespace("ns-b", team="a")
    scheduler._on_namespace_update(old, relabelled)
    assert scheduler.cache.namespace_labels == {"ns-b": {"team": "a"}}
    assert scheduler.queue.sizes()["unschedulable"] == 0


def test_a_namespace_update_without_label_changes_leaves_unschedulable_pods_waiting(
    scheduler: Scheduler,
) -> None:
    ns = make_namespace("ns-a", team="a")
    scheduler._on_namespace_add(ns)
    park_unschedulable(scheduler, make_pod("web"))
    annotated = copy.deepcopy(ns)
    annotated.metadata.annotations["note"] = "x"
    scheduler._on_namespace_update(ns, annotated)
    assert scheduler.queue.sizes()["unschedulable"] == 1
    scheduler._on_namespace_delete(ns)
    assert scheduler.cache.namespace_labels == {}


def nominated(name: str, node: str = "n") -> core_pb2.Pod:
    pod = make_pod(name, cpu="1", priority=10)
    pod.status.nominated_node_name = node
    return pod


def test_a_pending_pods_nominated_node_from_its_status_reserves_room(
    scheduler: Scheduler,
) -> None:
    scheduler.cache.set_node(make_node("n"))
    scheduler._on_pod_add(nominated("vip"))
    assert scheduler.cache.nominated_node("default/vip") == "n"


def test_the_nomination_is_cleared_when_the_preemptor_binds(scheduler: Scheduler) -> None:
    scheduler.cache.set_node(make_node("n"))
    pending = nominated("vip")
    scheduler._on_pod_add(pending)
    bound = copy.deepcopy(pending)
    bound.spec.node_name = "n"
    scheduler._on_pod_update(pending, bound)
    assert scheduler.cache.nominated_node("default/vip") is None
    assert "default/vip" in scheduler.cache.pods


def test_the_nomination_is_cleared_when_the_preemptor_is_deleted(scheduler: Scheduler) -> None:
    park_unschedulable(scheduler, make_pod("low", cpu="1"))
    pending = nominated("vip")
    scheduler._on_pod_add(pending)
    scheduler._on_pod_delete(pending)
    assert scheduler.cache.nominated_node("default/vip") is None
    # The room it held may now take waiting pods.
    assert scheduler.queue.sizes()["unschedulable"] == 0


def test_a_status_update_that_has_not_caught_up_keeps_a_fresh_nomination(
    scheduler: Scheduler,
) -> None:
    pending = make_pod("vip", cpu="1", priority=10)
    scheduler._on_pod_add(pending)
    scheduler.cache.nominate(pod_info(pending), "n")  # what preemption does at once
    later = copy.deepcopy(pending)
    later.metadata.labels["x"] = "y"
    scheduler._on_pod_update(pending, later)
    assert scheduler.cache.nominated_node("default/vip") == "n"
    # Someone clearing the status's nomination clears it here too.
    with_status = nominated("vip")
    cleared = copy.deepcopy(with_status)
    cleared.status.nominated_node_name = ""
    scheduler._on_pod_update(with_status, cleared)
    assert scheduler.cache.nominated_node("default/vip") is None
