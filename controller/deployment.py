"""The Deployment controller: rolls a Deployment's pods from one template to the
next through ReplicaSets, one per template (named after the template's hash).

sync(key) is level-triggered: it reads the Deployment and its ReplicaSets from
the caches and takes the next step of whatever is due: a proportional scale when
spec.replicas changed, else one step of the strategy (RollingUpdate: grow the new
ReplicaSet within maxSurge, shrink old ones within maxUnavailable; Recreate: all
old pods gone first), then history clean-up and status with its conditions. The
arithmetic of each step is in rollout.py.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable, Sequence

from controller import reasons, rollout
from controller.base import (
    CONTROLLER_UID_INDEX,
    Controller,
    EventRecorder,
    RetryLater,
    claim,
    ensure_index,
    now_seconds,
)
from controller.hashing import pod_template_hash, templates_equal
from controller.rollout import Condition, ReplicaSetView, Status
from corral.api import (
    MAX_INT,
    NORMAL,
    POD_TERMINAL_PHASES,
    WARNING,
    InvalidSelector,
    apps,
    controller_ref,
    errors,
    from_label_selector,
    index_by_controller_uid,
    is_deleting,
    object_key,
    owner_reference,
    split_key,
    to_seconds,
    to_timestamp,
)
from corral.api.v1 import apps_pb2, core_pb2
from corral.client import Client, Informer, SharedInformers

ReplicaSet = apps_pb2.ReplicaSet
Deployment = apps_pb2.Deployment


# -- reading objects into the arithmetic's terms ------------------------------------------------


def _int_annotation(obj: ReplicaSet, name: str) -> int | None:
    value = obj.metadata.annotations.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def view(rs: ReplicaSet) -> ReplicaSetView:
    return ReplicaSetView(
        name=rs.metadata.name,
        replicas=rs.spec.replicas,
        available=rs.status.available_replicas,
        created=to_seconds(rs.metadata.creation_timestamp),
        max_replicas=_int_annotation(rs, apps.MAX_REPLICAS_ANNOTATION),
        desired_replicas=_int_annotation(rs, apps.DESIRED_REPLICAS_ANNOTATION),
    )


def revision_of(rs: ReplicaSet) -> int:
    return apps.parse_revision(rs.metadata.annotations.get(apps.REVISION_ANNOTATION))


def is_rolling(d: Deployment) -> bool:
    return d.spec.strategy.type != "Recreate"


def fenceposts(d: Deployment) -> tuple[int, int]:
    """(surge, unavailable) in pods; (0, 0) for Recreate."""
    if not is_rolling(d):
        return 0, 0
    rolling = d.spec.strategy.rolling_update
    return rollout.resolve_fenceposts(rolling.max_surge, rolling.max_unavailable, d.spec.replicas)


def max_unavailable(d: Deployment) -> int:
    if not is_rolling(d):
        return 0
    rolling = d.spec.strategy.rolling_update
    return rollout.max_unavailable(rolling.max_surge, rolling.max_unavailable, d.spec.replicas)


def has_progress_deadline(d: Deployment) -> bool:
    return d.spec.HasField("progress_deadline_seconds") and (
        d.spec.progress_deadline_seconds != MAX_INT
    )


def conditions_of(status: apps_pb2.DeploymentStatus) -> list[Condition]:
    return [
        Condition(c.type, c.status, c.reason, c.message,
                  to_seconds(c.last_update_time), to_seconds(c.last_transition_time))
        for c in status.conditions
    ]


def status_of(d: Deployment) -> Status:
    s = d.status
    return Status(s.observed_generation, s.replicas, s.updated_replicas, s.ready_replicas,
                  s.available_replicas, s.unavailable_replicas)


def find_new_replica_set(d: Deployment, replica_sets: Sequence[ReplicaSet]) -> ReplicaSet | None:
    """The ReplicaSet running the Deployment's current template (the oldest, if several)."""
    matching = [rs for rs in replica_sets if templates_equal(rs.spec.template, d.spec.template)]
    if not matching:
        return None
    return min(matching, key=lambda rs: (to_seconds(rs.metadata.creation_timestamp),
                                         rs.metadata.name))


class DeploymentController(Controller):
    name = "deployment"

    def __init__(
        self,
        client: Client,
        informers: SharedInformers,
        recorder: EventRecorder,
        *,
        workers: int = 4,
        clock: Callable[[], float] = now_seconds,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(client, workers=workers, logger=logger)
        self.recorder = recorder
        self.clock = clock
        self.deployments: Informer[Deployment] = informers.informer(Deployment)
        self.replica_sets: Informer[ReplicaSet] = informers.informer(ReplicaSet)
        self.pods: Informer[core_pb2.Pod] = informers.informer(core_pb2.Pod)
        ensure_index(self.replica_sets, CONTROLLER_UID_INDEX, index_by_controller_uid)
        ensure_index(self.pods, CONTROLLER_UID_INDEX, index_by_controller_uid)
        self.deployments.add_handler(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.replica_sets.add_handler(
            on_add=self._replica_set_changed,
            on_update=self._replica_set_updated,
            on_delete=self._replica_set_changed,
        )
        self.pods.add_handler(on_delete=self._pod_deleted)

    # -- event handlers -------------------------------------------------------------------

    def _owner_key(self, namespace: str, rs: ReplicaSet | None) -> str | None:
        ref = controller_ref(rs) if rs is not None else None
        if ref is None or ref.kind != "Deployment":
            return None
        d = self.deployments.get_by_name(ref.name, namespace)
        if d is None or d.metadata.uid != ref.uid:
            return None
        return object_key(d)

    def _enqueue_matching(self, rs: ReplicaSet) -> None:
        for d in self.deployments.by_index("namespace", rs.metadata.namespace):
            try:
                if from_label_selector(d.spec.selector).matches(rs.metadata.labels):
                    self.enqueue(d)
            except InvalidSelector:
                continue

    def _replica_set_changed(self, rs: ReplicaSet) -> None:
        key = self._owner_key(rs.metadata.namespace, rs)
        if key is not None:
            self.queue.add(key)
        elif controller_ref(rs) is None:
            self._enqueue_matching(rs)

    def _replica_set_updated(self, old: ReplicaSet, new: ReplicaSet) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        old_key = self._owner_key(old.metadata.namespace, old)
        if old_key is not None:
            self.queue.add(old_key)
        self._replica_set_changed(new)

    def _pod_deleted(self, pod: core_pb2.Pod) -> None:
        # A Recreate rollout waits for the last old pod to go.
        ref = controller_ref(pod)
        if ref is None or ref.kind != "ReplicaSet":
            return
        rs = self.replica_sets.get_by_name(ref.name, pod.metadata.namespace)
        key = self._owner_key(pod.metadata.namespace, rs)
        if key is not None:
            d = self.deployments.get(key)
            if d is not None and not is_rolling(d):
                self.queue.add(key)

    # -- sync -----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.deployments.get(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        namespace, _ = split_key(key)
        try:
            selector = from_label_selector(d.spec.selector)
        except InvalidSelector as error:
            self.log.warning("event=invalid_selector deployment=%s error=%s", key, error)
            return
        if selector.empty:
            self.recorder.event(d, WARNING, reasons.SELECTING_ALL,
                                "This deployment is selecting all pods. A non-empty selector "
                                "is required.")
            return
        claimed = await claim(
            self.client, d, self.replica_sets.by_index("namespace", namespace), selector, self.log
        )
        replica_sets = [rs for rs in claimed if isinstance(rs, ReplicaSet)]

        if is_deleting(d):
            d, new, old = await self._get_all(d, replica_sets, create=False)
            await self._sync_status(d, old, new, progress=False)
            return
        d = await self._check_paused_conditions(d)
        if d.spec.paused or self._is_scaling_event(d, replica_sets):
            await self._sync_scale(d, replica_sets)
            return
        if is_rolling(d):
            await self._rollout_rolling(d, replica_sets)
        else:
            await self._rollout_recreate(d, replica_sets)

    def _is_scaling_event(self, d: Deployment, replica_sets: Sequence[ReplicaSet]) -> bool:
        return rollout.is_scaling_event((view(rs) for rs in replica_sets), d.spec.replicas)

    # -- the new ReplicaSet and revisions ---------------------------------------------------

    async def _get_all(
        self, d: Deployment, replica_sets: Sequence[ReplicaSet], *, create: bool
    ) -> tuple[Deployment, ReplicaSet | None, list[ReplicaSet]]:
        """(deployment, new ReplicaSet, old ones), making the new one when asked and
        bringing revision annotations up to date."""
        new = find_new_replica_set(d, replica_sets)
        old = [rs for rs in replica_sets if rs is not new]
        new_revision = rollout.next_revision(revision_of(rs) for rs in old)
        if new is not None:
            d, new = await self._sync_existing_new(d, new, new_revision)
        elif create:
            d, new = await self._create_new(d, old, new_revision)
        return d, new, old

    async def _sync_existing_new(
        self, d: Deployment, new: ReplicaSet, new_revision: int
    ) -> tuple[Deployment, ReplicaSet]:
        changed = copy.deepcopy(new)
        needs_update = False
        if revision_of(new) < new_revision:
            # A rollback to an old template makes its ReplicaSet current again.
            changed.metadata.annotations[apps.REVISION_ANNOTATION] = str(new_revision)
            needs_update = True
        if changed.spec.min_ready_seconds != d.spec.min_ready_seconds:
            changed.spec.min_ready_seconds = d.spec.min_ready_seconds
            needs_update = True
        if needs_update:
            new = await self.client.update(changed)
        d = await self._set_revision(d, revision_of(new))
        conds = conditions_of(d.status)
        if has_progress_deadline(d) and rollout.find_condition(conds, apps.PROGRESSING) is None:
            conds = rollout.set_condition(conds, rollout.condition(
                apps.PROGRESSING, "True", apps.FOUND_NEW_RS,
                f'Found new replica set "{new.metadata.name}"', self.clock()))
            d = await self._write_status(d, status_of(d), conds)
        return d, new

    async def _create_new(
        self, d: Deployment, old: Sequence[ReplicaSet], new_revision: int
    ) -> tuple[Deployment, ReplicaSet]:
        collision_count = d.status.collision_count if d.status.HasField("collision_count") else 0
        template_hash = pod_template_hash(d.spec.template, collision_count)
        name = f"{d.metadata.name}-{template_hash}"
        desired = d.spec.replicas
        surge, _ = fenceposts(d)
        if is_rolling(d):
            replicas = rollout.new_replica_set_replicas(
                desired, surge, sum(rs.spec.replicas for rs in old), 0
            )
        else:
            replicas = desired
        rs = ReplicaSet()
        rs.metadata.name = name
        rs.metadata.namespace = d.metadata.namespace
        rs.metadata.owner_references.append(owner_reference(d))
        rs.spec.template.CopyFrom(d.spec.template)
        rs.spec.template.metadata.labels[apps.POD_TEMPLATE_HASH_LABEL] = template_hash
        rs.metadata.labels.update(rs.spec.template.metadata.labels)
        rs.spec.selector.CopyFrom(d.spec.selector)
        rs.spec.selector.match_labels[apps.POD_TEMPLATE_HASH_LABEL] = template_hash
        rs.spec.min_ready_seconds = d.spec.min_ready_seconds
        rs.spec.replicas = replicas
        annotations = rs.metadata.annotations
        if apps.CHANGE_CAUSE_ANNOTATION in d.metadata.annotations:
            annotations[apps.CHANGE_CAUSE_ANNOTATION] = (
                d.metadata.annotations[apps.CHANGE_CAUSE_ANNOTATION]
            )
        annotations[apps.REVISION_ANNOTATION] = str(new_revision)
        annotations[apps.DESIRED_REPLICAS_ANNOTATION] = str(desired)
        annotations[apps.MAX_REPLICAS_ANNOTATION] = str(desired + surge)
        key = object_key(d)
        try:
            created = await self.client.create(rs)
        except errors.AlreadyExists:
            existing = await self.client.get(ReplicaSet, name, d.metadata.namespace)
            ref = controller_ref(existing)
            if ref is not None and ref.uid == d.metadata.uid and templates_equal(
                existing.spec.template, d.spec.template
            ):
                # Ours, made by an earlier sync the cache has not shown us yet.
                d = await self._set_revision(d, revision_of(existing))
                return d, existing
            # Another template hashes to the same name: salt the hash and try again.
            bumped = copy.deepcopy(d)
            bumped.status.collision_count = collision_count + 1
            await self.client.update_status(bumped)
            raise RetryLater(
                f"deployment {key}: replica set name {name} is taken by another template "
                f"(hash collision); collisionCount is now {collision_count + 1}"
            ) from None
        self.log.info(
            "event=replicaset_created deployment=%s replicaset=%s replicas=%d revision=%d",
            key, name, replicas, new_revision)
        if replicas > 0:
            self.recorder.event(d, NORMAL, reasons.SCALING_REPLICA_SET,
                                f"Scaled up replica set {name} from 0 to {replicas}")
        if has_progress_deadline(d):
            conds = rollout.set_condition(conditions_of(d.status), rollout.condition(
                apps.PROGRESSING, "True", apps.NEW_RS_CREATED,
                f'Created new replica set "{name}"', self.clock()))
            d = await self._write_status(d, status_of(d), conds)
        d = await self._set_revision(d, new_revision)
        return d, created

    async def _set_revision(self, d: Deployment, revision: int) -> Deployment:
        if revision <= 0:
            return d
        value = str(revision)
        if d.metadata.annotations.get(apps.REVISION_ANNOTATION) == value:
            return d
        changed = copy.deepcopy(d)
        changed.metadata.annotations[apps.REVISION_ANNOTATION] = value
        return await self.client.update(changed)

    # -- scaling --------------------------------------------------------------------------

    async def _scale(self, d: Deployment, rs: ReplicaSet, size: int) -> tuple[bool, ReplicaSet]:
        """Sets rs's replicas (and the annotations that remember the Deployment's size);
        (whether anything was written, the ReplicaSet as it is now)."""
        surge, _ = fenceposts(d)
        desired = str(d.spec.replicas)
        maximum = str(d.spec.replicas + surge)
        annotations = rs.metadata.annotations
        size_changed = rs.spec.replicas != size
        annotations_changed = (
            annotations.get(apps.DESIRED_REPLICAS_ANNOTATION) != desired
            or annotations.get(apps.MAX_REPLICAS_ANNOTATION) != maximum
        )
        if not size_changed and not annotations_changed:
            return False, rs
        changed = copy.deepcopy(rs)
        changed.spec.replicas = size
        changed.metadata.annotations[apps.DESIRED_REPLICAS_ANNOTATION] = desired
        changed.metadata.annotations[apps.MAX_REPLICAS_ANNOTATION] = maximum
        updated = await self.client.update(changed)
        if size_changed:
            direction = "up" if size > rs.spec.replicas else "down"
            self.log.info("event=replicaset_scaled deployment=%s replicaset=%s from=%d to=%d",
                          object_key(d), rs.metadata.name, rs.spec.replicas, size)
            self.recorder.event(
                d, NORMAL, reasons.SCALING_REPLICA_SET,
                f"Scaled {direction} replica set {rs.metadata.name} from {rs.spec.replicas} "
                f"to {size}",
            )
        return True, updated

    async def _scale_many(
        self, d: Deployment, replica_sets: Sequence[ReplicaSet], sizes: dict[str, int]
    ) -> list[ReplicaSet]:
        result = []
        for rs in replica_sets:
            if rs.metadata.name in sizes:
                _, rs = await self._scale(d, rs, sizes[rs.metadata.name])
            result.append(rs)
        return result

    async def _sync_scale(self, d: Deployment, replica_sets: Sequence[ReplicaSet]) -> None:
        """A paused Deployment or one whose replicas changed: resize its ReplicaSets
        (proportionally when several have pods) without moving the rollout on."""
        d, new, old = await self._get_all(d, replica_sets, create=False)
        new, old = await self._scale_deployment(d, new, old)
        if d.spec.paused:
            old = await self._cleanup(d, old)
        await self._sync_status(d, old, new, progress=False)

    async def _scale_deployment(
        self, d: Deployment, new: ReplicaSet | None, old: list[ReplicaSet]
    ) -> tuple[ReplicaSet | None, list[ReplicaSet]]:
        desired = d.spec.replicas
        latest = rollout.active_or_latest(
            view(new) if new is not None else None, [view(rs) for rs in old]
        )
        if latest is not None:
            if new is not None and latest.name == new.metadata.name:
                _, new = await self._scale(d, new, desired)
            else:
                old = await self._scale_many(d, old, {latest.name: desired})
            return new, old
        if rollout.is_saturated(view(new) if new is not None else None, desired):
            old = await self._scale_many(
                d, old, {rs.metadata.name: 0 for rs in old if rs.spec.replicas > 0}
            )
            return new, old
        if is_rolling(d):
            surge, _ = fenceposts(d)
            everyone = [*old, *([new] if new is not None else [])]
            sizes = rollout.proportional_sizes(
                [view(rs) for rs in everyone], desired, surge, d.status.replicas
            )
            scaled = await self._scale_many(d, everyone, sizes)
            if new is not None:
                new = scaled[-1]
                scaled = scaled[:-1]
            old = scaled
        return new, old

    # -- strategies -----------------------------------------------------------------------

    async def _rollout_rolling(self, d: Deployment, replica_sets: Sequence[ReplicaSet]) -> None:
        d, new, old = await self._get_all(d, replica_sets, create=True)
        assert new is not None
        desired = d.spec.replicas
        surge, _ = fenceposts(d)
        if new.spec.replicas != desired:
            if new.spec.replicas > desired:
                target = desired
            else:
                total = new.spec.replicas + sum(rs.spec.replicas for rs in old)
                target = rollout.new_replica_set_replicas(desired, surge, total, new.spec.replicas)
            scaled, new = await self._scale(d, new, target)
            if scaled:
                await self._sync_status(d, old, new, progress=True)
                return
        targets = rollout.old_replica_set_targets(
            [view(rs) for rs in old], new.spec.replicas, new.status.available_replicas,
            desired, max_unavailable(d),
        )
        if targets:
            old = await self._scale_many(d, old, targets)
            await self._sync_status(d, old, new, progress=True)
            return
        if rollout.is_complete(status_of(d), desired, d.metadata.generation):
            old = await self._cleanup(d, old)
        await self._sync_status(d, old, new, progress=True)

    async def _rollout_recreate(self, d: Deployment, replica_sets: Sequence[ReplicaSet]) -> None:
        d, new, old = await self._get_all(d, replica_sets, create=False)
        active_old = {rs.metadata.name: 0 for rs in old if rs.spec.replicas > 0}
        if active_old:
            old = await self._scale_many(d, old, active_old)
            await self._sync_status(d, old, new, progress=True)
            return
        if self._old_pods_running(old):
            await self._sync_status(d, old, new, progress=True)
            return
        if new is None:
            d, new, old = await self._get_all(d, replica_sets, create=True)
            assert new is not None
        _, new = await self._scale(d, new, d.spec.replicas)
        if rollout.is_complete(status_of(d), d.spec.replicas, d.metadata.generation):
            old = await self._cleanup(d, old)
        await self._sync_status(d, old, new, progress=True)

    def _old_pods_running(self, old: Sequence[ReplicaSet]) -> bool:
        if any(rs.status.replicas > 0 for rs in old):
            return True
        for rs in old:
            for pod in self.pods.by_index(CONTROLLER_UID_INDEX, rs.metadata.uid):
                if pod.status.phase not in POD_TERMINAL_PHASES:
                    return True
        return False

    # -- history --------------------------------------------------------------------------

    async def _cleanup(self, d: Deployment, old: list[ReplicaSet]) -> list[ReplicaSet]:
        """Deletes the oldest empty ReplicaSets beyond revisionHistoryLimit."""
        limit = (d.spec.revision_history_limit if d.spec.HasField("revision_history_limit")
                 else 10)
        entries = [
            rollout.HistoryEntry(
                rs.metadata.name, revision_of(rs), rs.spec.replicas, rs.status.replicas,
                deleting=is_deleting(rs),
                unobserved=rs.metadata.generation > rs.status.observed_generation,
            )
            for rs in old
        ]
        doomed = set(rollout.replica_sets_to_clean(entries, limit))
        for rs in old:
            if rs.metadata.name not in doomed:
                continue
            self.log.info("event=old_replicaset_deleting deployment=%s replicaset=%s revision=%d",
                          object_key(d), rs.metadata.name, revision_of(rs))
            with contextlib.suppress(errors.NotFound, errors.Conflict):
                await self.client.delete(ReplicaSet, rs.metadata.name, rs.metadata.namespace,
                                         uid=rs.metadata.uid)
        return [rs for rs in old if rs.metadata.name not in doomed]

    # -- status ---------------------------------------------------------------------------

    async def _check_paused_conditions(self, d: Deployment) -> Deployment:
        if not has_progress_deadline(d):
            return d
        current = conditions_of(d.status)
        conds = rollout.paused_conditions(current, d.spec.paused, self.clock())
        if conds == current:
            return d
        return await self._write_status(d, status_of(d), conds)

    async def _sync_status(
        self, d: Deployment, old: Sequence[ReplicaSet], new: ReplicaSet | None, *, progress: bool
    ) -> None:
        """Writes the status the ReplicaSets add up to; with `progress`, moves the
        Progressing condition and schedules a look at the deadline."""
        now = self.clock()
        everyone = [*old, *([new] if new is not None else [])]
        desired = d.spec.replicas
        numbers = rollout.compute_status(
            d.metadata.generation,
            view(new) if new is not None else None,
            [view(rs) for rs in everyone],
            status_replicas={rs.metadata.name: rs.status.replicas for rs in everyone},
            ready={rs.metadata.name: rs.status.ready_replicas for rs in everyone},
        )
        conds = rollout.set_condition(
            conditions_of(d.status),
            rollout.available_condition(numbers.available_replicas, desired, max_unavailable(d),
                                        now),
        )
        deadline = d.spec.progress_deadline_seconds
        if not has_progress_deadline(d):
            conds = rollout.remove_condition(conds, apps.PROGRESSING)
        elif progress:
            conds = rollout.progress_conditions(
                conds, old=status_of(d), new=numbers, desired=desired,
                generation=d.metadata.generation,
                new_rs_name=new.metadata.name if new is not None else "",
                deadline_seconds=deadline, now=now,
            )
        failure = None
        if new is not None:
            failure = next((c for c in new.status.conditions
                            if c.type == apps.REPLICA_FAILURE and c.status == "True"), None)
        if failure is not None:
            conds = rollout.set_condition(conds, rollout.condition(
                apps.REPLICA_FAILURE, "True", failure.reason, failure.message, now))
        else:
            conds = rollout.remove_condition(conds, apps.REPLICA_FAILURE)
        await self._write_status(d, numbers, conds)
        if progress and has_progress_deadline(d):
            complete = rollout.is_complete(numbers, desired, d.metadata.generation)
            wait = rollout.seconds_until_deadline(conds, complete, deadline, now)
            if wait is not None:
                self.queue.add_after(object_key(d), wait)

    async def _write_status(
        self, d: Deployment, numbers: Status, conds: Sequence[Condition]
    ) -> Deployment:
        status = apps_pb2.DeploymentStatus(
            observed_generation=numbers.observed_generation,
            replicas=numbers.replicas,
            updated_replicas=numbers.updated_replicas,
            ready_replicas=numbers.ready_replicas,
            available_replicas=numbers.available_replicas,
            unavailable_replicas=numbers.unavailable_replicas,
        )
        if d.status.HasField("collision_count"):
            status.collision_count = d.status.collision_count
        for c in conds:
            status.conditions.add(
                type=c.type, status=c.status, reason=c.reason, message=c.message,
                last_update_time=to_timestamp(c.last_update),
                last_transition_time=to_timestamp(c.last_transition),
            )
        if status == d.status:
            return d
        changed = copy.deepcopy(d)
        changed.status.CopyFrom(status)
        return await self.client.update_status(changed)

