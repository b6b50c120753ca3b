"""The pod startup benchmark: `python -m bench.startup` (make bench-startup).

Starts a one-node cluster (etcd in Docker, the API server and one agent as
subprocesses, the test image present) and measures, in the same run:

  raw docker run       `docker run -d` of the test image, one at a time (--pods times)
  pod startup          pods created one at a time: create → Running seen through a watch
  raw docker run x N   --burst `docker run -d` at once: wall time until all returned
  N pods at once       --burst pods created at once: wall time until all seen Running

Pods are created with spec.nodeName set (there is no scheduler in this cluster), so
the figure is the agent's: watch delivery, infra container, app container, status write.
Prints a table, then the whole report as one JSON object on the last line of stdout.

Each run has its own id: its node is named after it and its raw containers carry it
as their label value, so cleanup removes this run's containers and volumes only, never
those of a benchmark or test running next to it on the same engine.

Targets (issue 5): single pods p99 ≤ 1 s; p50 overhead over raw `docker run` ≤ 100 ms;
N pods running within 1.3x the time raw parallel `docker run` takes for N.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from bench.common import format_table, milliseconds, percentile, write_json
from corral.api.v1 import core_pb2
from corral.client import Client
from corral.images import TEST_IMAGE

ROOT = Path(__file__).resolve().parent.parent
NODE_PREFIX = "bench-startup-"
NAMESPACE = "bench-startup"
POD_NETWORK = "corral-pods"
RAW_LABEL = "corral.bench.raw"  # value: the run's id
TARGET_P99_S = 1.0
TARGET_OVERHEAD_MS = 100.0
TARGET_BURST_RATIO = 1.3


@dataclass(frozen=True)
class Run:
    """One benchmark run: what its containers and volumes are told apart by."""

    run_id: str

    @property
    def node(self) -> str:
        return f"{NODE_PREFIX}{self.run_id}"

    @property
    def raw_filter(self) -> dict[str, str]:
        return {"label": f"{RAW_LABEL}={self.run_id}"}

    @property
    def node_filter(self) -> dict[str, str]:
        return {"label": f"corral.node={self.node}"}


def new_run() -> Run:
    return Run(uuid.uuid4().hex[:8])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.startup",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=50, help="pods started one at a time")
    parser.add_argument("--burst", type=int, default=20, help="pods started at once")
    parser.add_argument("--json", dest="json_path", metavar="PATH",
                        help="also write the JSON report here")
    return parser.parse_args(argv)


def make_pod(name: str, node: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = NAMESPACE
    pod.spec.node_name = node
    pod.spec.termination_grace_period_seconds = 0
    pod.spec.containers.add(name="app", image=TEST_IMAGE, command=["sleep", "3600"])
    return pod


def docker_run(run: Run) -> float:
    """Seconds one `docker run -d` takes (it returns once the container has started)."""
    started = time.perf_counter()
    subprocess.run(
        ["docker", "run", "-d", "--network", POD_NETWORK, "--label", f"{RAW_LABEL}={run.run_id}",
         TEST_IMAGE, "sleep", "3600"],
        check=True, capture_output=True,
    )
    return time.perf_counter() - started


class RunningWatch:
    """Records when each pod of the namespace is first seen Running in a watch."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.running_at: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.started = asyncio.Event()

    async def run(self) -> None:
        listed = await self.client.list("Pod", NAMESPACE)
        self.started.set()
        async for event in self.client.watch("Pod", NAMESPACE,
                                             resource_version=listed.resource_version):
            pod = event.object
            if pod is None or event.type == "DELETED":
                continue
            if pod.status.phase == "Running" and pod.metadata.name not in self.running_at:
                self.running_at[pod.metadata.name] = time.perf_counter()
                self.changed.set()

    async def wait_for(self, names: Sequence[str], timeout: float = 120.0) -> None:
        deadline = time.perf_counter() + timeout
        while not all(name in self.running_at for name in names):
            self.changed.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                missing = [n for n in names if n not in self.running_at]
                raise TimeoutError(f"pods never seen Running: {missing[:5]}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


async def measure(settings: argparse.Namespace, server: str, run: Run) -> dict[str, Any]:
    report: dict[str, Any] = {}
    async with Client(server) as client:
        namespace = core_pb2.Namespace()
        namespace.metadata.name = NAMESPACE
        await client.create(namespace)
        watch = RunningWatch(client)
        watch_task = asyncio.create_task(watch.run())
        await watch.started.wait()

        # Warm-up: the first container on a fresh engine pays one-time costs.
        await asyncio.to_thread(docker_run, run)
        created = time.perf_counter()
        await client.create(make_pod("warmup", run.node))
        await watch.wait_for(["warmup"])
        report["warmup_pod_s"] = round(watch.running_at["warmup"] - created, 3)

        raw = [await asyncio.to_thread(docker_run, run) for _ in range(settings.pods)]
        singles = []
        for i in range(settings.pods):
            name = f"single-{i}"
            created = time.perf_counter()
            await client.create(make_pod(name, run.node))
            await watch.wait_for([name])
            singles.append(watch.running_at[name] - created)

        started = time.perf_counter()
        await asyncio.gather(*(asyncio.to_thread(docker_run, run) for _ in range(settings.burst)))
        raw_burst = time.perf_counter() - started

        names = [f"burst-{i}" for i in range(settings.burst)]
        started = time.perf_counter()
        await asyncio.gather(*(client.create(make_pod(name, run.node)) for name in names))
        await watch.wait_for(names)
        pod_burst = max(watch.running_at[name] for name in names) - started
        watch_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watch_task

    raw_p50, pod_p50 = percentile(raw, 50), percentile(singles, 50)
    report.update({
        "raw_docker_run": {"n": len(raw), "p50_ms": milliseconds(raw_p50),
                           "p99_ms": milliseconds(percentile(raw, 99))},
        "pod_startup": {"n": len(singles), "p50_ms": milliseconds(pod_p50),
                        "p99_ms": milliseconds(percentile(singles, 99)),
                        "max_ms": milliseconds(max(singles))},
        "p50_overhead_ms": milliseconds(pod_p50 - raw_p50),
        "raw_burst_s": round(raw_burst, 3),
        "pod_burst_s": round(pod_burst, 3),
        "burst_ratio": round(pod_burst / raw_burst, 3),
        "burst": settings.burst,
    })
    report["targets"] = {
        "pod_p99_le_1s": percentile(singles, 99) <= TARGET_P99_S,
        "p50_overhead_le_100ms": (pod_p50 - raw_p50) * 1000 <= TARGET_OVERHEAD_MS,
        "burst_le_1.3x_raw": pod_burst <= TARGET_BURST_RATIO * raw_burst,
    }
    return report


def table(report: dict[str, Any]) -> str:
    raw, pods, targets = report["raw_docker_run"], report["pod_startup"], report["targets"]
    n = report["burst"]

    def verdict(ok: bool) -> str:
        return "pass" if ok else "FAIL"

    rows = [
        ["raw docker run -d", str(raw["n"]), f"{raw['p50_ms']:.0f}", f"{raw['p99_ms']:.0f}",
         "-", "-", ""],
        ["pod create → Running", str(pods["n"]), f"{pods['p50_ms']:.0f}",
         f"{pods['p99_ms']:.0f}", "p99 ≤ 1000 ms", "", verdict(targets["pod_p99_le_1s"])],
        ["p50 overhead", "-", f"{report['p50_overhead_ms']:.0f}", "-", "≤ 100 ms", "",
         verdict(targets["p50_overhead_le_100ms"])],
        [f"raw docker run x{n}, parallel", str(n), "-", "-", "-",
         f"{report['raw_burst_s']:.2f}", ""],
        [f"{n} pods at once", str(n), "-", "-", "≤ 1.3x raw",
         f"{report['pod_burst_s']:.2f} ({report['burst_ratio']:.2f}x)",
         verdict(targets["burst_le_1.3x_raw"])],
    ]
    return format_table(("phase", "n", "p50 ms", "p99 ms", "target", "wall s", "result"), rows)


def cleanup(engine: docker.DockerClient, run: Run) -> None:
    """Removes this run's containers and volumes (and nothing another run made)."""
    for filters in (run.raw_filter, run.node_filter):
        for container in engine.containers.list(all=True, filters=filters):
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
    for volume in engine.volumes.list(filters=run.node_filter):
        with contextlib.suppress(docker.errors.APIError):
            volume.remove(force=True)


def wait_for_node(server: str, node_name: str, agent: subprocess.Popen[bytes],
                  log_path: Path) -> None:
    async def ready() -> None:
        async with Client(server) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if agent.poll() is not None:
                    raise RuntimeError(f"the agent exited: {log_path.read_text()[-2000:]}")
                with contextlib.suppress(Exception):
                    node = await client.get(core_pb2.Node, node_name)
                    if any(c.type == "Ready" and c.status == "True"
                           for c in node.status.conditions):
                        return
                await asyncio.sleep(0.2)
        raise TimeoutError("the agent's node never became Ready")

    asyncio.run(ready())


def main(argv: Sequence[str] | None = None) -> None:
    settings = parse_args(argv)
    from tests.apiserver_process import ApiServerProcess
    from tests.etcd_container import EtcdContainer

    engine = docker.from_env()
    run = new_run()
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as root:
        stack.callback(cleanup, engine, run)
        etcd = stack.enter_context(EtcdContainer())
        api = stack.enter_context(ApiServerProcess(etcd.endpoint))
        log_path = Path(root) / "agent.log"
        with open(log_path, "wb") as log:
            agent = subprocess.Popen(
                [sys.executable, "-m", "agent", "--server", api.address, "--node-name", run.node,
                 "--listen", "127.0.0.1:0", "--node-ip", "127.0.0.1", "--root-dir", root,
                 "--pod-network", POD_NETWORK, "--metrics-interval", "60",
                 "--housekeeping-interval", "30", "--log-level", "warning"],
                cwd=ROOT, stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(ROOT)},
            )

        def stop_agent() -> None:
            agent.terminate()
            try:
                agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()

        stack.callback(stop_agent)
        wait_for_node(api.address, run.node, agent, log_path)
        report = asyncio.run(measure(settings, api.address, run))
        report["run_id"] = run.run_id
    print(table(report))
    print(json.dumps(report))
    if settings.json_path:
        write_json(settings.json_path, report)


if __name__ == "__main__":
    main()
