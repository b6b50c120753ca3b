"""Usage sampling: every `--metrics-interval` the agent reads each running
container's cpu and memory from the runtime and publishes a PodMetrics per pod
and a NodeMetrics for its node through the API (for `corral top` and the
autoscaler).

cpu is the average over the interval, in millicores (the cpu time used since
the previous sample divided by the time passed); memory is the working set.
A node's usage is the sum of its pods' (corral nodes share hosts, so the
host's own figures would count other nodes' pods).

Application metrics: a pod annotated `corral.io/metrics-port` (and optionally
`corral.io/metrics-path`, default /metrics) is scraped in Prometheus text
format each sample. Every gauge goes into PodMetrics.custom under its name,
summed over its label sets; every counter becomes a rate per second between
two samples, named with `_total` replaced by `_per_second` (or
`_per_second` appended): `http_requests_total` → `http_requests_per_second`.
Values are quantities in milli-units ("12500m" is 12.5).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from agent.probes import http_get_body
from agent.runtime import ROLE_INFRA, ContainerInfo, Runtime
from corral.api import errors, quantity, to_timestamp
from corral.api.v1 import core_pb2, metrics_pb2
from corral.client import Client, Informer

log = logging.getLogger("corral.agent.metrics")

PORT_ANNOTATION = "corral.io/metrics-port"
PATH_ANNOTATION = "corral.io/metrics-path"
MAX_CUSTOM_METRICS = 50


def parse_prometheus(text: str) -> dict[str, tuple[str, float]]:
    """{metric name: (type, value summed over label sets)} from the text exposition format."""
    types: dict[str, str] = {}
    values: dict[str, float] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            continue
        name_end = min((i for i in (line.find("{"), line.find(" ")) if i >= 0), default=-1)
        if name_end <= 0:
            continue
        name = line[:name_end]
        rest = line[line.index("}") + 1:] if line[name_end] == "{" and "}" in line else \
            line[name_end:]
        fields = rest.split()
        if not fields:
            continue
        try:
            value = float(fields[0])
        except ValueError:
            continue
        if math.isnan(value) or math.isinf(value):
            continue
        values[name] = values.get(name, 0.0) + value
    result: dict[str, tuple[str, float]] = {}
    for name, value in values.items():
        kind = types.get(name)
        if kind is None and name.endswith("_total"):
            kind = types.get(name[: -len("_total")], "counter")
        result[name] = (kind or "gauge", value)
    return result


def rate_name(name: str) -> str:
    return name[: -len("_total")] + "_per_second" if name.endswith("_total") \
        else name + "_per_second"


def milli_quantity(value: float) -> str:
    millis = round(value * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def custom_metrics(
    scraped: dict[str, tuple[str, float]],
    previous: dict[str, tuple[str, float]] | None,
    seconds: float,
) -> dict[str, str]:
    """PodMetrics.custom from two scrapes `seconds` apart (counters need both)."""
    custom: dict[str, str] = {}
    for name, (kind, value) in sorted(scraped.items()):
        if len(custom) >= MAX_CUSTOM_METRICS:
            break
        if kind == "counter":
            if previous is None or name not in previous or seconds <= 0:
                continue
            delta = value - previous[name][1]
            custom[rate_name(name)] = milli_quantity(max(0.0, delta) / seconds)
        elif kind in ("gauge", "untyped"):
            custom[name] = milli_quantity(value)
    return custom


@dataclass
class _Sample:
    at: float
    cpu_nanos: int


class MetricsSampler:
    """Samples the containers of one node: `pods` is the agent's cache of the pods bound
    to it, `window` the seconds between samples (reported as the metrics' window)."""

    def __init__(self, node_name: str, runtime: Runtime, client: Client,
                 pods: Informer[core_pb2.Pod], window: float) -> None:
        self.node_name = node_name
        self.runtime = runtime
        self.client = client
        self.pods = pods
        self.window = window
        self._cpu: dict[str, _Sample] = {}
        self._scrapes: dict[str, tuple[float, dict[str, tuple[str, float]]]] = {}
        self._published: set[str] = set()

    async def sample(self) -> None:
        containers = [c for c in await self.runtime.list_containers()
                      if c.running and c.role != ROLE_INFRA]
        stats = await asyncio.gather(*(self.runtime.stats(c.id) for c in containers),
                                     return_exceptions=True)
        now = time.time()
        window = self.window
        usage_by_pod: dict[str, list[tuple[ContainerInfo, int, int]]] = {}
        seen: set[str] = set()
        for info, stat in zip(containers, stats, strict=True):
            if stat is None or isinstance(stat, BaseException):
                continue
            seen.add(info.id)
            before = self._cpu.get(info.id)
            self._cpu[info.id] = _Sample(now, stat.cpu_nanos)
            if before is None:
                # The first sample: the average since the container started.
                elapsed = max(now - info.started_at, 1e-3)
                millis = stat.cpu_nanos / elapsed / 1e6
            else:
                elapsed = max(now - before.at, 1e-3)
                millis = max(0, stat.cpu_nanos - before.cpu_nanos) / elapsed / 1e6
            usage_by_pod.setdefault(info.pod.key, []).append(
                (info, math.ceil(millis), stat.memory_bytes))
        for stale in [cid for cid in self._cpu if cid not in seen]:
            del self._cpu[stale]
        stamp = to_timestamp(now)
        writes = []
        total_cpu = total_memory = 0
        for key, usages in usage_by_pod.items():
            pod = self.pods.get(key)
            if pod is None:
                continue
            metrics = metrics_pb2.PodMetrics()
            metrics.metadata.name = pod.metadata.name
            metrics.metadata.namespace = pod.metadata.namespace
            metrics.metadata.labels.update(pod.metadata.labels)
            metrics.metadata.owner_references.add(
                api_version="v1", kind="Pod", name=pod.metadata.name, uid=pod.metadata.uid)
            metrics.timestamp.CopyFrom(stamp)
            metrics.window = f"{window:g}s"
            for info, cpu, memory in sorted(usages, key=lambda u: u[0].name):
                entry = metrics.containers.add(name=info.name)
                entry.usage["cpu"] = quantity.format_millis(cpu)
                entry.usage["memory"] = quantity.format_bytes(memory) if memory % 1024 == 0 \
                    else str(memory)
                total_cpu += cpu
                total_memory += memory
            metrics.custom.update(await self._scrape(pod, now))
            writes.append(self._publish(metrics))
        node_metrics = metrics_pb2.NodeMetrics()
        node_metrics.metadata.name = self.node_name
        node_metrics.timestamp.CopyFrom(stamp)
        node_metrics.window = f"{window:g}s"
        node_metrics.usage["cpu"] = quantity.format_millis(total_cpu)
        node_metrics.usage["memory"] = str(total_memory)
        writes.append(self._publish(node_metrics))
        for result in await asyncio.gather(*writes, return_exceptions=True):
            if isinstance(result, BaseException):
                log.warning("event=metrics_publish_failed node=%s error=%r", self.node_name,
                            result)

    async def _scrape(self, pod: core_pb2.Pod, now: float) -> dict[str, str]:
        port = pod.metadata.annotations.get(PORT_ANNOTATION, "")
        if not port.isdigit() or not pod.status.pod_ip:
            return {}
        path = pod.metadata.annotations.get(PATH_ANNOTATION, "/metrics")
        host = self.runtime.probe_address(pod.status.pod_ip)
        ok, body = await http_get_body(host, int(port), path, timeout=2.0)
        if not ok:
            log.debug("event=scrape_failed pod=%s/%s error=%r", pod.metadata.namespace,
                      pod.metadata.name, body[:200])
            return {}
        scraped = parse_prometheus(body)
        before = self._scrapes.get(pod.metadata.uid)
        self._scrapes[pod.metadata.uid] = (now, scraped)
        return custom_metrics(scraped, before[1] if before else None,
                              now - before[0] if before else 0.0)

    async def _publish(self, metrics: metrics_pb2.PodMetrics | metrics_pb2.NodeMetrics) -> None:
        key = f"{type(metrics).__name__}/{metrics.metadata.namespace}/{metrics.metadata.name}"
        client = self.client
        if key not in self._published:
            try:
                await client.create(metrics)
                self._published.add(key)
                return
            except errors.AlreadyExists:
                self._published.add(key)
        try:
            # Written by this agent alone: no resourceVersion, the newest sample wins.
            await client.update(metrics)
        except errors.NotFound:
            self._published.discard(key)
            await client.create(metrics)
            self._published.add(key)

