"""The autoscaler against a real API server.

The HPA tests here need nothing but the API server: they play the part of the
controller and the agents themselves (they create the target's pods, mark them
running and ready, and publish their PodMetrics), run `python -m autoscaler` as a
process, and watch the Deployment's replicas change through the Scale verb.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from corral import images
from corral.api import errors
from corral.api.v1 import apps_pb2, autoscaling_pb2, core_pb2, metrics_pb2
from corral.cli import printers
from corral.client.client import Client
from tests.apiserver_process import ROOT, ApiServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

SYNC_PERIOD = 1.0


class AutoscalerProcess:
    """`python -m autoscaler` with short periods, logging to a file kept for failures."""

    def __init__(self, server: str, *extra: str, log_dir: Path) -> None:
        self.args = [
            sys.executable, "-m", "autoscaler", "--server", server,
            "--sync-period", str(SYNC_PERIOD), "--no-leader-elect",
            "--health-listen", "127.0.0.1:0", "--metrics-listen", "",
            "--metrics-max-age", "3600", "--log-level", "debug", *extra,
        ]
        self.log_path = log_dir / f"autoscaler-{os.getpid()}-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> AutoscalerProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.args, cwd=ROOT, stdout=log, stderr=log)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def autoscaler(apiserver: ApiServerProcess, tmp_path: Path) -> Iterator[AutoscalerProcess]:
    with AutoscalerProcess(apiserver.address, log_dir=tmp_path) as process:
        yield process


def stamp(seconds: float) -> Timestamp:
    value = Timestamp()
    value.FromNanoseconds(int(seconds * 1e9))
    return value


def deployment(name: str, namespace: str, replicas: int, cpu: str = "1") -> apps_pb2.Deployment:
    return json_format.ParseDict({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": "app", "image": images.TEST_IMAGE,
                    "command": ["sh", "-c", "while :; do :; done"],
                    "resources": {"requests": {"cpu": cpu}},
                }]},
            },
        },
    }, apps_pb2.Deployment())


async def running_pod(client: Client, namespace: str, app: str, index: int,
                      cpu: str = "1") -> str:
    """A pod of `app` as the controller, scheduler and agent would leave it: running, ready
    for an hour."""
    name = f"{app}-{index}"
    pod = json_format.ParseDict({
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "spec": {"containers": [{
            "name": "app", "image": images.TEST_IMAGE,
            "resources": {"requests": {"cpu": cpu}},
        }]},
    }, core_pb2.Pod())
    created = await client.create(pod)
    long_ago = time.time() - 3600
    created.status.phase = "Running"
    created.status.start_time.CopyFrom(stamp(long_ago))
    created.status.conditions.add(type="Ready", status="True",
                                  last_transition_time=stamp(long_ago))
    await client.update_status(created)
    return name


async def publish_metrics(client: Client, namespace: str, pod: str, *, cpu: str | None = None,
                          custom: dict[str, str] | None = None) -> None:
    """What the pod's agent publishes: a fresh PodMetrics sample."""
    sample = metrics_pb2.PodMetrics(window="15s")
    sample.metadata.name = pod
    sample.metadata.namespace = namespace
    sample.timestamp.CopyFrom(stamp(time.time()))
    if cpu is not None:
        sample.containers.add(name="app").usage["cpu"] = cpu
    sample.custom.update(custom or {})
    try:
        current = await client.get(metrics_pb2.PodMetrics, pod, namespace)
    except errors.NotFound:
        await client.create(sample)
        return
    sample.metadata.resource_version = current.metadata.resource_version
    await client.update(sample)


def cpu_hpa(name: str, namespace: str, target: str, *, minimum: int = 1, maximum: int = 10,
            behavior: dict[str, Any] | None = None, utilization: int = 50
            ) -> autoscaling_pb2.HorizontalPodAutoscaler:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "minReplicas": minimum, "maxReplicas": maximum,
        "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization},
        }}],
    }
    if behavior is not None:
        spec["behavior"] = behavior
    return json_format.ParseDict({"metadata": {"name": name, "namespace": namespace},
                                  "spec": spec}, autoscaling_pb2.HorizontalPodAutoscaler())


async def eventually(check: Callable[[], Any], timeout: float, what: str,
                     process: AutoscalerProcess | None = None) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    detail = f"\n--- autoscaler log ---\n{process.log()}" if process else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r}){detail}")


@pytest_asyncio.fixture
async def events(client: Client, namespace: str) -> AsyncIterator[Callable[[], Any]]:
    async def listed() -> list[core_pb2.Event]:
        return (await client.list(core_pb2.Event, namespace)).items
    yield listed


async def test_three_pods_at_80_percent_with_a_50_percent_target_scale_to_five(
    client: Client, namespace: str, autoscaler: AutoscalerProcess, events: Any
) -> None:
    await client.create(deployment("web", namespace, 3))
    for i in range(3):
        pod = await running_pod(client, namespace, "web", i)
        await publish_metrics(client, namespace, pod, cpu="800m")
    created_at = time.monotonic()
    await client.create(cpu_hpa("web", namespace, "web"))

    async def replicas() -> int | None:
        count = (await client.scale("Deployment", "web", namespace)).replicas
        return count if count != 3 else None

    assert await eventually(replicas, 10, "a rescale", autoscaler) == 5
    elapsed = time.monotonic() - created_at
    assert elapsed < 2 * SYNC_PERIOD + 2, elapsed

    async def status() -> autoscaling_pb2.HorizontalPodAutoscaler | None:
        hpa = await client.get(autoscaling_pb2.HorizontalPodAutoscaler, "web", namespace)
        return hpa if hpa.status.desired_replicas == 5 else None

    hpa = await eventually(status, 10, "the status", autoscaler)
    assert hpa.status.current_metrics[0].resource.current.average_utilization == 80
    assert hpa.status.current_metrics[0].resource.current.average_value == "800m"
    assert hpa.status.HasField("last_scale_time")
    conditions = {c.type: (c.status, c.reason) for c in hpa.status.conditions}
    assert conditions["AbleToScale"][0] == "True"
    assert conditions["ScalingActive"] == ("True", "ValidMetricFound")
    # What `corral get hpa` shows in TARGETS.
    assert printers.hpa_targets(hpa) == "80%/50%"

    async def rescale_event() -> list[core_pb2.Event]:
        return [e for e in await events() if e.reason == "SuccessfulRescale"]

    found = await eventually(rescale_event, 10, "a SuccessfulRescale event", autoscaler)
    assert found[0].message == (
        "New size: 5; reason: cpu resource utilization (percentage of request) above target"
    )
    assert found[0].involved_object.kind == "HorizontalPodAutoscaler"


async def test_a_pods_metric_of_10000_rps_at_1000_per_pod_scales_to_10(
    client: Client, namespace: str, autoscaler: AutoscalerProcess
) -> None:
    await client.create(deployment("api", namespace, 1))
    pod = await running_pod(client, namespace, "api", 0)
    await publish_metrics(client, namespace, pod, custom={"requests_per_second": "10k"})
    hpa = json_format.ParseDict({
        "metadata": {"name": "api", "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
            "minReplicas": 1, "maxReplicas": 20,
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": "requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "1k"},
            }}],
            # Let the whole step happen at once (the default allows +4 or +100 % per 15 s).
            "behavior": {"scaleUp": {"policies": [
                {"type": "Pods", "value": 100, "periodSeconds": 15}]}},
        },
    }, autoscaling_pb2.HorizontalPodAutoscaler())
    await client.create(hpa)

    async def replicas() -> int | None:
        count = (await client.scale("Deployment", "api", namespace)).replicas
        return count if count != 1 else None

    assert await eventually(replicas, 10, "a rescale", autoscaler) == 10

    async def status() -> autoscaling_pb2.HorizontalPodAutoscaler | None:
        got = await client.get(autoscaling_pb2.HorizontalPodAutoscaler, "api", namespace)
        return got if got.status.current_metrics else None

    got = await eventually(status, 10, "the status", autoscaler)
    assert printers.hpa_targets(got).endswith("/1k")


async def test_default_behavior_limits_a_big_step_to_four_pods_or_double(
    client: Client, namespace: str, autoscaler: AutoscalerProcess
) -> None:
    await client.create(deployment("burst", namespace, 1))
    pod = await running_pod(client, namespace, "burst", 0)
    await publish_metrics(client, namespace, pod, cpu="5")  # 500 % of a 1-cpu request
    await client.create(cpu_hpa("burst", namespace, "burst", maximum=20))

    async def replicas() -> int | None:
        count = (await client.scale("Deployment", "burst", namespace)).replicas
        return count if count != 1 else None

    assert await eventually(replicas, 10, "a rescale", autoscaler) == 5

    async def limited() -> bool:
        got = await client.get(autoscaling_pb2.HorizontalPodAutoscaler, "burst", namespace)
        return any(c.type == "ScalingLimited" and c.status == "True" and c.reason == "ScaleUpLimit"
                   for c in got.status.conditions)

    assert await eventually(limited, 10, "ScalingLimited=True ScaleUpLimit", autoscaler)


async def test_scales_down_after_load_stops_and_the_window_passes(
    client: Client, namespace: str, autoscaler: AutoscalerProcess
) -> None:
    await client.create(deployment("calm", namespace, 4))
    pods = [await running_pod(client, namespace, "calm", i) for i in range(4)]
    for pod in pods:
        await publish_metrics(client, namespace, pod, cpu="500m")
    window = 4
    await client.create(cpu_hpa("calm", namespace, "calm", behavior={
        "scaleDown": {"stabilizationWindowSeconds": window}}))
    await asyncio.sleep(3 * SYNC_PERIOD)
    assert (await client.scale("Deployment", "calm", namespace)).replicas == 4
    stopped = time.monotonic()
    for pod in pods:
        await publish_metrics(client, namespace, pod, cpu="10m")

    async def replicas() -> int | None:
        count = (await client.scale("Deployment", "calm", namespace)).replicas
        return count if count != 4 else None

    assert await eventually(replicas, window + 10, "a scale-down", autoscaler) == 1
    assert time.monotonic() - stopped >= window - SYNC_PERIOD


async def test_manual_scaling_outside_min_and_max_is_corrected_within_one_sync(
    client: Client, namespace: str, autoscaler: AutoscalerProcess
) -> None:
    await client.create(deployment("pinned", namespace, 2))
    for i in range(2):
        pod = await running_pod(client, namespace, "pinned", i)
        await publish_metrics(client, namespace, pod, cpu="500m")
    await client.create(cpu_hpa("pinned", namespace, "pinned", minimum=2, maximum=4))
    await asyncio.sleep(2 * SYNC_PERIOD)
    for manual, corrected in ((9, 4), (1, 2)):
        await client.scale("Deployment", "pinned", namespace, replicas=manual)

        async def replicas(manual: int = manual) -> int | None:
            count = (await client.scale("Deployment", "pinned", namespace)).replicas
            return count if count != manual else None

        assert await eventually(replicas, 2 * SYNC_PERIOD + 2, "the correction",
                                autoscaler) == corrected


async def test_a_target_that_does_not_exist_is_reported_in_conditions_and_events(
    client: Client, namespace: str, autoscaler: AutoscalerProcess, events: Any
) -> None:
    await client.create(cpu_hpa("ghost", namespace, "nothing-here"))

    async def condition() -> tuple[str, str] | None:
        got = await client.get(autoscaling_pb2.HorizontalPodAutoscaler, "ghost", namespace)
        found = {c.type: (c.status, c.reason) for c in got.status.conditions}
        return found.get("AbleToScale")

    assert await eventually(condition, 10, "AbleToScale", autoscaler) == (
        "False", "FailedGetScale")

    async def warning() -> list[core_pb2.Event]:
        return [e for e in await events() if e.reason == "FailedGetScale"]

    assert await eventually(warning, 10, "a FailedGetScale event", autoscaler)


async def test_missing_metrics_are_reported_as_scaling_inactive(
    client: Client, namespace: str, autoscaler: AutoscalerProcess
) -> None:
    await client.create(deployment("quiet", namespace, 2))
    for i in range(2):
        await running_pod(client, namespace, "quiet", i)
    await client.create(cpu_hpa("quiet", namespace, "quiet"))

    async def condition() -> tuple[str, str] | None:
        got = await client.get(autoscaling_pb2.HorizontalPodAutoscaler, "quiet", namespace)
        found = {c.type: (c.status, c.reason) for c in got.status.conditions}
        return found.get("ScalingActive")

    assert await eventually(condition, 10, "ScalingActive", autoscaler) == (
        "False", "FailedGetResourceMetric")
    assert (await client.scale("Deployment", "quiet", namespace)).replicas == 2
