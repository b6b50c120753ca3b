"""The scheduler service: informers feed the cache and the queue; one loop takes the most
urgent pending pod, runs the framework on the cache, assumes the pod on the chosen node
and hands the binding to the binder, which sends bindings in batches (the Bind verb
takes many per call) while the loop goes on with the next pod.

- Informers and handlers run whether or not this replica leads, so a standby has a warm
  cache and takes over quickly; only the leader schedules and binds.
- A failed bind forgets the assumption and puts the pod back (with backoff); a pod that
  fits nowhere gets PodScheduled=False with the "0/N nodes are available" message, a
  FailedScheduling event, maybe a preemption, and waits for a cluster change.
- A preemptor is nominated to the node it preempted on (status.nominatedNodeName, and at
  once in the cache): until it is placed or gone, filters count its requests there, so
  less important pods don't take the room its victims free.
- Namespaces are watched for their labels (pod affinity terms' namespaceSelector); a
  label change sends unschedulable pods round again.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

import prometheus_client as prom

from corral.api import DEFAULT_SCHEDULER_NAME, POD_TERMINAL_PHASES, errors
from corral.api.v1 import core_pb2
from corral.client import NORMAL, WARNING, Client, EventRecorder, LeaderElection, SharedInformers
from scheduler.cache import Cache
from scheduler.config import Config
from scheduler.framework import Framework
from scheduler.model import InvalidPod, PodInfo, pod_info
from scheduler.preemption import Preemption, find_preemption
from scheduler.queue import QueuedPod, SchedulingQueue

COMPONENT = "corral-scheduler"
LEASE_NAME = "corral-scheduler"

_log = logging.getLogger("corral.scheduler")

PENDING = prom.Gauge("corral_scheduler_pending_pods", "Pods waiting to be scheduled", ["queue"])
ATTEMPTS = prom.Counter(
    "corral_scheduler_schedule_attempts_total", "Scheduling attempts by result", ["result"]
)
E2E_LATENCY = prom.Histogram(
    "corral_scheduler_e2e_scheduling_duration_seconds",
    "From a pod entering the queue to its binding succeeding",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BINDS = prom.Counter("corral_scheduler_binds_total", "Bindings sent, by result", ["result"])
BIND_BATCH = prom.Histogram(
    "corral_scheduler_bind_batch_size", "Bindings per Bind call",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
)
PREEMPTION_VICTIMS = prom.Counter(
    "corral_scheduler_preemption_victims_total", "Pods evicted to make room"
)


@dataclass
class Options:
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    config: Config = field(default_factory=Config)
    election: LeaderElection = field(
        default_factory=lambda: LeaderElection(lease_name=LEASE_NAME))
    # Bindings per Bind call at most, and Bind calls in flight at once.
    bind_batch_size: int = 500
    binds_in_flight: int = 4
    event_qps: float = 20.0
    unschedulable_timeout: float = 60.0


@dataclass
class _Binding:
    queued: QueuedPod
    node: str


class Scheduler:
    def __init__(self, client: Client, options: Options | None = None) -> None:
        self.client = client
        self.options = options or Options()
        self.framework = Framework(self.options.config)
        self.cache = Cache(watches_namespaces=True)
        self.queue = SchedulingQueue(unschedulable_timeout=self.options.unschedulable_timeout)
        self.informers = SharedInformers(client)
        self.pods = self.informers.informer(core_pb2.Pod)
        self.nodes = self.informers.informer(core_pb2.Node)
        self.namespaces = self.informers.informer(core_pb2.Namespace)
        self.recorder = EventRecorder(
            client, COMPONENT, host=self.options.election.identity, qps=self.options.event_qps
        )
        self.pods.add_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)
        self.nodes.add_handler(self._on_node_add, self._on_node_update, self._on_node_delete)
        self.namespaces.add_handler(
            self._on_namespace_add, self._on_namespace_update, self._on_namespace_delete
        )
        self._wake = asyncio.Event()
        self._bind_wake = asyncio.Event()
        self._to_bind: list[_Binding] = []
        self._bind_slots = asyncio.Semaphore(self.options.binds_in_flight)
        self._background: set[asyncio.Task[None]] = set()
        self.leading = asyncio.Event()

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Watches, and schedules while leading, until cancelled."""
        self.informers.start()
        try:
            await self.informers.wait_for_sync()
            _log.info("event=caches_synced nodes=%d pods=%d pending=%d",
                      len(self.nodes), len(self.pods), len(self.queue))
            if not self.options.election.enabled:
                await self._lead()
                return
            elector = self.options.election.elector(self.client)
            while True:
                await elector.run(self._lead)
                _log.warning("event=leadership_lost identity=%s", elector.identity)
        finally:
            await self.informers.stop()

    async def _lead(self) -> None:
        _log.info("event=leading identity=%s", self.options.election.identity)
        self.leading.set()
        self.queue.move_all_to_active()
        self._wake.set()
        tasks = [
            asyncio.create_task(self._schedule_loop(), name="schedule"),
            asyncio.create_task(self._bind_loop(), name="bind"),
            asyncio.create_task(self._tick_loop(), name="tick"),
            asyncio.create_task(self.recorder.run(), name="events"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.leading.clear()
            for task in [*tasks, *self._background]:
                task.cancel()
            await asyncio.gather(*tasks, *self._background, return_exceptions=True)
            self._abandon_unfinished()

    def _abandon_unfinished(self) -> None:
        """After leading: drop assumptions whose binds may never have been sent, so a standby
        cache holds only what the API says; the pods go back to the queue."""
        self._to_bind.clear()
        for key in list(self.cache.assumed):
            self.cache.forget(key)
        self.queue.return_in_flight()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _tick_loop(self) -> None:
        """Moves pods out of backoff and keeps the pending gauges current."""
        while True:
            wait = self.queue.flush()
            if self.queue.has_active():
                self._wake.set()
            for name, size in self.queue.sizes().items():
                PENDING.labels(name).set(size)
            await asyncio.sleep(min(1.0, wait) if wait is not None else 1.0)

    # -- scheduling ----------------------------------------------------------------------------

    async def _schedule_loop(self) -> None:
        while True:
            queued = self.queue.pop()
            if queued is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                self._schedule_one(queued)
            except Exception:
                _log.exception("event=schedule_failed pod=%s", queued.key)
                ATTEMPTS.labels("error").inc()
                self.queue.requeue_backoff(queued)
            # Let watches and bind replies in between pods.
            await asyncio.sleep(0)

    def _schedule_one(self, queued: QueuedPod) -> None:
        pod = queued.pod
        current = self.pods.get(pod.key)
        if (
            current is None or current.spec.node_name or current.metadata.uid != pod.uid
            or pod.key in self.cache.pods
        ):
            self.queue.done(pod.key)  # bound or gone meanwhile
            return
        result = self.framework.schedule(pod, self.cache)
        if result.node is not None:
            ATTEMPTS.labels("scheduled").inc()
            self.cache.assume(pod, result.node)
            self._to_bind.append(_Binding(queued, result.node))
            if len(self._to_bind) == 1:
                self._bind_wake.set()
            return
        ATTEMPTS.labels("unschedulable").inc()
        message = result.message
        _log.info("event=unschedulable pod=%s attempts=%d message=%r",
                  pod.key, queued.attempts, message)
        preemption = None
        if (
            result.failures
            and pod.priority > min(
                (other.priority for other in self.cache.pods.values()), default=pod.priority
            )
            and not self._victims_still_leaving(pod)
        ):
            preemption = find_preemption(self.framework, pod, self.cache, result)
            if preemption is not None:
                self.cache.nominate(pod, preemption.node)
        self.recorder.event(current, WARNING, "FailedScheduling", message)
        self._spawn(self._mark_unschedulable(pod.key, pod.uid, message, preemption))
        if preemption is not None:
            self._spawn(self._preempt(current, preemption))
        self.queue.requeue_unschedulable(queued)

    def _victims_still_leaving(self, pod: PodInfo) -> bool:
        """True when the pod already preempted and less important pods on its nominated node
        are still terminating: wait for them rather than evict more (as Kubernetes does)."""
        node_name = self.cache.nominated_node(pod.key)
        node = self.cache.nodes.get(node_name) if node_name else None
        return node is not None and any(
            other.terminating and other.priority < pod.priority for other in node.pods.values()
        )

    async def _mark_unschedulable(
        self, key: str, uid: str, message: str, preemption: Preemption | None
    ) -> None:
        """PodScheduled=False with the reason, and the nominated node when preempting; written
        only when it changes, so retries of an unschedulable pod don't rewrite it."""
        current = self.pods.get(key)
        if current is None or current.metadata.uid != uid or current.spec.node_name:
            return
        nominated = (
            preemption.node if preemption is not None else current.status.nominated_node_name
        )
        for condition in current.status.conditions:
            if (condition.type == "PodScheduled" and condition.status == "False"
                    and condition.message == message
                    and current.status.nominated_node_name == nominated):
                return
        pod = copy.deepcopy(current)
        _set_unschedulable(pod, message)
        pod.status.nominated_node_name = nominated
        try:
            await self.client.update_status(pod)
        except (errors.Conflict, errors.NotFound):
            pass  # changed or gone: the next attempt writes the news
        except errors.ApiError as error:
            _log.warning("event=status_update_failed pod=%s error=%s: %s",
                         key, type(error).__name__, error)

    async def _preempt(self, preemptor: core_pb2.Pod, preemption: Preemption) -> None:
        name = f"{preemptor.metadata.namespace}/{preemptor.metadata.name}"
        for victim in preemption.victims:
            _log.info("event=preempting pod=%s victim=%s node=%s grace_period=%d",
                      name, victim.key, preemption.node, victim.grace_period_seconds)
            try:
                deleted = await self.client.delete(
                    core_pb2.Pod, victim.name, victim.namespace,
                    grace_period_seconds=victim.grace_period_seconds, uid=victim.uid,
                )
            except (errors.NotFound, errors.Conflict):
                continue
            except errors.ApiError as error:
                _log.warning("event=preemption_failed pod=%s victim=%s error=%s: %s",
                             name, victim.key, type(error).__name__, error)
                continue
            PREEMPTION_VICTIMS.inc()
            assert isinstance(deleted, core_pb2.Pod)
            self.recorder.event(
                deleted, NORMAL, "Preempted",
                f"Preempted by pod {name} (priority {preemptor.spec.priority}) "
                f"on node {preemption.node}",
            )
        self.recorder.event(
            preemptor, NORMAL, "Preempting",
            f"Evicting {len(preemption.victims)} lower-priority pod(s) on node {preemption.node}",
        )

    # -- binding -------------------------------------------------------------------------------

    async def _bind_loop(self) -> None:
        while True:
            if not self._to_bind:
                self._bind_wake.clear()
                await self._bind_wake.wait()
                continue
            await self._bind_slots.acquire()
            batch = self._to_bind[: self.options.bind_batch_size]
            del self._to_bind[: len(batch)]
            self._spawn(self._bind(batch))

    async def _bind(self, batch: list[_Binding]) -> None:
        try:
            BIND_BATCH.observe(len(batch))
            try:
                results: list[errors.ApiError | None] = await self.client.bind([
                    (b.queued.pod.namespace, b.queued.pod.name, b.node, b.queued.pod.uid)
                    for b in batch
                ])
            except errors.ApiError as failure:
                results = [failure] * len(batch)
            now = time.monotonic()
            for binding, error in zip(batch, results, strict=True):
                self._bound(binding, error, now)
        finally:
            self._bind_slots.release()

    def _bound(self, binding: _Binding, error: errors.ApiError | None, now: float) -> None:
        queued = binding.queued
        pod = queued.pod
        if error is None:
            BINDS.labels("ok").inc()
            E2E_LATENCY.observe(now - queued.first_queued)
            self.queue.done(pod.key)
            current = self.pods.get(pod.key)
            if current is not None:
                self.recorder.event(
                    current, NORMAL, "Scheduled",
                    f"Successfully assigned {pod.key} to {binding.node}",
                )
            return
        BINDS.labels(type(error).__name__).inc()
        self.cache.forget(pod.key)
        if isinstance(error, errors.NotFound | errors.FailedPrecondition):
            # Gone, being deleted, or bound by someone else: the informer will tell.
            self.queue.done(pod.key)
            return
        _log.warning("event=bind_failed pod=%s node=%s error=%s: %s",
                     pod.key, binding.node, type(error).__name__, error)
        self.queue.requeue_backoff(queued)
        self.queue.move_all_to_active()  # the forgotten assumption freed room

    # -- informer handlers ---------------------------------------------------------------------

    def _responsible_for(self, pod: core_pb2.Pod) -> bool:
        return (
            not pod.spec.node_name
            and (pod.spec.scheduler_name or DEFAULT_SCHEDULER_NAME) == self.options.scheduler_name
            and not pod.metadata.HasField("deletion_timestamp")
            and pod.status.phase not in POD_TERMINAL_PHASES
        )

    def _enqueue(self, pod: core_pb2.Pod) -> None:
        try:
            info = pod_info(pod)
        except InvalidPod as error:
            _log.warning("event=invalid_pod pod=%s/%s error=%r",
                         pod.metadata.namespace, pod.metadata.name, str(error))
            self.recorder.event(pod, WARNING, "FailedScheduling", str(error))
            return
        self.queue.add(info)
        self._wake.set()

    def _cache_bound(self, pod: core_pb2.Pod) -> None:
        key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        if pod.status.phase in POD_TERMINAL_PHASES:
            if self.cache.remove_pod(key) is not None:
                self.queue.move_all_to_active()
            return
        known = self.cache.pods.get(key)
        if (known is not None and self.cache.is_assumed(key) and known.uid == pod.metadata.uid
                and known.node_name == pod.spec.node_name):
            # Our own binding came back: keep the PodInfo we made, just confirm it.
            known.resource_version = pod.metadata.resource_version
            self.cache.add_pod(known)
            return
        if known is not None and known.resource_version == pod.metadata.resource_version:
            return
        try:
            info = pod_info(pod)
        except InvalidPod:
            return  # bound by someone else with a spec we cannot read: it holds nothing here
        self.cache.add_pod(info)

    def _track_nomination(self, old: core_pb2.Pod | None, new: core_pb2.Pod) -> None:
        """Follows status.nominatedNodeName of a pending pod of ours. An update without one
        keeps the nomination made in the cache unless the status had one and lost it: our
        own status write may not have come back yet."""
        key = f"{new.metadata.namespace}/{new.metadata.name}"
        node_name = new.status.nominated_node_name
        if not node_name:
            if old is not None and old.status.nominated_node_name:
                self._remove_nomination(key)
            return
        known = self.cache.nominated.get(key)
        if (known is not None and known[1] == node_name and old is not None
                and old.spec == new.spec):
            return
        try:
            self.cache.nominate(pod_info(new), node_name)
        except InvalidPod:
            self._remove_nomination(key)

    def _remove_nomination(self, key: str) -> None:
        if self.cache.remove_nomination(key):
            # The room it held is free for others now.
            self.queue.move_all_to_active()
            self._wake.set()

    def _on_pod_add(self, pod: core_pb2.Pod) -> None:
        if pod.spec.node_name:
            self._cache_bound(pod)
        elif self._responsible_for(pod):
            self._track_nomination(None, pod)
            self._enqueue(pod)

    def _on_pod_update(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        key = f"{new.metadata.namespace}/{new.metadata.name}"
        if new.spec.node_name:
            if not old.spec.node_name:
                self.queue.delete(key)
            self._cache_bound(new)
            return
        if not self._responsible_for(new):
            self.queue.delete(key)
            self._remove_nomination(key)
            return
        self._track_nomination(old, new)
        # Only a change that may change the decision re-queues the pod: our own status
        # writes (PodScheduled=False) must not send an unschedulable pod round again.
        if (old.spec != new.spec or old.metadata.labels != new.metadata.labels
                or key not in self.queue):
            self._enqueue(new)

    def _on_pod_delete(self, pod: core_pb2.Pod) -> None:
        key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        self.queue.delete(key)
        self._remove_nomination(key)
        if self.cache.remove_pod(key) is not None:
            self.queue.move_all_to_active()
            self._wake.set()

    def _on_node_add(self, node: core_pb2.Node) -> None:
        self.cache.set_node(node)
        self.queue.move_all_to_active()
        self._wake.set()

    def _on_node_update(self, old: core_pb2.Node, new: core_pb2.Node) -> None:
        generation = self.cache.node_generation
        self.cache.set_node(new)
        if (self.cache.node_generation != generation
                or old.status.allocatable != new.status.allocatable):
            self.queue.move_all_to_active()
            self._wake.set()

    def _on_node_delete(self, node: core_pb2.Node) -> None:
        self.cache.remove_node(node.metadata.name)

    def _on_namespace_add(self, namespace: core_pb2.Namespace) -> None:
        if self.cache.set_namespace(namespace):
            # A namespaceSelector may select it: pods waiting on one may fit now.
            self.queue.move_all_to_active()
            self._wake.set()

    def _on_namespace_update(self, old: core_pb2.Namespace, new: core_pb2.Namespace) -> None:
        self._on_namespace_add(new)

    def _on_namespace_delete(self, namespace: core_pb2.Namespace) -> None:
        self.cache.remove_namespace(namespace.metadata.name)


def _set_unschedulable(pod: core_pb2.Pod, message: str) -> None:
    for condition in pod.status.conditions:
        if condition.type == "PodScheduled":
            break
    else:
        condition = pod.status.conditions.add(type="PodScheduled")
    if condition.status != "False":
        condition.last_transition_time.GetCurrentTime()
    condition.status = "False"
    condition.reason = "Unschedulable"
    condition.message = message
    condition.last_probe_time.GetCurrentTime()


async def run_scheduler(client: Client, options: Options) -> None:
    """Runs a Scheduler until cancelled (what the CLI and in-process tests call)."""
    scheduler = Scheduler(client, options)
    with contextlib.suppress(asyncio.CancelledError):
        await scheduler.run()
