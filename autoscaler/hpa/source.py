"""Where the HPA's inputs come from: Pods and PodMetrics, read into `PodState` and
`PodUsage` (autoscaler.hpa.replicas).

Agents publish one PodMetrics object per pod (named after it) with cpu and
memory per container and, in `custom`, the application metrics they scraped
from the pod's Prometheus endpoint. Kubernetes' metrics API serves only fresh
samples; corral stores samples as objects, so one from an agent that went
quiet would stay forever. A sample older than `max_age` therefore counts as
missing, which the algorithm handles conservatively.

The conversion functions are pure; `MetricsSource` reads informer caches.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from autoscaler.hpa.replicas import PodState, PodUsage
from corral.api import Selector, is_deleting, object_key, quantity, seconds_or_none
from corral.api.v1 import core_pb2, metrics_pb2
from corral.client import Informer

# Three sync periods of the agents' default 15 s publishing.
DEFAULT_MAX_AGE = 60.0

_log = logging.getLogger("corral.autoscaler.metrics")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6,
                 "ns": 1e-9}


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration ("15s", "1m30s", "500ms"); ValueError otherwise."""
    if not text:
        raise ValueError("an empty duration")
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text):
        raise ValueError(f'"{text}" is not a duration like 15s, 1m30s or 500ms')
    return total


def milli_value(text: str) -> int:
    """A quantity in milli-units, rounded up as Kubernetes' MilliValue: "250m" → 250,
    "1" → 1000, "64Mi" → 67108864000."""
    return math.ceil(quantity.parse(text).scaleb(3))


def pod_state(pod: core_pb2.Pod) -> PodState:
    """What the algorithm needs of a pod. Requests that are not quantities (the API server
    rejects those) are left out, so the pod reads as having no request."""
    ready: bool | None = None
    ready_since: float | None = None
    for condition in pod.status.conditions:
        if condition.type == "Ready":
            ready = condition.status == "True"
            ready_since = seconds_or_none(condition.last_transition_time) or 0.0
    requests: dict[str, dict[str, int]] = {}
    for container in pod.spec.containers:
        values: dict[str, int] = {}
        for resource, text in container.resources.requests.items():
            try:
                values[resource] = milli_value(text)
            except quantity.InvalidQuantity:
                continue
        requests[container.name] = values
    return PodState(
        name=pod.metadata.name,
        phase=pod.status.phase or "Pending",
        deleting=is_deleting(pod),
        ready=ready,
        ready_since=ready_since,
        started=seconds_or_none(pod.status.start_time),
        container_requests=requests,
    )


def pod_usage(sample: metrics_pb2.PodMetrics) -> PodUsage:
    """A PodMetrics object as the algorithm's usage; ValueError naming the field when a value
    cannot be read."""
    where = f"PodMetrics {object_key(sample)}"
    try:
        window = parse_duration(sample.window) if sample.window else 0.0
    except ValueError as error:
        raise ValueError(f"{where}: window: {error}") from None
    containers: dict[str, dict[str, int]] = {}
    for container in sample.containers:
        usage: dict[str, int] = {}
        for resource, text in container.usage.items():
            try:
                usage[resource] = milli_value(text)
            except quantity.InvalidQuantity as error:
                raise ValueError(
                    f"{where}: containers[{container.name}].usage.{resource}: {error}"
                ) from None
        containers[container.name] = usage
    custom: dict[str, int] = {}
    for name, text in sample.custom.items():
        try:
            custom[name] = milli_value(text)
        except quantity.InvalidQuantity as error:
            raise ValueError(f"{where}: custom.{name}: {error}") from None
    return PodUsage(seconds_or_none(sample.timestamp) or 0.0, window, containers, custom)


@dataclass
class TargetPods:
    pods: list[PodState]
    # By pod name: fresh samples only.
    usages: dict[str, PodUsage]


class MetricsSource:
    """The pods a scale target selects and their fresh samples, from informer caches."""

    def __init__(
        self,
        pods: Informer[core_pb2.Pod],
        pod_metrics: Informer[metrics_pb2.PodMetrics],
        max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        self.pods = pods
        self.pod_metrics = pod_metrics
        self.max_age = max_age

    def for_target(self, namespace: str, selector: Selector, now: float) -> TargetPods:
        selected = [
            pod for pod in self.pods.by_index("namespace", namespace)
            if selector.matches(pod.metadata.labels)
        ]
        usages: dict[str, PodUsage] = {}
        for pod in selected:
            sample = self.pod_metrics.get_by_name(pod.metadata.name, namespace)
            if sample is None:
                continue
            try:
                usage = pod_usage(sample)
            except ValueError as error:
                _log.warning("event=bad_pod_metrics pod=%s/%s error=%r",
                             namespace, pod.metadata.name, str(error))
                continue
            if now - usage.timestamp > self.max_age:
                continue
            usages[pod.metadata.name] = usage
        return TargetPods([pod_state(pod) for pod in selected], usages)
