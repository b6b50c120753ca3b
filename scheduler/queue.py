"""The scheduling queue: pending pods, higher priority first, then older first.

Three places a pod can wait, as in Kubernetes:
- active: ready to be tried, a heap ordered by (-priority, creation time);
- backoff: failed recently; becomes active when its backoff (1 s doubling to 10 s by
  default) has passed;
- unschedulable: fitted nowhere; stays there until something changes in the cluster
  (`move_all_to_active`: a node added or changed, a pod deleted...) or, as a safety
  net, for `unschedulable_timeout` seconds. So a pod that cannot fit is not retried in
  a hot loop, and is retried promptly when it might fit.

A change that happens while a pod is being tried (between `pop` and its return as
unschedulable) would be missed; the queue remembers the cycle of the last move
request and sends such a pod to backoff instead of unschedulable.

Pure and synchronous, with an injectable clock: the service polls `flush()` and
waits on its own event.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler.model import PodInfo


@dataclass(eq=False)
class QueuedPod:
    pod: PodInfo
    # When the pod first entered the queue (for the end-to-end latency metric).
    first_queued: float
    attempts: int = 0
    # When the pod may next be tried (for backoff).
    ready_at: float = 0.0
    # When it became unschedulable.
    since: float = 0.0
    cycle: int = 0

    @property
    def key(self) -> str:
        return self.pod.key


@dataclass(order=True)
class _Entry:
    sort_key: tuple[int, float, int]
    key: str = field(compare=False)
    generation: int = field(compare=False)


class SchedulingQueue:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        initial_backoff: float = 1.0,
        max_backoff: float = 10.0,
        unschedulable_timeout: float = 60.0,
    ) -> None:
        self.clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.unschedulable_timeout = unschedulable_timeout
        self._heap: list[_Entry] = []
        self._active: dict[str, QueuedPod] = {}
        self._generation: dict[str, int] = {}
        self._backoff: dict[str, QueuedPod] = {}
        self._unschedulable: dict[str, QueuedPod] = {}
        # Pods popped and being scheduled now.
        self._in_flight: dict[str, QueuedPod] = {}
        self._seq = itertools.count()
        self.scheduling_cycle = 0
        self._move_request_cycle = -1

    # -- sizes ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._active) + len(self._backoff) + len(self._unschedulable)

    def sizes(self) -> dict[str, int]:
        return {
            "active": len(self._active),
            "backoff": len(self._backoff),
            "unschedulable": len(self._unschedulable),
        }

    def __contains__(self, key: object) -> bool:
        return key in self._active or key in self._backoff or key in self._unschedulable

    # -- adding and removing -------------------------------------------------------------------

    def add(self, pod: PodInfo) -> None:
        """A new or changed pending pod. A changed pod waiting as unschedulable is tried again
        (its change may make it fit); one in backoff keeps waiting with its new spec."""
        key = pod.key
        if key in self._in_flight:
            # Being tried now: remember the newer version for when it comes back.
            self._in_flight[key].pod = pod
            return
        if key in self._active:
            queued = self._active[key]
            queued.pod = pod
            self._push(queued)
            return
        if key in self._backoff:
            self._backoff[key].pod = pod
            return
        waiting = self._unschedulable.pop(key, None)
        if waiting is None:
            waiting = QueuedPod(pod, first_queued=self.clock())
        else:
            waiting.pod = pod
        self._activate(waiting)

    def delete(self, key: str) -> None:
        self._active.pop(key, None)
        self._generation.pop(key, None)
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)
        self._in_flight.pop(key, None)

    def _activate(self, queued: QueuedPod) -> None:
        self._active[queued.key] = queued
        self._push(queued)

    def _push(self, queued: QueuedPod) -> None:
        generation = self._generation.get(queued.key, 0) + 1
        self._generation[queued.key] = generation
        pod = queued.pod
        sort_key = (-pod.priority, pod.created, next(self._seq))
        heapq.heappush(self._heap, _Entry(sort_key, queued.key, generation))

    # -- taking --------------------------------------------------------------------------------

    def pop(self) -> QueuedPod | None:
        """The most urgent active pod, or None when none is ready."""
        while self._heap:
            entry = heapq.heappop(self._heap)
            if self._generation.get(entry.key) != entry.generation:
                continue  # superseded by a later push, or deleted
            del self._generation[entry.key]
            queued = self._active.pop(entry.key)
            self.scheduling_cycle += 1
            queued.cycle = self.scheduling_cycle
            queued.attempts += 1
            self._in_flight[queued.key] = queued
            return queued
        return None

    def done(self, key: str) -> None:
        """The pod was scheduled (or is gone): forget it."""
        self._in_flight.pop(key, None)

    def requeue_unschedulable(self, queued: QueuedPod) -> None:
        """The pod fitted nowhere: wait for a cluster change (or back off, if one happened
        while it was being tried)."""
        if self._in_flight.pop(queued.key, None) is None:
            return  # deleted meanwhile
        now = self.clock()
        if self._move_request_cycle >= queued.cycle:
            self._to_backoff(queued, now)
            return
        queued.since = now
        queued.ready_at = now + self._backoff_delay(queued)
        self._unschedulable[queued.key] = queued

    def requeue_backoff(self, queued: QueuedPod) -> None:
        """Trying the pod failed for another reason (bind error, ...): retry after backoff."""
        if self._in_flight.pop(queued.key, None) is None:
            return
        self._to_backoff(queued, self.clock())

    def _to_backoff(self, queued: QueuedPod, now: float) -> None:
        queued.ready_at = now + self._backoff_delay(queued)
        self._backoff[queued.key] = queued

    def _backoff_delay(self, queued: QueuedPod) -> float:
        return min(self.max_backoff, self.initial_backoff * 2 ** max(0, queued.attempts - 1))

    # -- moving --------------------------------------------------------------------------------

    def move_all_to_active(self) -> None:
        """Something changed that may let unschedulable pods fit: try them again (pods whose
        backoff has not passed go to backoff first)."""
        self._move_request_cycle = self.scheduling_cycle
        if not self._unschedulable:
            return
        now = self.clock()
        for queued in self._unschedulable.values():
            if queued.ready_at > now:
                self._backoff[queued.key] = queued
            else:
                self._activate(queued)
        self._unschedulable.clear()

    def flush(self) -> float | None:
        """Activates pods whose backoff passed and pods unschedulable for too long; returns
        the seconds until the next backoff ends (None: nothing waits)."""
        now = self.clock()
        next_ready: float | None = None
        for key, queued in list(self._backoff.items()):
            if queued.ready_at <= now:
                del self._backoff[key]
                self._activate(queued)
            elif next_ready is None or queued.ready_at < next_ready:
                next_ready = queued.ready_at
        for key, queued in list(self._unschedulable.items()):
            if now - queued.since >= self.unschedulable_timeout:
                del self._unschedulable[key]
                self._activate(queued)
        return None if next_ready is None else next_ready - now

    def return_in_flight(self) -> None:
        """Puts every pod being tried back in the active queue (the scheduler stopped leading
        with decisions or binds unfinished)."""
        for queued in self._in_flight.values():
            self._activate(queued)
        self._in_flight.clear()

    def has_active(self) -> bool:
        return bool(self._active)

    def pending_keys(self) -> list[str]:
        return [*self._active, *self._backoff, *self._unschedulable]
