"""The ReplicaSet controller: keeps exactly spec.replicas pods matching each
ReplicaSet's selector, and reports how many are ready and available.

sync(key) reads the ReplicaSet and its namespace's pods from the caches, claims
pods (adopting matching orphans, releasing those that no longer match), then,
unless creations or deletions it asked for are still on their way to the cache
(expectations), creates or deletes the difference, and writes the status.
"""

from __future__ import annotations

import asyncio
import copy
import logging

from controller import reasons, victims
from controller.base import (
    CONTROLLER_UID_INDEX,
    Controller,
    EventRecorder,
    RetryLater,
    claim,
    ensure_index,
    gather_errors,
    now_seconds,
)
from controller.expectations import Expectations
from corral.api import (
    NORMAL,
    WARNING,
    InvalidSelector,
    controller_ref,
    errors,
    from_label_selector,
    index_by_controller_uid,
    is_deleting,
    object_key,
    owner_reference,
    split_key,
    to_timestamp,
)
from corral.api.v1 import apps_pb2, core_pb2, meta_pb2
from corral.client import Client, Informer, SharedInformers

# At most this many pods are created or deleted in one sync (Kubernetes' burstReplicas).
BURST_REPLICAS = 500
# Creations go in batches of 1, 2, 4, ...: a template that cannot be created (quota,
# validation) fails once, not 500 times.
SLOW_START_INITIAL_BATCH = 1


def _pod_from_template(rs: apps_pb2.ReplicaSet) -> core_pb2.Pod:
    template = rs.spec.template
    pod = core_pb2.Pod()
    pod.metadata.generate_name = f"{rs.metadata.name}-"
    pod.metadata.namespace = rs.metadata.namespace
    pod.metadata.labels.update(template.metadata.labels)
    pod.metadata.annotations.update(template.metadata.annotations)
    pod.metadata.finalizers.extend(template.metadata.finalizers)
    pod.metadata.owner_references.append(owner_reference(rs))
    pod.spec.CopyFrom(template.spec)
    return pod


class ReplicaSetController(Controller):
    name = "replicaset"

    def __init__(
        self,
        client: Client,
        informers: SharedInformers,
        recorder: EventRecorder,
        *,
        workers: int = 4,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(client, workers=workers, logger=logger)
        self.recorder = recorder
        self.expectations = Expectations()
        self.replica_sets: Informer[apps_pb2.ReplicaSet] = informers.informer(apps_pb2.ReplicaSet)
        self.pods: Informer[core_pb2.Pod] = informers.informer(core_pb2.Pod)
        ensure_index(self.pods, CONTROLLER_UID_INDEX, index_by_controller_uid)
        self.replica_sets.add_handler(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self._replica_set_deleted,
        )
        self.pods.add_handler(
            on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted
        )

    # -- event handlers -------------------------------------------------------------------

    def _replica_set_deleted(self, rs: apps_pb2.ReplicaSet) -> None:
        self.expectations.forget(object_key(rs))
        self.enqueue(rs)

    def _owner_key(self, pod: core_pb2.Pod, ref: meta_pb2.OwnerReference | None) -> str | None:
        """The key of the ReplicaSet `ref` points at, if it exists with that uid."""
        if ref is None or ref.kind != "ReplicaSet":
            return None
        rs = self.replica_sets.get_by_name(ref.name, pod.metadata.namespace)
        if rs is None or rs.metadata.uid != ref.uid:
            return None
        return object_key(rs)

    def _enqueue_matching(self, pod: core_pb2.Pod) -> None:
        """An orphan may be adopted by any ReplicaSet whose selector matches it."""
        for rs in self.replica_sets.by_index("namespace", pod.metadata.namespace):
            try:
                if from_label_selector(rs.spec.selector).matches(pod.metadata.labels):
                    self.enqueue(rs)
            except InvalidSelector:
                continue

    def _pod_added(self, pod: core_pb2.Pod) -> None:
        if is_deleting(pod):
            self._pod_deleted(pod)
            return
        ref = controller_ref(pod)
        if ref is not None:
            key = self._owner_key(pod, ref)
            if key is not None:
                self.expectations.creation_observed(key)
                self.queue.add(key)
            return
        self._enqueue_matching(pod)

    def _pod_updated(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return  # a resync: nothing changed
        if is_deleting(new) and not is_deleting(old):
            self._pod_deleted(new)
            return
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref is not None and (new_ref is None or old_ref.uid != new_ref.uid):
            key = self._owner_key(old, old_ref)
            if key is not None:
                self.queue.add(key)
        if new_ref is not None:
            key = self._owner_key(new, new_ref)
            if key is None:
                return
            self.queue.add(key)
            rs = self.replica_sets.get(key)
            became_ready = victims.is_ready(new) and not victims.is_ready(old)
            if rs is not None and became_ready and rs.spec.min_ready_seconds > 0:
                # Look again when it has been ready long enough to count as available.
                self.queue.add_after(key, rs.spec.min_ready_seconds + 0.5)
            return
        if old.metadata.labels != new.metadata.labels or old_ref is not None:
            self._enqueue_matching(new)

    def _pod_deleted(self, pod: core_pb2.Pod) -> None:
        key = self._owner_key(pod, controller_ref(pod))
        if key is not None:
            self.expectations.deletion_observed(key, object_key(pod))
            self.queue.add(key)

    # -- sync -----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.replica_sets.get(key)
        if cached is None:
            self.expectations.forget(key)
            return
        rs = copy.deepcopy(cached)
        namespace, _ = split_key(key)
        try:
            selector = from_label_selector(rs.spec.selector)
        except InvalidSelector as error:
            self.log.warning("event=invalid_selector replicaset=%s error=%s", key, error)
            return
        needs_sync = self.expectations.satisfied(key)
        candidates = self.pods.by_index("namespace", namespace)
        claimed = await claim(self.client, rs, candidates, selector, self.log)
        pods = [pod for pod in claimed if isinstance(pod, core_pb2.Pod) and victims.is_active(pod)]

        failure: str | None = None
        if needs_sync and not is_deleting(rs):
            failure = await self._manage_replicas(key, rs, pods)
        await self._write_status(rs, pods, failure)
        if failure is not None:
            raise RetryLater(f"replicaset {key}: {failure}")

    async def _manage_replicas(
        self, key: str, rs: apps_pb2.ReplicaSet, pods: list[core_pb2.Pod]
    ) -> str | None:
        """Creates or deletes the difference; a message when some of it failed."""
        diff = len(pods) - rs.spec.replicas
        if diff < 0:
            return await self._create(key, rs, min(-diff, BURST_REPLICAS))
        if diff > 0:
            return await self._delete(key, rs, pods, min(diff, BURST_REPLICAS))
        return None

    async def _create(self, key: str, rs: apps_pb2.ReplicaSet, count: int) -> str | None:
        self.expectations.expect_creations(key, count)
        self.log.info("event=pods_creating replicaset=%s count=%d", key, count)
        remaining = count
        batch = SLOW_START_INITIAL_BATCH
        while remaining > 0:
            size = min(batch, remaining)
            results = await asyncio.gather(
                *(self.client.create(_pod_from_template(rs)) for _ in range(size)),
                return_exceptions=True,
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            for created in results:
                if isinstance(created, core_pb2.Pod):
                    self.recorder.event(rs, NORMAL, reasons.SUCCESSFUL_CREATE,
                                        f"Created pod: {created.metadata.name}")
            remaining -= size
            if failures:
                # The failed ones and those never tried will not show up in the cache.
                self.expectations.lower_creations(key, len(failures) + remaining)
                error = failures[0]
                if not isinstance(error, errors.ApiError):
                    raise error
                message = f"Error creating: {error}"
                self.recorder.event(rs, WARNING, reasons.FAILED_CREATE, message)
                return message
            batch *= 2
        return None

    async def _delete(
        self, key: str, rs: apps_pb2.ReplicaSet, pods: list[core_pb2.Pod], count: int
    ) -> str | None:
        doomed = victims.pick_victims(pods, count)
        self.expectations.expect_deletions(key, [object_key(p) for p in doomed])
        self.log.info("event=pods_deleting replicaset=%s count=%d", key, len(doomed))

        async def delete(pod: core_pb2.Pod) -> None:
            try:
                await self.client.delete(
                    "Pod", pod.metadata.name, pod.metadata.namespace, uid=pod.metadata.uid
                )
            except (errors.NotFound, errors.Conflict):
                # Already gone (or replaced by a new pod of that name): nothing to wait for.
                self.expectations.deletion_observed(key, object_key(pod))
                return
            except errors.ApiError:
                self.expectations.deletion_observed(key, object_key(pod))
                raise
            self.recorder.event(rs, NORMAL, reasons.SUCCESSFUL_DELETE,
                                f"Deleted pod: {pod.metadata.name}")

        failures = await gather_errors(delete(pod) for pod in doomed)
        if failures:
            message = f"Error deleting: {failures[0]}"
            self.recorder.event(rs, WARNING, reasons.FAILED_DELETE, message)
            return message
        return None

    async def _write_status(
        self, rs: apps_pb2.ReplicaSet, pods: list[core_pb2.Pod], failure: str | None
    ) -> None:
        now = now_seconds()
        template_labels = rs.spec.template.metadata.labels
        status = apps_pb2.ReplicaSetStatus(
            replicas=len(pods),
            fully_labeled_replicas=sum(
                all(p.metadata.labels.get(k) == v for k, v in template_labels.items())
                for p in pods
            ),
            ready_replicas=sum(victims.is_ready(p) for p in pods),
            available_replicas=sum(
                victims.is_available(p, rs.spec.min_ready_seconds, now) for p in pods
            ),
            observed_generation=rs.metadata.generation,
        )
        previous = next((c for c in rs.status.conditions if c.type == "ReplicaFailure"), None)
        if failure is not None:
            reason = "FailedCreate" if failure.startswith("Error creating") else "FailedDelete"
            if previous is not None and previous.reason == reason and previous.message == failure:
                status.conditions.append(previous)
            else:
                status.conditions.add(
                    type="ReplicaFailure", status="True", reason=reason, message=failure,
                    last_transition_time=to_timestamp(now),
                )
        if status != rs.status:
            updated = copy.deepcopy(rs)
            updated.status.CopyFrom(status)
            await self.client.update_status(updated)
        if rs.spec.min_ready_seconds > 0 and status.ready_replicas > status.available_replicas:
            self.queue.add_after(object_key(rs), rs.spec.min_ready_seconds)
