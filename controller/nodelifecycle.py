"""The node lifecycle controller: notices nodes whose agent has gone quiet.

Agents renew a Lease per node (namespace corral-node-lease, name = node name).
When neither the lease nor the Ready condition's heartbeat has moved for
`grace_period` seconds, the node's Ready condition becomes Unknown and it gets the
node.kubernetes.io/unreachable:NoExecute taint (Ready=False from a live agent gets
node.kubernetes.io/not-ready:NoExecute). Its pods are marked not Ready at once, so
they drop out of Services, and after `eviction_timeout` (or a pod's own
tolerationSeconds for the taint) they are deleted so their ReplicaSets replace them
elsewhere. A silent agent cannot remove its finalizer from those pods, so this
controller removes it and deletes them with grace 0, as Kubernetes' pod garbage
collector force-deletes pods of dead nodes. Pods bound to a node that no longer
exists are force-deleted too.

Both periods are measured on this process's clock from when it saw things happen
(a heartbeat change, a node turning bad), never from timestamps in the objects, as
Kubernetes does: clock skew between machines does not matter, and a controller that
starts after the whole cluster was down for a while gives every node a full grace
period (and its pods a full eviction timeout after that) instead of evicting at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable

from controller import reasons
from controller.base import NODE_INDEX, Controller, EventRecorder, RetryLater, ensure_index
from corral.api import NORMAL, errors, index_by_node, is_deleting, object_key, to_timestamp
from corral.api.v1 import coordination_pb2, core_pb2, meta_pb2
from corral.client import Client, Informer, SharedInformers

NODE_LEASE_NAMESPACE = "corral-node-lease"
AGENT_FINALIZER = "corral.io/agent"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
NO_EXECUTE = "NoExecute"

DEFAULT_GRACE_PERIOD = 40.0
DEFAULT_EVICTION_TIMEOUT = 60.0
DEFAULT_MONITOR_PERIOD = 5.0


def ready_condition(node: core_pb2.Node) -> meta_pb2.Condition | None:
    return next((c for c in node.status.conditions if c.type == "Ready"), None)


def toleration_for(pod: core_pb2.Pod, taint_key: str) -> core_pb2.Toleration | None:
    """The pod's toleration of the NoExecute taint `taint_key`, if it has one."""
    for toleration in pod.spec.tolerations:
        if toleration.effect not in ("", NO_EXECUTE):
            continue
        if toleration.operator == "Exists":
            if toleration.key in ("", taint_key):
                return toleration
        elif toleration.key == taint_key and toleration.value == "":
            return toleration
    return None


def eviction_delay(pod: core_pb2.Pod, taint_key: str, default: float) -> float | None:
    """Seconds after the node went bad that the pod is evicted; None: never."""
    toleration = toleration_for(pod, taint_key)
    if toleration is None:
        return default
    if toleration.HasField("toleration_seconds"):
        return float(max(toleration.toleration_seconds, 0))
    return None


class NodeLifecycleController(Controller):
    name = "nodelifecycle"

    def __init__(
        self,
        client: Client,
        informers: SharedInformers,
        recorder: EventRecorder,
        *,
        grace_period: float = DEFAULT_GRACE_PERIOD,
        eviction_timeout: float = DEFAULT_EVICTION_TIMEOUT,
        monitor_period: float = DEFAULT_MONITOR_PERIOD,
        workers: int = 2,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(client, workers=workers, logger=logger)
        self.recorder = recorder
        self.grace_period = grace_period
        self.eviction_timeout = eviction_timeout
        self.monitor_period = monitor_period
        self.clock = clock
        self.nodes: Informer[core_pb2.Node] = informers.informer(core_pb2.Node)
        self.leases: Informer[coordination_pb2.Lease] = informers.informer(
            coordination_pb2.Lease, NODE_LEASE_NAMESPACE
        )
        self.pods: Informer[core_pb2.Pod] = informers.informer(core_pb2.Pod)
        ensure_index(self.pods, NODE_INDEX, index_by_node)
        # node name -> (heartbeat marker, local time it was first seen)
        self._probes: dict[str, tuple[tuple[int, int], float]] = {}
        # node name -> (bad Ready state, local time this process first saw it): evictions
        # count from here, never from a timestamp a previous run (or the agent) wrote.
        self._bad_since: dict[str, tuple[str, float]] = {}
        self.nodes.add_handler(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new),
                               on_delete=self.enqueue)
        self.leases.add_handler(
            on_add=lambda lease: self.queue.add(lease.metadata.name),
            on_update=lambda old, new: self.queue.add(new.metadata.name),
        )

    async def run(self) -> None:
        ticker = asyncio.create_task(self._tick(), name="nodelifecycle-monitor")
        try:
            await super().run()
        finally:
            ticker.cancel()

    async def _tick(self) -> None:
        """Level-triggered: every node (and every node name pods are bound to) is
        looked at each monitor period, whatever events came or did not."""
        while True:
            await asyncio.sleep(self.monitor_period)
            for name in {*self.nodes.keys(), *self.pods.index_values(NODE_INDEX)}:
                self.queue.add(name)

    # -- sync -----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None:
            await self._collect_orphans(key)
            return
        now = self.clock()
        lease = self.leases.get(f"{NODE_LEASE_NAMESPACE}/{key}")
        last_seen = self._heartbeat_seen(key, node, lease, now)
        ready = ready_condition(node)
        if now - last_seen > self.grace_period:
            if ready is None or ready.status != "Unknown":
                node = await self._mark_unknown(node, now)
                ready = ready_condition(node)
            state = "Unknown"
        elif ready is None or ready.status == "Unknown":
            # The agent has not said anything yet, or Unknown is left from before this
            # process started: it has not seen the node silent for a grace period itself.
            return
        else:
            state = ready.status
        node = await self._sync_taints(node, state)
        if state == "True":
            self._bad_since.pop(key, None)
            return
        assert ready is not None
        pods = self.pods.by_index(NODE_INDEX, key)
        # A silent agent cannot say its pods stopped serving: say it for it. A live agent
        # that reports its node NotReady keeps its pods' conditions itself (writing them
        # here too would have the two fight).
        failures = await self._mark_pods_not_ready(pods) if state == "Unknown" else 0
        since = self._seen_bad_since(key, state, now)
        next_look = await self._evict(node, pods, since, now, force=state == "Unknown")
        if failures:
            raise RetryLater(f"node {key}: {failures} pods could not be marked not ready")
        if next_look is not None:
            self.queue.add_after(key, next_look)

    def _heartbeat_seen(
        self, name: str, node: core_pb2.Node, lease: coordination_pb2.Lease | None, now: float
    ) -> float:
        ready = ready_condition(node)
        marker = (
            lease.spec.renew_time.ToNanoseconds() if lease is not None else 0,
            ready.last_heartbeat_time.ToNanoseconds() if ready is not None else 0,
        )
        previous = self._probes.get(name)
        if previous is None or previous[0] != marker:
            self._probes[name] = (marker, now)
            return now
        return previous[1]

    def _seen_bad_since(self, name: str, state: str, now: float) -> float:
        """Local time this process first saw the node in `state` (now, if just now)."""
        previous = self._bad_since.get(name)
        if previous is None or previous[0] != state:
            self._bad_since[name] = (state, now)
            return now
        return previous[1]

    async def _mark_unknown(self, node: core_pb2.Node, now: float) -> core_pb2.Node:
        changed = copy.deepcopy(node)
        ready = ready_condition(changed)
        if ready is None:
            ready = changed.status.conditions.add(type="Ready")
        ready.status = "Unknown"
        ready.reason = "NodeStatusUnknown"
        ready.message = "The node's agent stopped renewing its lease."
        ready.last_transition_time.CopyFrom(to_timestamp(now))
        updated = await self.client.update_status(changed)
        self.log.warning("event=node_not_ready node=%s reason=lease-expired grace=%ss",
                         node.metadata.name, self.grace_period)
        self.recorder.event(node, NORMAL, reasons.NODE_NOT_READY,
                            f"Node {node.metadata.name} status is now: NodeNotReady")
        return updated

    async def _sync_taints(self, node: core_pb2.Node, state: str) -> core_pb2.Node:
        wanted = {"Unknown": UNREACHABLE_TAINT, "False": NOT_READY_TAINT}.get(state)
        ours = (UNREACHABLE_TAINT, NOT_READY_TAINT)
        present = {t.key for t in node.spec.taints if t.key in ours and t.effect == NO_EXECUTE}
        if present == ({wanted} if wanted else set()):
            return node
        changed = copy.deepcopy(node)
        kept = [t for t in changed.spec.taints if not (t.key in ours and t.effect == NO_EXECUTE)]
        del changed.spec.taints[:]
        changed.spec.taints.extend(kept)
        if wanted:
            changed.spec.taints.add(key=wanted, effect=NO_EXECUTE,
                                    time_added=to_timestamp(self.clock()))
        self.log.info("event=node_tainted node=%s taint=%s", node.metadata.name, wanted or "none")
        return await self.client.update(changed)

    async def _mark_pods_not_ready(self, pods: list[core_pb2.Pod]) -> int:
        failures = 0
        for pod in pods:
            ready = next((c for c in pod.status.conditions if c.type == "Ready"), None)
            if ready is None or ready.status == "False" or is_deleting(pod):
                continue
            changed = copy.deepcopy(pod)
            for condition in changed.status.conditions:
                if condition.type in ("Ready", "ContainersReady") and condition.status != "False":
                    condition.status = "False"
                    condition.reason = "NodeNotReady"
                    condition.last_transition_time.CopyFrom(to_timestamp(self.clock()))
            try:
                await self.client.update_status(changed)
            except errors.NotFound:
                continue
            except errors.ApiError as error:
                failures += 1
                self.log.warning("event=pod_not_ready_failed pod=%s error=%s",
                                 object_key(pod), error)
        return failures

    async def _evict(
        self, node: core_pb2.Node, pods: list[core_pb2.Pod], since: float, now: float, *,
        force: bool,
    ) -> float | None:
        """Deletes the pods whose time is up; seconds until the next one's is (or None)."""
        taint = UNREACHABLE_TAINT if force else NOT_READY_TAINT
        next_look: float | None = None
        for pod in pods:
            delay = eviction_delay(pod, taint, self.eviction_timeout)
            if delay is None:
                continue
            due = since + delay
            if now < due:
                next_look = min(next_look or due - now, due - now)
                continue
            if is_deleting(pod) and not force:
                continue
            await self._delete_pod(pod, node, force=force)
        return next_look + 0.1 if next_look is not None else None

    async def _delete_pod(self, pod: core_pb2.Pod, node: core_pb2.Node | None, *,
                          force: bool) -> None:
        meta = pod.metadata
        if not is_deleting(pod):
            self.log.warning("event=pod_evicting pod=%s node=%s force=%s", object_key(pod),
                             pod.spec.node_name, force)
            self.recorder.event(pod, NORMAL, reasons.TAINT_MANAGER_EVICTION,
                                f"Marking for deletion Pod {object_key(pod)}")
        try:
            await self.client.delete(core_pb2.Pod, meta.name, meta.namespace, uid=meta.uid,
                                     grace_period_seconds=0 if force else None)
        except (errors.NotFound, errors.Conflict):
            return
        if force:
            # The agent is gone and cannot let go of the pod: do it for it.
            def drop(fresh: object) -> bool:
                assert isinstance(fresh, core_pb2.Pod)
                finalizers = fresh.metadata.finalizers
                if fresh.metadata.uid != meta.uid or AGENT_FINALIZER not in finalizers:
                    return False
                fresh.metadata.finalizers.remove(AGENT_FINALIZER)
                return True

            with contextlib.suppress(errors.NotFound):
                await self.client.update_with_retry(core_pb2.Pod, meta.name, meta.namespace, drop)

    async def _collect_orphans(self, node_name: str) -> None:
        """Force-deletes pods bound to a node that does not exist (confirmed with a GET)."""
        pods = self.pods.by_index(NODE_INDEX, node_name)
        if not pods:
            self._probes.pop(node_name, None)
            self._bad_since.pop(node_name, None)
            return
        try:
            await self.client.get(core_pb2.Node, node_name)
            return  # the cache is behind: the node exists
        except errors.NotFound:
            pass
        for pod in pods:
            await self._delete_pod(pod, None, force=True)
