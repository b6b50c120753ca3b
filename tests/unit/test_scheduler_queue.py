"""The scheduling queue: priority order, backoff, unschedulable pods and moves."""

from __future__ import annotations

from scheduler.model import pod_info
from scheduler.queue import SchedulingQueue
from scheduler.testing import make_pod


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def popped_names(queue: SchedulingQueue) -> list[str]:
    names = []
    while (queued := queue.pop()) is not None:
        names.append(queued.pod.name)
        queue.done(queued.key)
    return names


def test_higher_priority_first_then_older_first() -> None:
    queue = SchedulingQueue(clock=Clock())
    queue.add(pod_info(make_pod("low-old", priority=0, created=1)))
    queue.add(pod_info(make_pod("high", priority=10, created=5)))
    queue.add(pod_info(make_pod("low-new", priority=0, created=3)))
    queue.add(pod_info(make_pod("mid", priority=5, created=9)))
    assert popped_names(queue) == ["high", "mid", "low-old", "low-new"]


def test_adding_a_pod_twice_queues_it_once_with_the_newer_version() -> None:
    queue = SchedulingQueue(clock=Clock())
    queue.add(pod_info(make_pod("p", priority=0)))
    queue.add(pod_info(make_pod("p", priority=7)))
    queued = queue.pop()
    assert queued is not None and queued.pod.priority == 7
    assert queue.pop() is None


def test_unschedulable_pod_waits_for_a_cluster_change() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock, initial_backoff=1, unschedulable_timeout=60)
    queue.add(pod_info(make_pod("p")))
    queued = queue.pop()
    assert queued is not None
    queue.requeue_unschedulable(queued)
    clock.now += 30
    queue.flush()
    assert queue.pop() is None  # no hot loop
    queue.move_all_to_active()
    assert [q.pod.name for q in [queue.pop()] if q] == ["p"]


def test_unschedulable_pod_is_retried_after_the_timeout_anyway() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock, unschedulable_timeout=60)
    queue.add(pod_info(make_pod("p")))
    queued = queue.pop()
    assert queued is not None
    queue.requeue_unschedulable(queued)
    clock.now += 61
    queue.flush()
    assert queue.pop() is not None


def test_a_change_during_the_attempt_sends_the_pod_to_backoff_not_unschedulable() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock, initial_backoff=1)
    queue.add(pod_info(make_pod("p")))
    queued = queue.pop()
    assert queued is not None
    queue.move_all_to_active()  # e.g. a node was added while we were looking
    queue.requeue_unschedulable(queued)
    assert queue.sizes() == {"active": 0, "backoff": 1, "unschedulable": 0}
    clock.now += 1
    queue.flush()
    assert queue.pop() is not None


def test_backoff_doubles_up_to_the_maximum() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock, initial_backoff=1, max_backoff=4)
    queue.add(pod_info(make_pod("p")))
    waits = []
    for _ in range(4):
        queued = queue.pop()
        assert queued is not None
        queue.requeue_backoff(queued)
        waits.append(queue.flush())
        clock.now += 10
        queue.flush()
    assert waits == [1, 2, 4, 4]


def test_deleted_pod_is_not_popped() -> None:
    queue = SchedulingQueue(clock=Clock())
    queue.add(pod_info(make_pod("a")))
    queue.add(pod_info(make_pod("b")))
    queue.delete("default/a")
    assert popped_names(queue) == ["b"]
    assert len(queue) == 0


def test_pods_in_flight_return_to_the_queue_when_leadership_ends() -> None:
    queue = SchedulingQueue(clock=Clock())
    queue.add(pod_info(make_pod("p")))
    assert queue.pop() is not None
    assert queue.pop() is None
    queue.return_in_flight()
    assert popped_names(queue) == ["p"]
