"""The HPA loop: every sync period, per HorizontalPodAutoscaler, read the target's Scale,
the pods it selects and their metrics, let `decide` (autoscaler.hpa.decision) choose,
apply it through the Scale verb, and write the status.

Level-triggered like every corral controller: a sync reads everything it needs again,
so a missed watch event costs nothing. The only state kept between syncs is each HPA's
`History` (recent recommendations and scale events), in memory, as in Kubernetes.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from autoscaler.hpa.behavior import History, record_scale
from autoscaler.hpa.conditions import ABLE_TO_SCALE, SCALING_ACTIVE, ConditionUpdate
from autoscaler.hpa.decision import decide
from autoscaler.hpa.metrics import Metric
from autoscaler.hpa.replicas import Proposal, Tuning
from autoscaler.hpa.source import MetricsSource
from autoscaler.hpa.spec import InvalidSpec, autoscaler_from_spec
from corral.api import (
    InvalidSelector,
    errors,
    kinds,
    object_key,
    parse_label_selector,
    quantity,
    split_key,
    to_timestamp,
)
from corral.api.v1 import autoscaling_pb2, meta_pb2
from corral.client import NORMAL, WARNING, Client, EventRecorder, Informer, WorkQueue, run_workers

DEFAULT_SYNC_PERIOD = 15.0

SYNCS = Counter("corral_autoscaler_hpa_syncs_total", "HPA syncs by result", ["result"])
SYNC_SECONDS = Histogram(
    "corral_autoscaler_hpa_sync_duration_seconds", "Time to sync one HPA",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RESCALES = Counter("corral_autoscaler_hpa_rescales_total", "Scale changes made by HPAs",
                   ["direction"])
DESIRED = Gauge("corral_autoscaler_hpa_desired_replicas", "Desired replicas per HPA",
                ["namespace", "name"])

_log = logging.getLogger("corral.autoscaler.hpa")


def set_condition(
    status: autoscaling_pb2.HorizontalPodAutoscalerStatus,
    update: ConditionUpdate,
    now: float,
) -> None:
    """Sets one condition; its transition time moves only when its status changes."""
    for condition in status.conditions:
        if condition.type == update.type:
            if condition.status != update.status:
                condition.last_transition_time.CopyFrom(to_timestamp(now))
            condition.status = update.status
            condition.reason = update.reason
            condition.message = update.message
            return
    status.conditions.append(meta_pb2.Condition(
        type=update.type, status=update.status, reason=update.reason, message=update.message,
        last_transition_time=to_timestamp(now),
    ))


def metric_statuses(
    metrics: tuple[Metric, ...], proposals: tuple[Proposal | None, ...]
) -> list[autoscaling_pb2.MetricStatus]:
    """status.currentMetrics: one entry per metric that gave a value, as Kubernetes writes
    them (averageUtilization and averageValue for utilisation targets)."""
    statuses = []
    for metric, proposal in zip(metrics, proposals, strict=False):
        if proposal is None:
            continue
        current = autoscaling_pb2.MetricValueStatus(
            average_value=quantity.format_millis(proposal.average_value)
        )
        if proposal.utilization is not None:
            current.average_utilization = proposal.utilization
        status = autoscaling_pb2.MetricStatus(type=metric.type)
        if metric.type == "Resource":
            status.resource.name = metric.name
            status.resource.current.CopyFrom(current)
        elif metric.type == "ContainerResource":
            status.container_resource.name = metric.name
            status.container_resource.container = metric.container
            status.container_resource.current.CopyFrom(current)
        else:
            status.pods.metric.name = metric.name
            status.pods.current.CopyFrom(current)
        statuses.append(status)
    return statuses


class HpaController:
    name = "horizontal-pod-autoscaler"

    def __init__(
        self,
        client: Client,
        hpas: Informer[autoscaling_pb2.HorizontalPodAutoscaler],
        source: MetricsSource,
        recorder: EventRecorder,
        *,
        sync_period: float = DEFAULT_SYNC_PERIOD,
        tuning: Tuning | None = None,
        clock: Callable[[], float] = time.time,
        workers: int = 2,
    ) -> None:
        self.client = client
        self.hpas = hpas
        self.source = source
        self.recorder = recorder
        self.sync_period = sync_period
        self.tuning = tuning or Tuning()
        self.clock = clock
        self.workers = workers
        self.queue = WorkQueue("hpa", base_delay=0.5, max_delay=sync_period)
        self.histories: dict[str, History] = {}
        hpas.add_handler(
            on_add=self._enqueue,
            on_update=lambda old, new: self._enqueue(new) if old is not new else None,
            on_delete=self._forget,
        )

    def _enqueue(self, obj: autoscaling_pb2.HorizontalPodAutoscaler) -> None:
        self.queue.add(object_key(obj))

    def _forget(self, obj: autoscaling_pb2.HorizontalPodAutoscaler) -> None:
        self.histories.pop(object_key(obj), None)
        with contextlib.suppress(KeyError):
            DESIRED.remove(obj.metadata.namespace, obj.metadata.name)

    async def run(self) -> None:
        try:
            await run_workers(self.queue, self._sync_and_requeue, self.workers, _log)
        finally:
            self.queue.shutdown()

    async def _sync_and_requeue(self, key: str) -> None:
        started = time.monotonic()
        try:
            await self.sync(key)
        except Exception:
            SYNCS.labels("error").inc()
            raise
        else:
            SYNCS.labels("ok").inc()
            if self.hpas.get(key) is not None:
                # The periodic re-evaluation: Kubernetes resyncs every HPA each period.
                self.queue.add_after(key, self.sync_period)
        finally:
            SYNC_SECONDS.observe(time.monotonic() - started)

    async def sync(self, key: str) -> None:
        cached = self.hpas.get(key)
        if cached is None:
            self.histories.pop(key, None)
            return
        original = cached
        obj = copy.deepcopy(cached)
        namespace, name = split_key(key)
        now = self.clock()
        status = obj.status
        try:
            await self._reconcile(key, obj, now)
        finally:
            if status != original.status:
                status.observed_generation = obj.metadata.generation
                try:
                    await self.client.update_status(obj)
                except errors.Conflict:
                    # A newer version arrived; its own event queues the key again.
                    _log.debug("event=status_conflict hpa=%s", key)
                except errors.NotFound:
                    self.histories.pop(key, None)
        _log.debug("event=synced hpa=%s/%s", namespace, name)

    async def _reconcile(
        self, key: str, obj: autoscaling_pb2.HorizontalPodAutoscaler, now: float
    ) -> None:
        status = obj.status
        namespace = obj.metadata.namespace
        ref = obj.spec.scale_target_ref
        reference = f"{ref.kind}/{ref.name}"
        try:
            spec = autoscaler_from_spec(obj.spec)
        except InvalidSpec as error:
            set_condition(status, ConditionUpdate(
                SCALING_ACTIVE, "False", "InvalidMetricSourceType",
                f"the HPA was unable to compute the replica count: {error}"), now)
            self.recorder.event(obj, WARNING, "InvalidMetricSourceType", str(error))
            return
        try:
            kind = kinds.lookup(ref.kind) if ref.kind else None
        except kinds.UnknownKind:
            kind = None
        if kind is None or not kind.scalable:
            message = f"the HPA controller cannot scale {reference}: only Deployment and " \
                      "ReplicaSet have the Scale verb"
            set_condition(status, ConditionUpdate(
                ABLE_TO_SCALE, "False", "FailedGetScale", message), now)
            self.recorder.event(obj, WARNING, "FailedGetScale", message)
            return
        try:
            scale = await self.client.scale(kind, ref.name, namespace)
        except errors.ApiError as error:
            message = f"the HPA controller was unable to get the target's current scale: {error}"
            set_condition(status, ConditionUpdate(
                ABLE_TO_SCALE, "False", "FailedGetScale", message), now)
            self.recorder.event(obj, WARNING, "FailedGetScale", str(error))
            return
        set_condition(status, ConditionUpdate(
            ABLE_TO_SCALE, "True", "SucceededGetScale",
            "the HPA controller was able to get the target's current scale"), now)

        current = scale.replicas
        try:
            if not scale.selector:
                raise InvalidSelector("the HPA target's scale is missing a selector")
            selector = parse_label_selector(scale.selector)
        except InvalidSelector as error:
            set_condition(status, ConditionUpdate(
                SCALING_ACTIVE, "False", "InvalidSelector", str(error)), now)
            self.recorder.event(obj, WARNING, "SelectorRequired", str(error))
            return
        target = self.source.for_target(namespace, selector, now)
        history = self.histories.get(key, History())
        decision = decide(spec, current, target.pods, target.usages, history, now,
                              self.tuning)
        self.histories[key] = decision.history
        for update in decision.conditions:
            set_condition(status, update, now)
        for reason, message in decision.warnings:
            self.recorder.event(obj, WARNING, reason, message)
        statuses = metric_statuses(spec.metrics, decision.proposals)
        if decision.proposals or not statuses:
            del status.current_metrics[:]
            status.current_metrics.extend(statuses)
        status.current_replicas = current
        DESIRED.labels(namespace, obj.metadata.name).set(decision.desired_replicas)
        if not decision.rescale:
            status.desired_replicas = current
            return
        desired = decision.desired_replicas
        try:
            await self.client.scale(kind, ref.name, namespace, replicas=desired)
        except errors.ApiError as error:
            message = f"New size: {desired}; reason: {decision.reason}; error: {error}"
            self.recorder.event(obj, WARNING, "FailedRescale", message)
            set_condition(status, ConditionUpdate(
                ABLE_TO_SCALE, "False", "FailedUpdateScale",
                f"the HPA controller was unable to update the target scale: {error}"), now)
            return
        set_condition(status, ConditionUpdate(
            ABLE_TO_SCALE, "True", "SucceededRescale",
            f"the HPA controller was able to update the target scale to {desired}"), now)
        self.recorder.event(obj, NORMAL, "SuccessfulRescale",
                            f"New size: {desired}; reason: {decision.reason}")
        RESCALES.labels("up" if desired > current else "down").inc()
        _log.info("event=rescale hpa=%s target=%s from=%d to=%d reason=%r",
                  key, reference, current, desired, decision.reason)
        self.histories[key] = record_scale(
            self.histories[key], spec.behavior, current, desired, now
        )
        status.desired_replicas = desired
        status.last_scale_time.CopyFrom(to_timestamp(now))
