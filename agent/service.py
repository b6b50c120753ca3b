"""The agent: registers its node, keeps a Lease, and makes the node's
containers match the pods bound to it.

Level-triggered, as Kubernetes' kubelet: every change (a pod, a ConfigMap it
uses, a container starting or dying, a probe flipping) puts the pod's key on a
work queue, and `sync(key)` compares the pod with the containers the runtime
reports, takes the steps towards the spec (create the infra container, pull,
start, restart with back-off, kill on liveness failure), and writes status
when it changed. Nothing is remembered that cannot be read back from the
runtime, so an agent that restarts adopts what it finds (containers are
labelled with their pod, container name and attempt) and removes orphans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agent import volumes
from agent.backoff import Backoff
from agent.envs import EnvError, expand_command, resolve_env
from agent.node import NodeShape, merge_registration, new_node, node_status
from agent.probes import ProbeManager
from agent.runtime import (
    ROLE_APP,
    ROLE_INFRA,
    ROLE_INIT,
    ContainerConfigError,
    ContainerInfo,
    ContainerSpec,
    ImagePullError,
    NodeFacts,
    PodRef,
    PortBinding,
    Runtime,
    RuntimeUnavailable,
    SandboxSpec,
)
from agent.status import (
    CRASH_LOOP_BACK_OFF,
    CREATE_CONTAINER_CONFIG_ERROR,
    CREATE_CONTAINER_ERROR,
    ERR_IMAGE_NEVER_PULL,
    ERR_IMAGE_PULL,
    IMAGE_PULL_BACK_OFF,
    POD_INITIALIZING,
    TERMINAL_PHASES,
    ContainerView,
    pod_status,
    timestamp,
)
from corral.api import errors, quantity
from corral.api.v1 import coordination_pb2, core_pb2
from corral.client import (
    NORMAL,
    WARNING,
    Client,
    EventRecorder,
    Informer,
    SharedInformers,
    WorkQueue,
    run_workers,
)

log = logging.getLogger("corral.agent")

FINALIZER = "corral.io/agent"
LEASE_NAMESPACE = "corral-node-lease"
CONFIGMAP_INDEX = "configmaps"
SECRET_INDEX = "secrets"
# How often to retry a container whose config cannot be resolved (a missing ConfigMap).
CONFIG_RETRY_SECONDS = 5.0
# The source of the Events an agent records (the kubelet's are "kubelet").
EVENT_COMPONENT = "agent"


@dataclass
class AgentConfig:
    node_name: str
    address: str = "127.0.0.1"
    hostname: str = ""
    # The port of the agent's own gRPC service (Logs, Exec), as advertised in the Node.
    port: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[core_pb2.Taint] = field(default_factory=list)
    zone: str = ""
    capacity_cpu: str = ""
    capacity_memory: str = ""
    max_pods: int = 110
    reserved_cpu: str = "0"
    reserved_memory: str = "0"
    root_dir: Path = Path("/var/lib/corral-agent")
    backoff_base: float = 10.0
    backoff_cap: float = 300.0
    backoff_reset: float = 600.0
    lease_duration: int = 40
    lease_interval: float = 10.0
    status_interval: float = 10.0
    heartbeat_interval: float = 40.0
    housekeeping_interval: float = 10.0
    metrics_interval: float = 15.0
    workers: int = 8

    def shape(self) -> NodeShape:
        return NodeShape(
            name=self.node_name, address=self.address, hostname=self.hostname or self.node_name,
            port=self.port, labels=self.labels, taints=self.taints, zone=self.zone,
            capacity_cpu=self.capacity_cpu, capacity_memory=self.capacity_memory,
            max_pods=self.max_pods, reserved_cpu=self.reserved_cpu,
            reserved_memory=self.reserved_memory,
        )


# -- pure helpers ------------------------------------------------------------------------------


def pod_key(pod: core_pb2.Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def pod_ref(pod: core_pb2.Pod) -> PodRef:
    return PodRef(pod.metadata.uid, pod.metadata.namespace, pod.metadata.name)


def referenced_config_maps(obj: object) -> list[str]:
    """`namespace/name` of every ConfigMap a pod uses (volumes, env, envFrom)."""
    pod: core_pb2.Pod = obj  # type: ignore[assignment]
    names = {v.config_map.name for v in pod.spec.volumes if v.HasField("config_map")}
    for container in (*pod.spec.init_containers, *pod.spec.containers):
        names.update(s.config_map_ref.name for s in container.env_from
                     if s.HasField("config_map_ref"))
        names.update(e.value_from.config_map_key_ref.name for e in container.env
                     if e.value_from.HasField("config_map_key_ref"))
    return [f"{pod.metadata.namespace}/{name}" for name in sorted(names)]


def referenced_secrets(obj: object) -> list[str]:
    pod: core_pb2.Pod = obj  # type: ignore[assignment]
    names = {v.secret.secret_name for v in pod.spec.volumes if v.HasField("secret")}
    for container in (*pod.spec.init_containers, *pod.spec.containers):
        names.update(s.secret_ref.name for s in container.env_from if s.HasField("secret_ref"))
        names.update(e.value_from.secret_key_ref.name for e in container.env
                     if e.value_from.HasField("secret_key_ref"))
    return [f"{pod.metadata.namespace}/{name}" for name in sorted(names)]


def should_restart(policy: str, exit_code: int) -> bool:
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return exit_code != 0
    return True


def newest(instances: list[ContainerInfo]) -> tuple[ContainerInfo | None, ContainerInfo | None]:
    """(current, previous) instances of one container, by attempt."""
    ordered = sorted(instances, key=lambda c: (c.attempt, c.created_at))
    current = ordered[-1] if ordered else None
    previous = ordered[-2] if len(ordered) > 1 else None
    return current, previous


def grace_seconds(pod: core_pb2.Pod, now: float) -> float:
    """What is left of a deleted pod's grace period."""
    meta = pod.metadata
    grace = (meta.deletion_grace_period_seconds if meta.HasField("deletion_grace_period_seconds")
             else pod.spec.termination_grace_period_seconds)
    if meta.HasField("deletion_timestamp"):
        elapsed = now - meta.deletion_timestamp.ToNanoseconds() / 1e9
        return max(0.0, min(float(grace), grace - elapsed))
    return float(grace)


def _newer_rv(a: str, b: str) -> str:
    if a.isdigit() and b.isdigit():
        return a if int(a) >= int(b) else b
    return a or b


@dataclass
class _Step:
    """The outcome of one container's step: a waiting reason, and when to look again."""

    reason: str = ""
    message: str = ""
    retry_after: float | None = None
    # The container this step started, as the runtime reported it.
    started: ContainerInfo | None = None
    # The step removed a container: read the pod's containers again.
    relist: bool = False


# -- the agent ---------------------------------------------------------------------------------


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        client: Client,
        runtime: Runtime,
        informers: SharedInformers | None = None,
        recorder: EventRecorder | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.runtime = runtime
        self.node_name = config.node_name
        self.log = log
        self.informers = informers or SharedInformers(client)
        self.pods: Informer[core_pb2.Pod] = Informer(
            client, core_pb2.Pod, field_selector=f"spec.nodeName={config.node_name}",
        )
        self.pods.add_index(CONFIGMAP_INDEX, referenced_config_maps)
        self.pods.add_index(SECRET_INDEX, referenced_secrets)
        self.config_maps: Informer[core_pb2.ConfigMap] = self.informers.informer(
            core_pb2.ConfigMap)
        self.secrets: Informer[core_pb2.Secret] = self.informers.informer(core_pb2.Secret)
        self.queue = WorkQueue(f"agent-{config.node_name}", base_delay=0.05, max_delay=30.0)
        self.restart_backoff = Backoff(config.backoff_base, config.backoff_cap,
                                       config.backoff_reset)
        self.pull_backoff = Backoff(config.backoff_base, config.backoff_cap,
                                    config.backoff_reset)
        self._pull_waits: dict[str, tuple[float, str]] = {}
        # Events about the node's pods (Pulled, Started, BackOff, Unhealthy, ...), written
        # by `run` in the background; a recorder passed in is run by whoever passed it.
        self._own_recorder = recorder is None
        self.recorder = recorder or EventRecorder(client, EVENT_COMPONENT, host=config.node_name)
        self.probes = ProbeManager(runtime, self.queue.add, self._probe_failed)
        self.node: core_pb2.Node | None = None
        self.facts: NodeFacts | None = None
        self.runtime_ready = False
        self.ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_status: dict[str, core_pb2.PodStatus] = {}
        self._latest_rv: dict[str, str] = {}
        self._background: dict[str, asyncio.Task[None]] = {}
        self._killing: set[str] = set()
        self._sandbox_ports: dict[str, list[PortBinding]] = {}

    # -- wiring --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Runs until cancelled; containers are left running (a restarted agent adopts them)."""
        self._loop = asyncio.get_running_loop()
        await self._wait_for_runtime()
        await self.runtime.start(self._on_runtime_event)
        await self._register()
        self.pods.add_handler(
            on_add=lambda pod: self.queue.add(pod_key(pod)),
            on_update=lambda old, new: self.queue.add(pod_key(new)),
            on_delete=lambda pod: self.queue.add(pod_key(pod)),
        )
        self.config_maps.add_handler(
            on_add=lambda obj: self._dependency_changed(CONFIGMAP_INDEX, obj),
            on_update=lambda old, new: self._dependency_changed(CONFIGMAP_INDEX, new),
            on_delete=lambda obj: self._dependency_changed(CONFIGMAP_INDEX, obj),
        )
        self.secrets.add_handler(
            on_add=lambda obj: self._dependency_changed(SECRET_INDEX, obj),
            on_update=lambda old, new: self._dependency_changed(SECRET_INDEX, new),
            on_delete=lambda obj: self._dependency_changed(SECRET_INDEX, obj),
        )
        tasks = [asyncio.create_task(self.pods.run(), name=f"pods-{self.node_name}")]
        if self._own_recorder:
            tasks.append(asyncio.create_task(self.recorder.run(),
                                             name=f"events-{self.node_name}"))
        self.informers.start()
        try:
            await self.pods.wait_for_sync()
            await self.informers.wait_for_sync()
            await self._housekeeping()
            from agent.metrics_sampler import MetricsSampler

            sampler = MetricsSampler(self)
            tasks += [
                asyncio.create_task(run_workers(self.queue, self.sync, self.config.workers,
                                                self.log)),
                asyncio.create_task(self._every(self.config.lease_interval, self._renew_lease)),
                asyncio.create_task(self._every(self.config.status_interval,
                                                self._report_node_status)),
                asyncio.create_task(self._every(self.config.housekeeping_interval,
                                                self._housekeeping)),
                asyncio.create_task(self._every(self.config.metrics_interval, sampler.sample)),
            ]
            self.ready.set()
            log.info("event=agent_ready node=%s pods=%d", self.node_name, len(self.pods))
            await asyncio.gather(*tasks)
        finally:
            self.queue.shutdown()
            for task in [*tasks, *self._background.values()]:
                task.cancel()
            await asyncio.gather(*tasks, *self._background.values(), return_exceptions=True)
            await self.probes.close()

    def _probe_failed(self, pod: core_pb2.Pod, container: str, kind: str, why: str) -> None:
        self.recorder.event(pod, WARNING, "Unhealthy",
                            f"{kind.capitalize()} probe failed: {why}".rstrip())

    def _dependency_changed(self, index: str, obj: core_pb2.ConfigMap | core_pb2.Secret) -> None:
        """A ConfigMap or Secret changed: the pods using it look again."""
        ref = f"{obj.metadata.namespace}/{obj.metadata.name}"
        for key in self.pods.keys_by_index(index, ref):
            self.queue.add(key)

    def _on_runtime_event(self, ref: PodRef) -> None:
        """Called by the runtime (maybe from its own thread) when a container changed."""
        if self._loop is not None and ref.name:
            self._loop.call_soon_threadsafe(self.queue.add, ref.key)

    async def _every(self, seconds: float, action: object) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()  # type: ignore[operator]
            except asyncio.CancelledError:
                raise
            except (errors.ApiError, RuntimeUnavailable) as error:
                log.warning("event=periodic_failed node=%s action=%s error=%s: %s",
                            self.node_name, getattr(action, "__name__", action),
                            type(error).__name__, error)
            except Exception:
                log.exception("event=periodic_failed node=%s action=%s", self.node_name,
                              getattr(action, "__name__", action))

    async def _wait_for_runtime(self) -> None:
        delay = 0.5
        while not await self.runtime.ping():
            log.warning("event=runtime_unreachable node=%s retry_in=%.1fs", self.node_name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
        self.runtime_ready = True

    # -- the node ------------------------------------------------------------------------------

    async def _register(self) -> None:
        self.facts = await self.runtime.node_facts()
        wanted = new_node(self.config.shape(), self.facts)
        try:
            node = await self.client.get(core_pb2.Node, self.node_name)
            if merge_registration(node, wanted):
                node = await self.client.update(node)
        except errors.NotFound:
            try:
                node = await self.client.create(wanted)
                log.info("event=node_registered node=%s", self.node_name)
            except errors.AlreadyExists:
                node = await self.client.get(core_pb2.Node, self.node_name)
        self.node = node
        await self._report_node_status()
        namespace = core_pb2.Namespace()
        namespace.metadata.name = LEASE_NAMESPACE
        with contextlib.suppress(errors.AlreadyExists):
            await self.client.create(namespace)
        await self._renew_lease()

    async def _report_node_status(self) -> None:
        assert self.node is not None
        self.runtime_ready = await self.runtime.ping()
        if self.runtime_ready:
            with contextlib.suppress(RuntimeUnavailable):
                self.facts = await self.runtime.node_facts()
        assert self.facts is not None
        message = ("the agent is posting ready status" if self.runtime_ready
                   else "the container runtime does not answer")
        status = node_status(
            self.config.shape(), self.facts, ready=self.runtime_ready, message=message,
            old=self.node.status, now=time.time(),
            heartbeat_interval=self.config.heartbeat_interval,
        )
        if status == self.node.status:
            return
        node = core_pb2.Node()
        node.CopyFrom(self.node)
        node.status.CopyFrom(status)
        # The agent alone writes its node's status: no resourceVersion, no conflict.
        node.metadata.resource_version = ""
        try:
            self.node = await self.client.update_status(node)
        except errors.NotFound:
            log.warning("event=node_deleted node=%s: registering again", self.node_name)
            await self._register()

    async def _renew_lease(self) -> None:
        now = timestamp(time.time())
        try:
            lease = await self.client.get(coordination_pb2.Lease, self.node_name, LEASE_NAMESPACE)
        except errors.NotFound:
            lease = coordination_pb2.Lease()
            lease.metadata.name = self.node_name
            lease.metadata.namespace = LEASE_NAMESPACE
            if self.node is not None:
                lease.metadata.owner_references.add(
                    api_version="v1", kind="Node", name=self.node_name, uid=self.node.metadata.uid)
            lease.spec.holder_identity = self.node_name
            lease.spec.lease_duration_seconds = self.config.lease_duration
            lease.spec.acquire_time.CopyFrom(now)
            lease.spec.renew_time.CopyFrom(now)
            with contextlib.suppress(errors.AlreadyExists):
                await self.client.create(lease)
            return
        lease.spec.holder_identity = self.node_name
        lease.spec.lease_duration_seconds = self.config.lease_duration
        lease.spec.renew_time.CopyFrom(now)
        await self.client.update(lease)

    # -- lookups for env and volumes -----------------------------------------------------------

    def _config_map_text(self, namespace: str, name: str) -> Mapping[str, str] | None:
        cm = self.config_maps.get_by_name(name, namespace)
        if cm is None:
            return None
        return {**{k: v.decode(errors="replace") for k, v in cm.binary_data.items()}, **cm.data}

    def _secret_text(self, namespace: str, name: str) -> Mapping[str, str] | None:
        secret = self.secrets.get_by_name(name, namespace)
        if secret is None:
            return None
        return {k: v.decode(errors="replace") for k, v in secret.data.items()}

    def _config_map_bytes(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        cm = self.config_maps.get_by_name(name, namespace)
        if cm is None:
            return None
        return {**dict(cm.binary_data), **{k: v.encode() for k, v in cm.data.items()}}

    def _secret_bytes(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        secret = self.secrets.get_by_name(name, namespace)
        return None if secret is None else dict(secret.data)

    # -- sync ----------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None:
            # Gone from the API: whatever still runs for it goes.
            for info in await self.runtime.list_containers():
                if info.pod.uid and info.pod.key == key:
                    self._cleanup(info.pod)
            return
        if pod.metadata.HasField("deletion_timestamp"):
            self._background_once(pod.metadata.uid, self._terminate(pod))
            return
        containers = await self.runtime.list_containers(pod.metadata.uid)
        if pod.status.phase in TERMINAL_PHASES or self._last_phase(pod) in TERMINAL_PHASES:
            await self._settle_finished(pod, containers)
            return
        finalizer: asyncio.Task[core_pb2.Pod] | None = None
        if FINALIZER not in pod.metadata.finalizers:
            finalizer = asyncio.create_task(self._add_finalizer(pod))
        try:
            steps, pod_ip, after = await self._converge(pod, containers)
        finally:
            if finalizer is not None:
                pod = await finalizer
        containers = after if after is not None else \
            await self.runtime.list_containers(pod.metadata.uid)
        await self._report(pod, containers, steps, pod_ip)
        retries = [s.retry_after for s in steps.values() if s.retry_after is not None]
        if retries:
            self.queue.add_after(key, max(0.05, min(retries)))

    def _last_phase(self, pod: core_pb2.Pod) -> str:
        last = self._last_status.get(pod.metadata.uid)
        return last.phase if last is not None else ""

    async def _add_finalizer(self, pod: core_pb2.Pod) -> core_pb2.Pod:
        """Our finalizer keeps the pod in the API until its containers have stopped."""
        changed = core_pb2.Pod()
        changed.CopyFrom(pod)
        changed.metadata.finalizers.append(FINALIZER)
        changed.metadata.resource_version = _newer_rv(
            pod.metadata.resource_version, self._latest_rv.get(pod.metadata.uid, ""))
        try:
            written = await self.client.update(changed)
        except errors.Conflict:
            def add(obj: object) -> bool:
                fresh: core_pb2.Pod = obj  # type: ignore[assignment]
                if fresh.metadata.uid != pod.metadata.uid or FINALIZER in fresh.metadata.finalizers:
                    return False
                fresh.metadata.finalizers.append(FINALIZER)
                return True

            written = await self.client.update_with_retry(  # type: ignore[assignment]
                "Pod", pod.metadata.name, pod.metadata.namespace, add)
        self._latest_rv[pod.metadata.uid] = written.metadata.resource_version
        return written

    async def _converge(
        self, pod: core_pb2.Pod, containers: list[ContainerInfo]
    ) -> tuple[dict[str, _Step], str, list[ContainerInfo] | None]:
        """Takes the steps towards the spec: (per-container steps, pod IP, the pod's
        containers now, or None when they must be listed again)."""
        steps: dict[str, _Step] = {}
        mount_error = await self._write_volumes(pod)
        if mount_error:
            self.recorder.event(pod, WARNING, "FailedMount", mount_error)
        infras = sorted((c for c in containers if c.role == ROLE_INFRA),
                        key=lambda c: c.created_at)
        sandbox = infras[-1] if infras and infras[-1].running else None
        if sandbox is None:
            if mount_error:
                for container in pod.spec.containers:
                    steps[container.name] = _Step("ContainerCreating", mount_error,
                                                  CONFIG_RETRY_SECONDS)
                return steps, "", containers
            # No live network namespace: the pod's containers start over in a new one.
            await asyncio.gather(*(self.runtime.remove_container(c.id) for c in containers
                                   if c.role == ROLE_INFRA or c.running))
            sandbox = await self.runtime.run_sandbox(self._sandbox_spec(pod))
            log.info("event=sandbox_started pod=%s ip=%s", pod_key(pod), sandbox.ip)
            containers = [c for c in containers if c.role != ROLE_INFRA and not c.running]
            containers.append(sandbox)
        by_name: dict[str, list[ContainerInfo]] = {}
        for info in containers:
            if info.role != ROLE_INFRA:
                by_name.setdefault(info.name, []).append(info)
        policy = pod.spec.restart_policy or "Always"
        # Init containers: one at a time, each to success.
        for container in pod.spec.init_containers:
            current, _ = newest(by_name.get(container.name, []))
            if current is not None and current.exited and current.exit_code == 0:
                continue
            init_policy = "Never" if policy == "Never" else "OnFailure"
            steps[container.name] = await self._step(pod, container, ROLE_INIT, current,
                                                     sandbox, init_policy, mount_error)
            for app in pod.spec.containers:
                steps.setdefault(app.name, _Step(POD_INITIALIZING))
            return steps, sandbox.ip, self._after(containers, steps)
        results = await asyncio.gather(*(
            self._step(pod, container, ROLE_APP, newest(by_name.get(container.name, []))[0],
                       sandbox, policy, mount_error)
            for container in pod.spec.containers
        ))
        for container, step in zip(pod.spec.containers, results, strict=True):
            steps[container.name] = step
        return steps, sandbox.ip, self._after(containers, steps)

    @staticmethod
    def _after(containers: list[ContainerInfo],
               steps: Mapping[str, _Step]) -> list[ContainerInfo] | None:
        """The pod's containers after the steps, without asking the runtime again."""
        if any(step.relist for step in steps.values()):
            return None
        return containers + [s.started for s in steps.values() if s.started is not None]

    def _sandbox_spec(self, pod: core_pb2.Pod) -> SandboxSpec:
        ports = [
            PortBinding(p.container_port, p.host_port, p.protocol or "TCP", p.host_ip)
            for c in pod.spec.containers for p in c.ports if p.host_port
        ]
        return SandboxSpec(pod=pod_ref(pod), hostname=pod.spec.hostname or pod.metadata.name,
                           ports=ports,
                           grace_seconds=int(pod.spec.termination_grace_period_seconds))

    async def _write_volumes(self, pod: core_pb2.Pod) -> str:
        """Writes the files of configMap and secret volumes; an error message or ""."""
        projected = [v for v in pod.spec.volumes if v.HasField("config_map") or
                     v.HasField("secret")]
        if not projected:
            return ""
        try:
            plans = [
                (v.name, volumes.projected_files(pod, v, config_maps=self._config_map_bytes,
                                                 secrets=self._secret_bytes))
                for v in projected
            ]
        except volumes.VolumeError as error:
            return f"MountVolume.SetUp failed: {error}"
        root = self.config.root_dir

        def write() -> None:
            for name, files in plans:
                volumes.write_files(volumes.volume_dir(root, pod.metadata.uid, name), files or {})

        await asyncio.to_thread(write)
        return ""

    async def _step(
        self,
        pod: core_pb2.Pod,
        container: core_pb2.Container,
        role: str,
        current: ContainerInfo | None,
        sandbox: ContainerInfo,
        policy: str,
        mount_error: str,
    ) -> _Step:
        """One step for one container: what to report, and what it started."""
        if current is not None and current.state == "created":
            # Created but never started (the agent stopped in between): make it again.
            await self.runtime.remove_container(current.id)
            step = await self._start(pod, container, role, current.attempt, sandbox, mount_error)
            step.relist = True
            return step
        if current is None:
            return await self._start(pod, container, role, 0, sandbox, mount_error)
        if current.running:
            failure = self.probes.liveness_failure(current)
            if failure and current.id not in self._killing:
                log.info("event=liveness_kill pod=%s container=%s reason=%r",
                         pod_key(pod), container.name, failure)
                kind = failure.split(" ", 1)[0]
                self.recorder.event(pod, NORMAL, "Killing", f"Container {container.name} "
                                    f"failed {kind} probe, will be restarted")
                self._killing.add(current.id)
                grace = (container.liveness_probe.termination_grace_period_seconds
                         if container.liveness_probe.HasField("termination_grace_period_seconds")
                         else pod.spec.termination_grace_period_seconds)
                self._background_once(f"kill-{current.id}", self._kill(current, grace))
            return _Step()
        if not should_restart(policy, current.exit_code):
            return _Step()
        now = time.time()
        key = f"{pod.metadata.uid}/{container.name}"
        ready_at = self.restart_backoff.failed(
            key, current.id, current.finished_at or now,
            max(0.0, current.finished_at - current.started_at))
        if now < ready_at:
            delay = self.restart_backoff.delay(key)
            message = (f"back-off {delay:g}s restarting failed container={container.name} "
                       f"pod={pod.metadata.name}_{pod.metadata.namespace}({pod.metadata.uid})")
            self.recorder.event(
                pod, WARNING, "BackOff", f"Back-off restarting failed container "
                f"{container.name} in pod {pod.metadata.name}_{pod.metadata.namespace}"
                f"({pod.metadata.uid})")
            return _Step(CRASH_LOOP_BACK_OFF, message, ready_at - now)
        log.info("event=container_restart pod=%s container=%s attempt=%d exit_code=%d",
                 pod_key(pod), container.name, current.attempt + 1, current.exit_code)
        return await self._start(pod, container, role, current.attempt + 1, sandbox,
                                 mount_error)

    async def _kill(self, info: ContainerInfo, grace: float) -> None:
        try:
            await self.runtime.stop_container(info.id, grace)
        finally:
            self._killing.discard(info.id)
            self.queue.add(info.pod.key)

    async def _start(
        self,
        pod: core_pb2.Pod,
        container: core_pb2.Container,
        role: str,
        attempt: int,
        sandbox: ContainerInfo,
        mount_error: str,
    ) -> _Step:
        if mount_error:
            return _Step("ContainerCreating", mount_error, CONFIG_RETRY_SECONDS)
        now = time.time()
        pull_key = f"{pod.metadata.uid}/{container.name}/pull"
        waiting = self._pull_waits.get(pull_key)
        image = container.image
        if waiting is not None and now < waiting[0]:
            self.recorder.event(pod, NORMAL, "BackOff", f"Back-off pulling image \"{image}\"")
            return _Step(IMAGE_PULL_BACK_OFF, f"Back-off pulling image \"{image}\": "
                         f"{waiting[1]}", waiting[0] - now)
        policy = container.image_pull_policy
        if policy != "Always" and await self.runtime.image_present(image):
            self.recorder.event(pod, NORMAL, "Pulled",
                                f"Container image \"{image}\" already present on machine")
        else:
            if policy != "Never":
                self.recorder.event(pod, NORMAL, "Pulling", f"Pulling image \"{image}\"")
            pull_started = time.monotonic()
            try:
                await self.runtime.ensure_image(image, policy)
            except ImagePullError as error:
                if error.never_pull:
                    self.recorder.event(pod, WARNING, ERR_IMAGE_NEVER_PULL, error.message)
                    return _Step(ERR_IMAGE_NEVER_PULL, error.message, CONFIG_RETRY_SECONDS)
                ready_at = max(self.pull_backoff.failed(pull_key, str(now), now),
                               now + self.config.backoff_base)
                self._pull_waits[pull_key] = (ready_at, error.message)
                log.info("event=image_pull_failed pod=%s container=%s error=%r",
                         pod_key(pod), container.name, error.message)
                self.recorder.event(pod, WARNING, "Failed", error.message)
                # Look again soon, not only when the back-off ends: that sync
                # reports ImagePullBackOff for the rest of the wait, as
                # Kubernetes shows ErrImagePull and then ImagePullBackOff.
                return _Step(ERR_IMAGE_PULL, error.message, min(ready_at - now, 1.0))
            self.recorder.event(pod, NORMAL, "Pulled", f"Successfully pulled image \"{image}\" "
                                f"in {time.monotonic() - pull_started:.3f}s")
        self._pull_waits.pop(pull_key, None)
        self.pull_backoff.forget(pull_key)
        try:
            spec = self._container_spec(pod, container, role, attempt, sandbox.ip)
        except (EnvError, volumes.VolumeError, quantity.InvalidQuantity) as error:
            self.recorder.event(pod, WARNING, "Failed", f"Error: {error}")
            return _Step(CREATE_CONTAINER_CONFIG_ERROR, str(error), CONFIG_RETRY_SECONDS)
        try:
            started = await self.runtime.run_container(sandbox, spec)
        except ImagePullError as error:
            self.recorder.event(pod, WARNING, "Failed", error.message)
            return _Step(ERR_IMAGE_PULL, error.message, CONFIG_RETRY_SECONDS)
        except ContainerConfigError as error:
            self.recorder.event(pod, WARNING, "Failed", f"Error: {error}")
            return _Step(CREATE_CONTAINER_ERROR, str(error), CONFIG_RETRY_SECONDS)
        # The runtime creates and starts in one call: both happened.
        self.recorder.event(pod, NORMAL, "Created", f"Created container {container.name}")
        self.recorder.event(pod, NORMAL, "Started", f"Started container {container.name}")
        return _Step(started=started)

    def _container_spec(self, pod: core_pb2.Pod, container: core_pb2.Container, role: str,
                        attempt: int, pod_ip: str) -> ContainerSpec:
        env = resolve_env(pod, container, config_maps=self._config_map_text,
                          secrets=self._secret_text, pod_ip=pod_ip, host_ip=self.config.address)
        command, args = expand_command(list(container.command), list(container.args), env)
        limits, requests = container.resources.limits, container.resources.requests
        return ContainerSpec(
            pod=pod_ref(pod), name=container.name, role=role, attempt=attempt,
            image=container.image, pull_policy=container.image_pull_policy,
            command=command, args=args, working_dir=container.working_dir, env=env,
            mounts=volumes.container_mounts(self.config.root_dir, pod, container),
            cpu_millis=quantity.cpu_millis(limits["cpu"]) if "cpu" in limits else 0,
            memory_bytes=quantity.to_int(limits["memory"]) if "memory" in limits else 0,
            cpu_request_millis=quantity.cpu_millis(requests["cpu"]) if "cpu" in requests else 0,
            memory_request_bytes=(quantity.to_int(requests["memory"]) if "memory" in requests
                                  else 0),
            tty=container.tty, stdin=container.stdin,
            grace_seconds=int(pod.spec.termination_grace_period_seconds),
        )

    # -- status --------------------------------------------------------------------------------

    def _views(
        self, pod: core_pb2.Pod, containers: list[ContainerInfo], steps: Mapping[str, _Step],
        pod_ip: str,
    ) -> tuple[list[ContainerView], list[ContainerView]]:
        by_name: dict[tuple[str, str], list[ContainerInfo]] = {}
        for info in containers:
            if info.role != ROLE_INFRA:
                by_name.setdefault((info.role, info.name), []).append(info)
        current_ids: set[str] = set()

        def view(container: core_pb2.Container, role: str) -> ContainerView:
            current, previous = newest(by_name.get((role, container.name), []))
            step = steps.get(container.name, _Step())
            result = ContainerView(container.name, container.image, current, previous,
                                   step.reason, step.message)
            if current is not None:
                current_ids.add(current.id)
                if current.running and not pod.metadata.HasField("deletion_timestamp"):
                    self.probes.ensure(pod, container, current, pod_ip)
                result.started = self.probes.started(current, container)
                result.ready = self.probes.ready(current, container)
            return result

        init_views = [view(c, ROLE_INIT) for c in pod.spec.init_containers]
        app_views = [view(c, ROLE_APP) for c in pod.spec.containers]
        self.probes.forget_except(pod.metadata.uid, current_ids)
        return init_views, app_views

    async def _report(self, pod: core_pb2.Pod, containers: list[ContainerInfo],
                      steps: Mapping[str, _Step], pod_ip: str) -> core_pb2.PodStatus:
        init_views, app_views = self._views(pod, containers, steps, pod_ip)
        status = pod_status(pod, init_views, app_views, pod_ip=pod_ip,
                            host_ip=self.config.address, now=time.time(),
                            previous=self._last_status.get(pod.metadata.uid))
        await self._write_status(pod, status)
        await self._prune(pod, containers)
        return status

    async def _write_status(self, pod: core_pb2.Pod, status: core_pb2.PodStatus) -> None:
        """UpdateStatus, only when the status differs from the last one written."""
        uid = pod.metadata.uid
        last = self._last_status.get(uid)
        if status == (last if last is not None else pod.status):
            return
        changed = core_pb2.Pod()
        changed.CopyFrom(pod)
        changed.status.CopyFrom(status)
        changed.metadata.resource_version = _newer_rv(pod.metadata.resource_version,
                                                      self._latest_rv.get(uid, ""))
        try:
            written = await self.client.update_status(changed)
        except errors.Conflict:
            try:
                fresh = await self.client.get(core_pb2.Pod, pod.metadata.name,
                                              pod.metadata.namespace)
            except errors.NotFound:
                return
            if fresh.metadata.uid != uid:
                return
            fresh.status.CopyFrom(status)
            written = await self.client.update_status(fresh)
        except errors.NotFound:
            return
        self._latest_rv[uid] = written.metadata.resource_version
        self._last_status[uid] = status
        log.info("event=pod_status pod=%s phase=%s ready=%s", pod_key(pod), status.phase,
                 next((c.status for c in status.conditions if c.type == "Ready"), ""))

    async def _prune(self, pod: core_pb2.Pod, containers: list[ContainerInfo]) -> None:
        """Removes instances older than the previous one of each container (kept for logs)."""
        by_name: dict[tuple[str, str], list[ContainerInfo]] = {}
        for info in containers:
            if info.role != ROLE_INFRA:
                by_name.setdefault((info.role, info.name), []).append(info)
        old: list[ContainerInfo] = []
        for instances in by_name.values():
            ordered = sorted(instances, key=lambda c: (c.attempt, c.created_at))
            old.extend(c for c in ordered[:-2] if not c.running)
        infras = sorted((c for c in containers if c.role == ROLE_INFRA),
                        key=lambda c: c.created_at)
        old.extend(c for c in infras[:-1] if not c.running)
        await asyncio.gather(*(self.runtime.remove_container(c.id) for c in old))

    async def _settle_finished(self, pod: core_pb2.Pod, containers: list[ContainerInfo]) -> None:
        """A Succeeded or Failed pod: nothing runs any more (its infra container goes),
        the exited containers stay for their logs."""
        running = [c for c in containers if c.running]
        if running:
            await asyncio.gather(*(self.runtime.remove_container(c.id) for c in running
                                   if c.role == ROLE_INFRA))
            await asyncio.gather(*(self.runtime.stop_container(c.id, c.grace_seconds)
                                   for c in running if c.role != ROLE_INFRA))
            containers = await self.runtime.list_containers(pod.metadata.uid)
        await self._report(pod, containers, {}, "")

    # -- deletion ------------------------------------------------------------------------------

    def _background_once(self, key: str, work: object) -> None:
        """Runs `work` (a coroutine) unless work under the same key is running."""
        running = self._background.get(key)
        if running is not None and not running.done():
            work.close()  # type: ignore[attr-defined]
            return

        async def wrapped() -> None:
            try:
                await work  # type: ignore[misc]
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event=background_failed node=%s key=%s", self.node_name, key)
            finally:
                self._background.pop(key, None)

        self._background[key] = asyncio.create_task(wrapped(), name=f"agent-{key}")

    async def _terminate(self, pod: core_pb2.Pod) -> None:
        """A deleted pod: SIGTERM, SIGKILL after the grace period, report, release."""
        key = pod_key(pod)
        uid = pod.metadata.uid
        grace = grace_seconds(pod, time.time())
        containers = await self.runtime.list_containers(uid)
        apps = [c for c in containers if c.running and c.role != ROLE_INFRA]
        if apps:
            log.info("event=pod_stopping pod=%s containers=%d grace=%.0fs", key, len(apps), grace)
        for app in apps:
            self.recorder.event(pod, NORMAL, "Killing", f"Stopping container {app.name}")
        self.probes.forget_except(uid, set())
        await asyncio.gather(*(self.runtime.stop_container(c.id, grace) for c in apps))
        await asyncio.gather(*(self.runtime.remove_container(c.id) for c in containers
                               if c.role == ROLE_INFRA))
        containers = await self.runtime.list_containers(uid)
        latest = self.pods.get(key)
        if latest is not None and latest.metadata.uid == uid:
            pod = latest
        if containers:
            await self._report(pod, containers, {}, "")

        def release(obj: object) -> bool:
            fresh: core_pb2.Pod = obj  # type: ignore[assignment]
            if fresh.metadata.uid != uid or FINALIZER not in fresh.metadata.finalizers:
                return False
            fresh.metadata.finalizers.remove(FINALIZER)
            return True

        with contextlib.suppress(errors.NotFound):
            await self.client.update_with_retry("Pod", pod.metadata.name, pod.metadata.namespace,
                                                release)
        log.info("event=pod_stopped pod=%s", key)
        self.queue.add(key)

    def _cleanup(self, ref: PodRef) -> None:
        self._background_once(f"cleanup-{ref.uid}", self._remove_pod(ref))

    async def _remove_pod(self, ref: PodRef) -> None:
        """Removes every trace of a pod that is no longer bound here."""
        if not ref.uid:
            return  # no pod to look for: listing by an empty uid must not widen the net
        containers = await self.runtime.list_containers(ref.uid)
        running = [c for c in containers if c.running and c.role != ROLE_INFRA]
        if running:
            log.info("event=orphan_stopping pod=%s uid=%s containers=%d", ref.key, ref.uid,
                     len(running))
        await asyncio.gather(*(self.runtime.stop_container(c.id, c.grace_seconds)
                               for c in running))
        await asyncio.gather(*(self.runtime.remove_container(c.id) for c in containers))
        await self.runtime.remove_pod_volumes(ref.uid)
        await asyncio.to_thread(volumes.remove_pod_dir, self.config.root_dir, ref.uid)
        self.probes.forget_except(ref.uid, set())
        self.restart_backoff.forget_prefix(ref.uid + "/")
        self.pull_backoff.forget_prefix(ref.uid + "/")
        for key in [k for k in self._pull_waits if k.startswith(ref.uid + "/")]:
            del self._pull_waits[key]
        self._last_status.pop(ref.uid, None)
        self._latest_rv.pop(ref.uid, None)
        if containers:
            log.info("event=pod_removed pod=%s uid=%s", ref.key, ref.uid)

    async def _housekeeping(self) -> None:
        """Removes containers of pods no longer bound here, and looks at every pod again
        (in case a runtime event was missed)."""
        wanted = {pod.metadata.uid for pod in self.pods.list()}
        for info in await self.runtime.list_containers():
            if not info.pod.uid:
                # Labelled with our node but with no pod: not something an agent made.
                log.warning("event=foreign_container node=%s id=%s: left alone",
                            self.node_name, info.id[:12])
            elif info.pod.uid not in wanted:
                self._cleanup(info.pod)
        keys = self.pods.keys()
        for key in keys:
            self.queue.add(key)

