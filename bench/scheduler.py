"""Scheduler benchmark, after Kubernetes' scheduler_perf: real etcd, real API server, the
scheduler as a process; N Node objects (no agents), then M pods; measures from the first
pod created until every pod is bound, then checks the placement.

    python -m bench.scheduler --scenario a [--quick]

Scenarios:
  a  1,000 nodes, 10,000 pods, requests only
  b  as a, with 30 % of pods in anti-affinity groups (hostname), 10 % of nodes tainted
     (5 % of pods tolerate), 20 % of pods with required node affinity
  c  5,000 nodes, 30,000 pods, requests only (long: opt in)

Prints pods/s (first create → last bound), the create rate and the scheduling rate
(first bound → last bound), p50/p99 per-pod latency (create sent → bound seen on a
watch), and fails (exit 1) if any pod is left unbound, any node is over-committed, or
any constraint is violated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.api import from_node_selector_requirements, quantity
from corral.api.v1 import core_pb2, meta_pb2
from corral.client import Client
from scheduler.model import HOSTNAME_LABEL, ZONE_LABEL
from scheduler.testing import make_node, make_pod
from tests.apiserver_process import ApiServerProcess
from tests.etcd_container import EtcdContainer

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "bench"
TAINT = ("dedicated", "special", "NoSchedule")


@dataclass
class Scenario:
    name: str
    nodes: int
    pods: int
    mixed: bool


SCENARIOS = {
    "a": Scenario("a", 1_000, 10_000, mixed=False),
    "b": Scenario("b", 1_000, 10_000, mixed=True),
    "c": Scenario("c", 5_000, 30_000, mixed=False),
}


def build_nodes(scenario: Scenario, rng: random.Random) -> list[core_pb2.Node]:
    nodes = []
    for i in range(scenario.nodes):
        labels = {ZONE_LABEL: f"zone-{i % 10}", "disk": "ssd" if i % 2 == 0 else "hdd"}
        taints = [TAINT] if scenario.mixed and i % 10 == 0 else []
        nodes.append(make_node(f"node-{i:05d}", cpu="32", memory="128Gi", pods="110",
                               labels=labels, taints=taints))
    return nodes


def build_pods(scenario: Scenario, rng: random.Random) -> list[core_pb2.Pod]:
    pods = []
    group = 0
    in_group = 0
    for i in range(scenario.pods):
        labels = {"app": f"app-{i % 50}"}
        spec: dict[str, Any] = {}
        roll = rng.random()
        if scenario.mixed:
            if roll < 0.30:
                # Groups of 10 replicas that must not share a node.
                labels["anti"] = f"g{group}"
                in_group += 1
                if in_group == 10:
                    group, in_group = group + 1, 0
                spec["affinity"] = {"podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [{
                        "labelSelector": {"matchLabels": {"anti": labels["anti"]}},
                        "topologyKey": HOSTNAME_LABEL,
                    }]}}
            elif roll < 0.50:
                spec["affinity"] = {"nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "disk", "operator": "In",
                                               "values": ["ssd"]}]}]}}}
            if rng.random() < 0.05:
                spec["tolerations"] = [{"key": TAINT[0], "operator": "Equal",
                                        "value": TAINT[1], "effect": TAINT[2]}]
        cpu = rng.choice(["100m", "250m", "500m"])
        memory = rng.choice(["128Mi", "256Mi", "512Mi"])
        pod = make_pod(f"pod-{i:06d}", namespace=NAMESPACE, cpu=cpu, memory=memory,
                       labels=labels, spec=spec)
        pod.metadata.uid = ""
        pod.metadata.ClearField("creation_timestamp")
        pods.append(pod)
    return pods


async def create_all(client: Client, objects: list[Any], concurrency: int,
                     sent: dict[str, float] | None = None) -> None:
    iterator = iter(objects)

    async def worker() -> None:
        for obj in iterator:
            if sent is not None:
                sent[obj.metadata.name] = time.monotonic()
            await client.create(obj)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def watch_bindings(client: Client, resource_version: str, bound: dict[str, float],
                         expected: int, done: asyncio.Event) -> None:
    async for event in client.watch(core_pb2.Pod, NAMESPACE, resource_version=resource_version):
        pod = event.object
        if isinstance(pod, core_pb2.Pod) and pod.spec.node_name:
            name = pod.metadata.name
            if name not in bound:
                bound[name] = time.monotonic()
                if len(bound) >= expected:
                    done.set()
                    return


def verify(nodes: list[core_pb2.Node], pods: list[core_pb2.Pod]) -> list[str]:
    """Every violation found, in words; empty when the placement is valid."""
    problems: list[str] = []
    by_name = {node.metadata.name: node for node in nodes}
    used: dict[str, Counter[str]] = defaultdict(Counter)
    anti: dict[tuple[str, str], int] = Counter()
    for pod in pods:
        name = pod.metadata.name
        node = by_name.get(pod.spec.node_name)
        if node is None:
            problems.append(f"pod {name} is not bound to an existing node ({pod.spec.node_name!r})")
            continue
        totals = used[node.metadata.name]
        totals["pods"] += 1
        for container in pod.spec.containers:
            for resource, text in container.resources.requests.items():
                totals[resource] += quantity.resource_value(resource, text)
        for taint in node.spec.taints:
            if taint.effect in ("NoSchedule", "NoExecute") and not any(
                (t.key == taint.key and t.value == taint.value) or
                (t.operator == "Exists" and t.key in ("", taint.key))
                for t in pod.spec.tolerations
            ):
                problems.append(f"pod {name} is on {node.metadata.name} without tolerating "
                                f"{taint.key}={taint.value}:{taint.effect}")
        node_affinity = pod.spec.affinity.node_affinity
        required = node_affinity.required_during_scheduling_ignored_during_execution
        if required.node_selector_terms and not any(
            from_node_selector_requirements(term.match_expressions).matches(node.metadata.labels)
            for term in required.node_selector_terms
        ):
            problems.append(f"pod {name} is on {node.metadata.name}, outside its node affinity")
        group = pod.metadata.labels.get("anti")
        if group:
            anti[(group, node.metadata.name)] += 1
    for (group, node_name), count in anti.items():
        if count > 1:
            problems.append(f"{count} pods of anti-affinity group {group} share node {node_name}")
    for node_name, totals in used.items():
        allocatable = by_name[node_name].status.allocatable
        for resource, amount in totals.items():
            limit = quantity.resource_value(resource, allocatable[resource])
            if amount > limit:
                problems.append(f"node {node_name} is over-committed: {resource} "
                                f"{amount} > {limit}")
    return problems


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace) -> int:
    base = SCENARIOS[args.scenario]
    scale = 10 if args.quick else 1
    scenario = Scenario(base.name, args.nodes or base.nodes // scale,
                        args.pods or base.pods // scale, base.mixed)
    rng = random.Random(args.seed)
    logs = Path(tempfile.mkdtemp(prefix="corral-bench-scheduler-"))
    print(f"scenario {scenario.name}: {scenario.nodes} nodes, {scenario.pods} pods"
          f"{' (affinity/taints mix)' if scenario.mixed else ''}; logs in {logs}", flush=True)
    with EtcdContainer() as etcd, ApiServerProcess(
        etcd.endpoint, log_path=logs / "apiserver.log"
    ) as api:
        async with Client(api.address, timeout=60) as client:
            namespace = core_pb2.Namespace(metadata=meta_pb2.ObjectMeta(name=NAMESPACE))
            await client.create(namespace)
            started = time.monotonic()
            nodes = build_nodes(scenario, rng)
            await create_all(client, nodes, args.concurrency)
            print(f"created {len(nodes)} nodes in {time.monotonic() - started:.1f}s", flush=True)
            pods = build_pods(scenario, rng)
            listed = await client.list(core_pb2.Pod, NAMESPACE, limit=1)
            bound: dict[str, float] = {}
            sent: dict[str, float] = {}
            done = asyncio.Event()
            watcher = asyncio.create_task(
                watch_bindings(client, listed.resource_version, bound, len(pods), done)
            )
            if args.precreate:
                # Measure the scheduler alone: every pod exists before it starts.
                await create_all(client, pods, args.concurrency, sent)
                print(f"pre-created {len(pods)} pods in {time.monotonic() - started:.1f}s",
                      flush=True)

            scheduler_log = open(logs / "scheduler.log", "wb")  # noqa: SIM115
            command = [sys.executable, "-m", "scheduler", "--server", api.address,
                       "--no-leader-elect", "--metrics-listen", "", "--health-listen", ""]
            if args.percentage is not None:
                command += ["--percentage-of-nodes-to-score", str(args.percentage)]

            assert api.process is not None
            api_cpu_before = cpu_seconds(api.process.pid)
            scheduler = subprocess.Popen(
                command, cwd=ROOT, stdout=scheduler_log, stderr=scheduler_log,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            try:
                if args.precreate:
                    first = created = time.monotonic()
                    for name in sent:
                        sent[name] = first
                else:
                    await asyncio.sleep(2)  # let it list the nodes
                    first = time.monotonic()
                    await create_all(client, pods, args.concurrency, sent)
                    created = time.monotonic()
                try:
                    await asyncio.wait_for(done.wait(), args.timeout)
                except TimeoutError:
                    print(f"FAIL: only {len(bound)}/{len(pods)} pods bound after "
                          f"{args.timeout:.0f}s", flush=True)
                    return 1
                finally:
                    watcher.cancel()
                last = max(bound.values())
                scheduler_cpu = cpu_seconds(scheduler.pid)
                assert api.process is not None
                api_cpu = cpu_seconds(api.process.pid) - api_cpu_before
            finally:
                scheduler.terminate()
                try:
                    scheduler.wait(10)
                except subprocess.TimeoutExpired:
                    scheduler.kill()
                scheduler_log.close()
            latencies = [bound[name] - sent[name] for name in bound]
            if args.precreate:
                print("(latencies below are from scheduler start, pods were pre-created)")
            total = last - first
            first_bound = min(bound.values())
            if args.precreate:
                print(f"pods/s (scheduler started -> all bound): {len(pods) / total:.0f}  "
                      f"[{total:.1f}s]")
            else:
                print(f"pods/s (first create -> all bound): {len(pods) / total:.0f}  "
                      f"[{total:.1f}s]")
                print(f"create rate: {len(pods) / (created - first):.0f} pods/s  "
                      f"[{created - first:.1f}s]")
            print(f"bind rate (first bound -> last bound): "
                  f"{len(pods) / max(last - first_bound, 1e-9):.0f} pods/s")
            print(f"latency create->bound: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                  f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
                  f"mean {statistics.fmean(latencies) * 1000:.0f} ms")
            print(f"CPU used: scheduler {scheduler_cpu:.1f}s "
                  f"({scheduler_cpu / len(pods) * 1000:.2f} ms/pod), API server {api_cpu:.1f}s "
                  f"({api_cpu / len(pods) * 1000:.2f} ms/pod)"
                  f"{' (binds only)' if args.precreate else ''}")
            listed_nodes = (await client.list_all(core_pb2.Node)).items
            listed_pods = (await client.list_all(core_pb2.Pod, NAMESPACE)).items
            problems = verify(listed_nodes, listed_pods)
            per_node = Counter(p.spec.node_name for p in listed_pods)
            print(f"pods per node: min {min(per_node.values())}, max {max(per_node.values())}, "
                  f"nodes used {len(per_node)}/{len(listed_nodes)}")
            if problems:
                print(f"FAIL: {len(problems)} violations, e.g.:")
                for problem in problems[:20]:
                    print(f"  {problem}")
                return 1
            print("verified: no node over-committed, every constraint honoured")
            return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="a")
    parser.add_argument("--quick", action="store_true", help="a tenth of the nodes and pods")
    parser.add_argument("--nodes", type=int, default=0)
    parser.add_argument("--pods", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=64, help="creates in flight")
    parser.add_argument("--percentage", type=int, default=None,
                        help="the scheduler's --percentage-of-nodes-to-score")
    parser.add_argument("--precreate", action="store_true",
                        help="create every pod before starting the scheduler (its rate alone)")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=1)
    sys.exit(asyncio.run(run(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
