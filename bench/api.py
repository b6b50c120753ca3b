"""The API server benchmark: `python -m bench.api` (make bench-api).

Starts a real etcd (in Docker) and a real API server (a subprocess), then runs one phase
after another and prints one table row per phase, then the whole report as one JSON
object on the last line of stdout:

  etcd put     bare etcd puts of pod-sized values from the same generator: the ceiling
  create       N pods, closed loop at --concurrency
  get          each of them
  update       each of them: a label change carrying its resourceVersion
  list         whole lists of the N pods, and lists in pages of 500
  paced write  creates at --rate per second for --duration, open loop: each write is
               scheduled by the clock and its latency counted from its scheduled time, so
               a slow server shows up as latency instead of quietly lowering the rate
  watch lag    --watchers watches on one namespace while pods are created there at
               --watch-rate; the lag of each (watcher, event) pair runs from the moment
               the write was sent (stamped in an annotation) to the event's receipt

The generator is Python too and shares the machine's cores with the server and etcd, so
it runs in --clients processes, each with --channels gRPC connections, and reports the
CPU it used: when "gen CPU%" nears 100 x clients, the generator is what was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any, TypeVar

import grpc
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.common import (
    TABLE_HEADERS,
    PhaseResult,
    RssSampler,
    cpu_seconds,
    format_table,
    milliseconds,
    peak_rss_mb,
    percentile,
    rss_mb,
    table_rows,
    verdict,
    write_json,
)
from corral.api import errors
from corral.api.v1 import api_pb2, api_pb2_grpc, core_pb2
from corral.client import CHANNEL_OPTIONS, Client

T = TypeVar("T")

# Targets from the foundation issue, for this 2-core machine.
TARGET_WRITES_PER_S = 2000.0
TARGET_PACED_P99_MS = 50.0
TARGET_WATCH_LAG_P99_MS = 100.0
TARGET_SERVER_RSS_MB = 300.0

BENCH_NAMESPACE = "bench"
PACED_NAMESPACE = "bench-paced"
WATCH_NAMESPACE = "bench-watch"
SENT_AT_ANNOTATION = "bench.corral.dev/sent-at"
PAGE_SIZE = 500
# Streams per connection for watches: gRPC servers commonly allow 100 concurrent streams
# on one HTTP/2 connection, and more would queue in the client.
WATCHES_PER_CHANNEL = 100
# Time for the client processes to connect before a phase's clock starts.
LEAD_SECONDS = 1.0
# How long watchers wait for the last events after the writes end.
WATCH_GRACE_SECONDS = 10.0


# =========================================================================== settings


@dataclass(frozen=True)
class Settings:
    pods: int = 5000
    concurrency: int = 50
    watchers: int = 500
    duration: float = 10.0
    rate: float = 500.0
    watch_rate: float = 100.0
    lists: int = 20
    clients: int = 2
    channels: int = 2
    json_path: str | None = None
    quick: bool = False
    # Reach etcd through its published port (docker-proxy) rather than its container address.
    via_docker_proxy: bool = False


QUICK = Settings(pods=200, concurrency=10, watchers=20, duration=1.0, rate=100.0,
                 watch_rate=20.0, lists=3, quick=True)


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    default = Settings()
    parser = argparse.ArgumentParser(prog="python -m bench.api",
                                     description="Benchmark the corral API server against etcd.")
    parser.add_argument("--pods", type=int, help=f"pods to create, get and update "
                        f"(default {default.pods}; --quick {QUICK.pods})")
    parser.add_argument("--concurrency", type=int,
                        help="requests in flight, over all clients "
                        f"(default {default.concurrency})")
    parser.add_argument("--watchers", type=int,
                        help=f"concurrent watches in the watch phase (default {default.watchers})")
    parser.add_argument("--duration", type=float,
                        help=f"seconds of each paced phase (default {default.duration:g})")
    parser.add_argument("--rate", type=float,
                        help=f"writes per second in the paced phase (default {default.rate:g})")
    parser.add_argument("--watch-rate", type=float,
                        help="writes per second in the watch phase "
                        f"(default {default.watch_rate:g})")
    parser.add_argument("--lists", type=int,
                        help=f"whole lists, and paged walks, of the pods (default {default.lists})")
    parser.add_argument("--clients", type=int,
                        help=f"load generator processes (default {default.clients})")
    parser.add_argument("--channels", type=int,
                        help=f"gRPC connections per client process (default {default.channels})")
    parser.add_argument("--json", dest="json_path", metavar="PATH",
                        help="also write the JSON report to PATH")
    parser.add_argument("--via-docker-proxy", action="store_true", default=None,
                        help="reach etcd at its published 127.0.0.1 port, through "
                        "docker-proxy, instead of at the container's address")
    parser.add_argument("--quick", action="store_true",
                        help="small numbers, for a smoke test (explicit flags still apply)")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else default
    given = {k: v for k, v in vars(args).items() if v is not None and k != "quick"}
    settings = replace(base, **given)
    problem = settings_problem(settings)
    if problem:
        parser.error(problem)
    return settings


def settings_problem(settings: Settings) -> str | None:
    """Why these settings cannot run, or None."""
    for name in ("pods", "concurrency", "watchers", "lists", "clients", "channels"):
        if getattr(settings, name) < 1:
            return f"--{name} must be at least 1, got {getattr(settings, name)}"
    for name in ("duration", "rate", "watch_rate"):
        if getattr(settings, name) <= 0:
            return f"--{name.replace('_', '-')} must be positive, got {getattr(settings, name)}"
    if settings.concurrency < settings.clients:
        return (f"--concurrency ({settings.concurrency}) must be at least --clients "
                f"({settings.clients}): every client needs one request in flight")
    return None


def split(total: int, parts: int) -> list[int]:
    """total spread over parts as evenly as integers allow: split(5, 2) == [3, 2]."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# =========================================================================== the pods


def make_pod(name: str, namespace: str, *, revision: int = 0) -> core_pb2.Pod:
    """A small but typical pod: labels, one container with requests, limits and a port."""
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = namespace
    pod.metadata.labels.update({"app": "bench", "tier": "web", "revision": str(revision)})
    container = pod.spec.containers.add(name="app", image="corral/busybox:1")
    container.command.extend(["sleep", "3600"])
    container.resources.requests.update({"cpu": "100m", "memory": "64Mi"})
    container.resources.limits.update({"cpu": "200m", "memory": "128Mi"})
    container.ports.add(name="http", container_port=8080)
    return pod


def pod_names(count: int, prefix: str = "pod") -> list[str]:
    return [f"{prefix}-{i:06d}" for i in range(count)]


# =========================================================================== client side
# Everything in this section runs in the load generator's processes: a Job goes in, a
# JobResult comes back (both picklable).


@dataclass(frozen=True)
class Job:
    phase: str
    # The API server's address (or etcd's, for the etcd phase).
    address: str
    channels: int
    concurrency: int
    # When the phase's clock starts (time.time()), the same for every client process.
    start_at: float
    names: tuple[str, ...] = ()
    # For updates: the resourceVersion of each name.
    versions: tuple[str, ...] = ()
    namespace: str = BENCH_NAMESPACE
    # Paced phases: this client's share of the writes.
    rate: float = 0.0
    writes: int = 0
    # List phases: how many whole lists (or paged walks) this client makes.
    repeats: int = 0
    # Watch phase: this client's watchers, every watcher's expected events, and the
    # revision to watch from (so a watch that registers late still sees every write).
    watchers: int = 0
    expected_events: int = 0
    resource_version: str = ""
    client_index: int = 0


@dataclass
class JobResult:
    # Seconds each.
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    # Wall-clock bounds of the measured part.
    started: float = math.inf
    finished: float = 0.0
    # CPU of this process (all its threads) over the measured part.
    cpu_seconds: float = 0.0

    def failed(self, error: BaseException) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = f"{type(error).__name__}: {error}"


def open_channels(address: str, count: int) -> list[grpc.aio.Channel]:
    # A local subchannel pool makes each channel its own TCP connection; by default gRPC
    # would share one connection among channels with the same target and options.
    options = [*CHANNEL_OPTIONS, ("grpc.use_local_subchannel_pool", 1)]
    return [grpc.aio.insecure_channel(address, options=options) for _ in range(count)]


async def sleep_until(wall_time: float) -> None:
    delay = wall_time - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def closed_loop(items: Iterable[T], concurrency: int, start_at: float,
                      operation: Callable[[int, T], Awaitable[object]]) -> JobResult:
    """Runs operation(worker, item) for every item, `concurrency` at a time, each worker
    starting its next item as soon as its previous one is done."""
    result = JobResult()
    pending = iter(items)

    async def worker(index: int) -> None:
        for item in pending:
            began = time.perf_counter()
            try:
                await operation(index, item)
            except (errors.ApiError, grpc.RpcError) as error:
                result.failed(error)
                continue
            result.latencies.append(time.perf_counter() - began)

    await sleep_until(start_at)
    result.started, cpu_before = time.time(), time.process_time()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    result.finished, result.cpu_seconds = time.time(), time.process_time() - cpu_before
    return result


async def open_loop(count: int, rate: float, start_at: float,
                    operation: Callable[[int], Awaitable[object]]) -> JobResult:
    """Starts operation(i) at start_at + i / rate whatever the earlier ones are doing, and
    measures each from that scheduled moment: queueing anywhere counts as latency."""
    result = JobResult()

    async def timed(index: int, scheduled: float) -> None:
        try:
            await operation(index)
        except (errors.ApiError, grpc.RpcError) as error:
            result.failed(error)
            return
        result.latencies.append(time.perf_counter() - scheduled)

    await sleep_until(start_at)
    result.started, cpu_before = time.time(), time.process_time()
    origin = time.perf_counter()
    tasks = []
    for index in range(count):
        scheduled = origin + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(index, scheduled)))
    await asyncio.gather(*tasks)
    result.finished, result.cpu_seconds = time.time(), time.process_time() - cpu_before
    return result


async def etcd_put_job(job: Job, channels: list[grpc.aio.Channel]) -> JobResult:
    stubs = [rpc_pb2_grpc.KVStub(channel) for channel in channels]
    value = make_pod("pod-000000", BENCH_NAMESPACE).SerializeToString()

    async def put(worker: int, name: str) -> None:
        key = f"/bench/baseline/{name}".encode()
        await stubs[worker % len(stubs)].Put(rpc_pb2.PutRequest(key=key, value=value), timeout=10)

    return await closed_loop(job.names, job.concurrency, job.start_at, put)


async def health_job(job: Job, channels: list[grpc.aio.Channel]) -> JobResult:
    """Bare gRPC calls to the API server's health service: the floor any verb sits on."""
    stubs = [health_pb2_grpc.HealthStub(channel) for channel in channels]
    request = health_pb2.HealthCheckRequest(service="")

    async def check(worker: int, _: str) -> None:
        await stubs[worker % len(stubs)].Check(request, timeout=10)

    return await closed_loop(job.names, job.concurrency, job.start_at, check)


async def api_job(job: Job, channels: list[grpc.aio.Channel]) -> JobResult:
    clients = [Client(job.address, channel=channel) for channel in channels]

    def client(worker: int) -> Client:
        return clients[worker % len(clients)]

    async def create(worker: int, name: str) -> None:
        await client(worker).create(make_pod(name, job.namespace))

    async def get(worker: int, name: str) -> None:
        await client(worker).get(core_pb2.Pod, name, job.namespace)

    async def update(worker: int, name_and_version: tuple[str, str]) -> None:
        name, version = name_and_version
        pod = make_pod(name, job.namespace, revision=1)
        pod.metadata.resource_version = version
        await client(worker).update(pod)

    async def list_all(worker: int, _: int) -> None:
        await client(worker).list(core_pb2.Pod, job.namespace)

    if job.phase == "create":
        return await closed_loop(job.names, job.concurrency, job.start_at, create)
    if job.phase == "get":
        return await closed_loop(job.names, job.concurrency, job.start_at, get)
    if job.phase == "update":
        pairs = zip(job.names, job.versions, strict=True)
        return await closed_loop(pairs, job.concurrency, job.start_at, update)
    if job.phase == "list":
        return await closed_loop(range(job.repeats), job.concurrency, job.start_at, list_all)
    if job.phase == "list_paged":
        return await paged_lists_job(job, clients)
    if job.phase == "paced_write":
        names = pod_names(job.writes, f"paced-{job.client_index}")

        async def paced_create(index: int) -> None:
            await clients[index % len(clients)].create(make_pod(names[index], job.namespace))

        return await open_loop(job.writes, job.rate, job.start_at, paced_create)
    raise ValueError(f"unknown benchmark phase {job.phase!r}")


async def paged_lists_job(job: Job, clients: list[Client]) -> JobResult:
    """job.repeats walks through all pods in pages of PAGE_SIZE; each page is one op."""
    result = JobResult()
    walks = iter(range(job.repeats))

    async def walker(worker: int) -> None:
        client = clients[worker % len(clients)]
        for _ in walks:
            token = ""
            while True:
                began = time.perf_counter()
                try:
                    page = await client.list(core_pb2.Pod, job.namespace, limit=PAGE_SIZE,
                                             continue_=token)
                except errors.ApiError as error:
                    result.failed(error)
                    break
                result.latencies.append(time.perf_counter() - began)
                token = page.continue_
                if not token:
                    break

    await sleep_until(job.start_at)
    result.started, cpu_before = time.time(), time.process_time()
    await asyncio.gather(*(walker(i) for i in range(job.concurrency)))
    result.finished, result.cpu_seconds = time.time(), time.process_time() - cpu_before
    return result


async def watch_job(job: Job, channels: list[grpc.aio.Channel]) -> JobResult:
    """This client's watchers, plus its share of the writes they watch."""
    result = JobResult()
    watch_channels = open_channels(job.address,
                                   max(1, math.ceil(job.watchers / WATCHES_PER_CHANNEL)))
    stubs = [api_pb2_grpc.ApiStub(channel) for channel in watch_channels]
    writers = [Client(job.address, channel=channel) for channel in channels]
    names = pod_names(job.writes, f"watched-{job.client_index}")
    request = api_pb2.WatchRequest(kind="Pod", namespace=job.namespace,
                                   resource_version=job.resource_version)

    async def watcher(index: int) -> None:
        # The raw stub, not Client.watch: one Pod decode per event, nothing else, to keep
        # the generator's own work per event small (watchers x writes of them).
        call = stubs[index % len(stubs)].Watch(request)
        seen = 0
        try:
            while seen < job.expected_events:
                batch = await call.read()
                received = time.time()
                if batch is grpc.aio.EOF:
                    break
                for event in batch.events:
                    if event.type != "ADDED":
                        continue
                    pod = core_pb2.Pod.FromString(event.object.value)
                    sent = pod.metadata.annotations.get(SENT_AT_ANNOTATION)
                    if sent is not None:
                        result.latencies.append(received - float(sent))
                        result.finished = max(result.finished, received)
                        seen += 1
        except grpc.RpcError as error:
            result.failed(error)
        finally:
            call.cancel()

    async def write(index: int) -> None:
        pod = make_pod(names[index], job.namespace)
        pod.metadata.annotations[SENT_AT_ANNOTATION] = repr(time.time())
        await writers[index % len(writers)].create(pod)

    # From here on, not from start_at: opening the watches is the generator's work too.
    cpu_before = time.process_time()
    watching = [asyncio.create_task(watcher(i)) for i in range(job.watchers)]
    try:
        written = await open_loop(job.writes, job.rate, job.start_at, write)
        _, late = await asyncio.wait(watching, timeout=WATCH_GRACE_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(*watching, return_exceptions=True)
    finally:
        for channel in watch_channels:
            await channel.close()
    # The phase lasts until the last event arrived (or the writes ended), not the grace.
    result.started = written.started
    result.finished = max(result.finished, written.finished)
    result.cpu_seconds = time.process_time() - cpu_before
    result.errors += written.errors
    result.first_error = result.first_error or written.first_error
    return result


async def run_job_async(job: Job) -> JobResult:
    channels = open_channels(job.address, job.channels)
    try:
        if job.phase == "etcd_put":
            return await etcd_put_job(job, channels)
        if job.phase == "grpc_floor":
            return await health_job(job, channels)
        if job.phase == "watch_lag":
            return await watch_job(job, channels)
        return await api_job(job, channels)
    finally:
        for channel in channels:
            await channel.close()


def run_job(job: Job) -> JobResult:
    """The entry point of a client process for one phase."""
    return asyncio.run(run_job_async(job))


def warm_up(_: int) -> int:
    """Makes a client process start and import everything before any clock runs."""
    time.sleep(0.2)
    return os.getpid()


# =========================================================================== orchestration
# Everything below runs in the main process: it starts etcd and the API server, hands
# each phase's jobs to the client processes, and watches the server's CPU and memory.


class Phases:
    """Runs phases on a pool of client processes and turns their results into rows."""

    def __init__(self, settings: Settings, pool: ProcessPoolExecutor, api_address: str,
                 server_pid: int, etcd_pid: int | None) -> None:
        self.settings = settings
        self.pool = pool
        self.api_address = api_address
        self.server_pid = server_pid
        self.etcd_pid = etcd_pid
        self.rss = RssSampler(server_pid)

    def jobs(self, phase: str, *, names: Sequence[str] = (), versions: Sequence[str] = (),
             lead: float = LEAD_SECONDS, writes: int = 0, watchers: int = 0,
             repeats: int = 0) -> list[Job]:
        """One job per client: names dealt round-robin; the request concurrency, writes,
        watchers and repeats split evenly."""
        clients = self.settings.clients
        start_at = time.time() + lead
        concurrency = split(self.settings.concurrency, clients)
        writes_of, watchers_of, repeats_of = (
            split(writes, clients), split(watchers, clients), split(repeats, clients))
        return [
            Job(phase=phase, address=self.api_address, channels=self.settings.channels,
                concurrency=concurrency[k], start_at=start_at,
                names=tuple(names[k::clients]), versions=tuple(versions[k::clients]),
                writes=writes_of[k], watchers=watchers_of[k], repeats=repeats_of[k],
                client_index=k)
            for k in range(clients)
        ]

    def run(self, key: str, name: str, jobs: Sequence[Job]) -> PhaseResult:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        futures: list[Future[JobResult]] = [self.pool.submit(run_job, job) for job in jobs]
        delay = jobs[0].start_at - time.time()
        if delay > 0:
            time.sleep(delay)
        began = time.time()
        server_cpu, etcd_cpu = cpu_seconds(self.server_pid), self._etcd_cpu()
        self.rss.take_peak()
        results = [future.result() for future in futures]
        wall = time.time() - began
        server_cpu = cpu_seconds(self.server_pid) - server_cpu
        server_cpu_pct = 100 * server_cpu / wall
        etcd_cpu_pct = 100 * (self._etcd_cpu() - etcd_cpu) / wall
        latencies = [latency for result in results for latency in result.latencies]
        seconds = max(r.finished for r in results) - min(r.started for r in results)
        details: dict[str, Any] = {"etcd_cpu_pct": None if math.isnan(etcd_cpu_pct)
                                   else round(etcd_cpu_pct, 1)}
        first_error = next((r.first_error for r in results if r.first_error), "")
        if first_error:
            details["first_error"] = first_error
        row = PhaseResult(
            key=key, name=name, ops=len(latencies), seconds=seconds,
            p50_ms=milliseconds(percentile(latencies, 50)),
            p99_ms=milliseconds(percentile(latencies, 99)),
            errors=sum(r.errors for r in results),
            server_cpu_pct=server_cpu_pct,
            server_cpu_ms_per_op=1000 * server_cpu / len(latencies) if latencies else math.nan,
            generator_cpu_pct=100 * sum(r.cpu_seconds for r in results) / seconds,
            server_rss_mb=self.rss.take_peak(), details=details,
        )
        print(f"bench: {name}: {row.ops} ops in {seconds:.1f} s, {row.errors} errors",
              file=sys.stderr, flush=True)
        return row

    def _etcd_cpu(self) -> float:
        return math.nan if self.etcd_pid is None else cpu_seconds(self.etcd_pid)


def with_target(row: PhaseResult, target: str, passed: bool) -> PhaseResult:
    """The row with its target; a phase with errors never passes."""
    return replace(row, target=target, passed=passed and row.errors == 0)


def run_phases(settings: Settings, phases: Phases, etcd_target: str) -> list[PhaseResult]:
    s = settings
    names = pod_names(s.pods)
    writes_target = f">= {TARGET_WRITES_PER_S:.0f} ops/s"
    rows = []

    etcd_jobs = [replace(job, address=etcd_target) for job in phases.jobs("etcd_put", names=names)]
    rows.append(phases.run("etcd_put", "etcd put (baseline)", etcd_jobs))
    rows.append(phases.run("grpc_floor", "gRPC health check (baseline)",
                           phases.jobs("grpc_floor", names=names)))

    row = phases.run("create", "create", phases.jobs("create", names=names))
    rows.append(with_target(row, writes_target, row.ops_per_s >= TARGET_WRITES_PER_S))

    rows.append(phases.run("get", "get", phases.jobs("get", names=names)))

    versions = asyncio.run(resource_versions(phases.api_address, BENCH_NAMESPACE))
    listed = [n for n in names if n in versions]
    row = phases.run("update", "update", phases.jobs(
        "update", names=listed, versions=[versions[n] for n in listed]))
    rows.append(with_target(row, writes_target, row.ops_per_s >= TARGET_WRITES_PER_S))

    rows.append(phases.run("list", f"list (all {s.pods} pods)",
                           phases.jobs("list", repeats=s.lists)))
    rows.append(phases.run("list_paged", f"list (pages of {PAGE_SIZE})",
                           phases.jobs("list_paged", repeats=s.lists)))

    jobs = phases.jobs("paced_write", writes=round(s.rate * s.duration))
    jobs = [replace(job, namespace=PACED_NAMESPACE, rate=job.writes / s.duration) for job in jobs]
    row = phases.run("paced_write", f"paced create @{s.rate:g}/s", jobs)
    rows.append(with_target(row, f"p99 <= {TARGET_PACED_P99_MS:.0f} ms",
                            row.p99_ms <= TARGET_PACED_P99_MS))

    writes = round(s.watch_rate * s.duration)
    since = asyncio.run(list_revision(phases.api_address, WATCH_NAMESPACE))
    # Opening hundreds of watches takes a moment; the writes wait for it.
    lead = LEAD_SECONDS + 0.004 * s.watchers
    jobs = phases.jobs("watch_lag", lead=lead, writes=writes, watchers=s.watchers)
    jobs = [replace(job, namespace=WATCH_NAMESPACE, rate=job.writes / s.duration,
                    expected_events=writes, resource_version=since) for job in jobs]
    row = phases.run("watch_lag", f"watch lag ({s.watchers} watchers, {s.watch_rate:g} writes/s)",
                     jobs)
    row.details["missed_events"] = missed = s.watchers * writes - (row.ops or 0)
    rows.append(with_target(row, f"p99 <= {TARGET_WATCH_LAG_P99_MS:.0f} ms",
                            row.p99_ms <= TARGET_WATCH_LAG_P99_MS and missed == 0))

    peak = peak_rss_mb(phases.server_pid)
    rows.append(PhaseResult(key="apiserver_rss", name="API server peak RSS", ops=None,
                            seconds=0.0, server_rss_mb=peak,
                            target=f"<= {TARGET_SERVER_RSS_MB:.0f} MB",
                            passed=peak <= TARGET_SERVER_RSS_MB))
    return rows


async def prepare_namespaces(address: str) -> None:
    async with Client(address) as client:
        for name in (BENCH_NAMESPACE, PACED_NAMESPACE, WATCH_NAMESPACE):
            namespace = core_pb2.Namespace()
            namespace.metadata.name = name
            with contextlib.suppress(errors.AlreadyExists):
                await client.create(namespace)


async def resource_versions(address: str, namespace: str) -> dict[str, str]:
    """name → resourceVersion of every pod in namespace (not timed: it prepares updates)."""
    async with Client(address, timeout=60) as client:
        pods = await client.list_all(core_pb2.Pod, namespace)
    return {pod.metadata.name: pod.metadata.resource_version for pod in pods.items}


async def list_revision(address: str, namespace: str) -> str:
    async with Client(address) as client:
        return (await client.list(core_pb2.Pod, namespace, limit=1)).resource_version


def container_attrs(container_id: str) -> dict[str, Any]:
    import docker  # the docker SDK; only needed here

    attrs: dict[str, Any] = docker.from_env().containers.get(container_id).attrs
    return attrs


def etcd_process_id(attrs: dict[str, Any]) -> int | None:
    """etcd's host PID, when this host's /proc shows the container's processes."""
    pid = int(attrs["State"]["Pid"])
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return pid if comm.read().strip() == "etcd" else None
    except OSError:
        return None


def etcd_direct_target(attrs: dict[str, Any]) -> str | None:
    """host:port of etcd at the container's own address, when this host reaches it.

    The published 127.0.0.1 port goes through docker-proxy, a userland copy of every byte
    that costs CPU on these same two cores; the container's address skips it."""
    for network in attrs["NetworkSettings"]["Networks"].values():
        address = network.get("IPAddress")
        if not address:
            continue
        try:
            with urllib.request.urlopen(f"http://{address}:2379/health", timeout=2):
                return f"{address}:2379"
        except OSError:
            continue
    return None


def run_benchmark(settings: Settings) -> tuple[list[PhaseResult], dict[str, Any]]:
    """Starts etcd and the API server, runs every phase, stops both: the rows, and the
    whole report for JSON."""
    from tests.apiserver_process import ApiServerProcess
    from tests.etcd_container import EtcdContainer

    spawn = multiprocessing.get_context("spawn")  # no forking of gRPC's threads
    with contextlib.ExitStack() as stack:
        etcd = stack.enter_context(EtcdContainer())
        attrs = container_attrs(etcd.container_id)
        etcd_target = (None if settings.via_docker_proxy else etcd_direct_target(attrs)) \
            or f"{etcd.host}:{etcd.port}"
        api = stack.enter_context(ApiServerProcess(f"http://{etcd_target}"))
        pool = stack.enter_context(ProcessPoolExecutor(settings.clients, mp_context=spawn))
        assert api.process is not None
        server_pid = api.process.pid
        etcd_pid = etcd_process_id(attrs)
        list(pool.map(warm_up, range(settings.clients)))
        asyncio.run(prepare_namespaces(api.address))
        phases = Phases(settings, pool, api.address, server_pid, etcd_pid)
        phases.rss.start()
        try:
            rows = run_phases(settings, phases, etcd_target)
        finally:
            phases.rss.stop()
        etcd_rss = math.nan if etcd_pid is None else rss_mb(etcd_pid)
        etcd_peak = math.nan if etcd_pid is None else peak_rss_mb(etcd_pid)
        server_log = str(api.log_path)
    return rows, {
        "benchmark": "api",
        "settings": asdict(settings),
        "generator": {
            "processes": settings.clients,
            "connections_per_process": settings.channels,
            "watch_connections_per_process": math.ceil(
                max(split(settings.watchers, settings.clients)) / WATCHES_PER_CHANNEL),
            "concurrency_per_process": split(settings.concurrency, settings.clients),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        },
        "etcd": etcd_target,
        "phases": [row.to_json() for row in rows],
        "apiserver_peak_rss_mb": rows[-1].to_json()["server_rss_mb"],
        "etcd_rss_mb": None if math.isnan(etcd_rss) else round(etcd_rss, 1),
        "etcd_peak_rss_mb": None if math.isnan(etcd_peak) else round(etcd_peak, 1),
        "apiserver_log": server_log,
        "targets_met": all(row.passed is not False for row in rows),
    }


def render(rows: Sequence[PhaseResult], report: dict[str, Any]) -> str:
    """The report as people read it: what generated the load, then one row per phase."""
    g = report["generator"]
    lines = [
        f"load generator: {g['processes']} processes x {g['connections_per_process']} "
        f"connections ({'+'.join(map(str, g['concurrency_per_process']))} requests in flight; "
        f"{g['watch_connections_per_process']} more connections each for watches), "
        f"Python {g['python']}, {g['cpus']} CPUs shared with the server and etcd "
        f"(at {report['etcd']})",
        "",
        format_table(TABLE_HEADERS, table_rows(rows)),
        "",
        f"etcd RSS: {report['etcd_rss_mb']} MB now, {report['etcd_peak_rss_mb']} MB peak; "
        f"targets met: {verdict(report['targets_met'])}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    settings = parse_args(argv)
    rows, report = run_benchmark(settings)
    if settings.json_path:
        write_json(settings.json_path, report)
    print(render(rows, report))
    print()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
