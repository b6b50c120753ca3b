"""What the HPA tests build from: long-ready pods, their samples, an HPA spec, the
behaviors that switch stabilisation and rate limits off or leave them at the defaults."""

from __future__ import annotations

from autoscaler import hpa
from autoscaler.hpa import Autoscaler, Behavior, Metric, PodState, PodUsage, Policy, ScalingRules
from corral.api.v1 import autoscaling_pb2

NOW = 10_000.0
CPU_50 = Metric("Resource", "cpu", utilization=50)
LONG_AGO = NOW - 3600

# Behaviors that let a test see the raw proposal: no windows, no rate limits.
FREE = ScalingRules(0, "Max", (Policy("Percent", 10_000, 15),))
UNLIMITED = Behavior(FREE, FREE)
DEFAULT_BEHAVIOR = hpa.behavior_from_spec(autoscaling_pb2.HorizontalPodAutoscalerSpec())


def pods(count: int, cpu_request: int = 1000, prefix: str = "p") -> list[PodState]:
    """`count` running, long-ready pods requesting `cpu_request` millicores each."""
    return [
        PodState(f"{prefix}{i}", started=LONG_AGO, ready_since=LONG_AGO,
                 container_requests={"app": {"cpu": cpu_request}})
        for i in range(count)
    ]


def cpu_usage(*millis: int, prefix: str = "p", timestamp: float = NOW) -> dict[str, PodUsage]:
    return {
        f"{prefix}{i}": PodUsage(timestamp, 15.0, {"app": {"cpu": value}})
        for i, value in enumerate(millis)
    }


def rps_usage(*millis: int, prefix: str = "p") -> dict[str, PodUsage]:
    return {
        f"{prefix}{i}": PodUsage(NOW, 15.0, custom={"requests_per_second": value})
        for i, value in enumerate(millis)
    }


def spec(*metrics: Metric, minimum: int = 1, maximum: int = 100,
         behavior: Behavior = UNLIMITED) -> Autoscaler:
    return Autoscaler(minimum, maximum, metrics or (CPU_50,), behavior)


def proposal(metric: Metric, current: int, pod_states: list[PodState],
             usages: dict[str, PodUsage]) -> int:
    return hpa.propose(metric, current, pod_states, usages, NOW).replicas
