"""The pod side of an agent: makes the node's containers match the pods bound to it.

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
from collections.abc import Coroutine, Mapping
from typing import Any

from google.protobuf.message import Message

from agent import volumes
from agent.backoff import Backoff
from agent.config import AgentConfig
from agent.containers import CONFIG_RETRY_SECONDS, ContainerStarter, Step, pod_ref
from agent.pod_sources import (
    CONFIGMAP_INDEX,
    SECRET_INDEX,
    PodSources,
    referenced_config_maps,
    referenced_secrets,
)
from agent.probes import ProbeManager
from agent.runtime import (
    ROLE_APP,
    ROLE_INFRA,
    ROLE_INIT,
    ContainerInfo,
    PodRef,
    PortBinding,
    Runtime,
    SandboxSpec,
    newest,
)
from agent.status import (
    CRASH_LOOP_BACK_OFF,
    POD_INITIALIZING,
    ContainerView,
    pod_status,
)
from corral.api import POD_TERMINAL_PHASES, errors, is_deleting, meta, object_key, to_seconds
from corral.api.v1 import core_pb2
from corral.client import NORMAL, WARNING, Client, EventRecorder, Informer, WorkQueue

log = logging.getLogger("corral.agent")

FINALIZER = "corral.io/agent"


def should_restart(policy: str, exit_code: int) -> bool:
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return exit_code != 0
    return True


def grace_seconds(pod: core_pb2.Pod, now: float) -> float:
    """What is left of a deleted pod's grace period."""
    pod_meta = pod.metadata
    grace = (pod_meta.deletion_grace_period_seconds
             if pod_meta.HasField("deletion_grace_period_seconds")
             else pod.spec.termination_grace_period_seconds)
    if pod_meta.HasField("deletion_timestamp"):
        elapsed = now - to_seconds(pod_meta.deletion_timestamp)
        return max(0.0, min(float(grace), grace - elapsed))
    return float(grace)


def _newer_rv(a: str, b: str) -> str:
    if a.isdigit() and b.isdigit():
        return a if int(a) >= int(b) else b
    return a or b


class PodSync:
    def __init__(
        self,
        config: AgentConfig,
        client: Client,
        runtime: Runtime,
        sources: PodSources,
        recorder: EventRecorder,
    ) -> None:
        self.config = config
        self.client = client
        self.runtime = runtime
        self.node_name = config.node_name
        self.sources = sources
        self.recorder = recorder
        self.pods: Informer[core_pb2.Pod] = Informer(
            client, core_pb2.Pod, field_selector=f"spec.nodeName={config.node_name}",
        )
        self.pods.add_index(CONFIGMAP_INDEX, referenced_config_maps)
        self.pods.add_index(SECRET_INDEX, referenced_secrets)
        self.queue = WorkQueue(f"agent-{config.node_name}", base_delay=0.05, max_delay=30.0)
        self.restart_backoff = Backoff(config.backoff_base, config.backoff_cap,
                                       config.backoff_reset)
        self.starter = ContainerStarter(config, runtime, recorder, sources)
        self.probes = ProbeManager(runtime, self.queue.add, self._probe_failed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_status: dict[str, core_pb2.PodStatus] = {}
        self._latest_rv: dict[str, str] = {}
        self._background: dict[str, asyncio.Task[None]] = {}
        self._killing: set[str] = set()

    # -- wiring --------------------------------------------------------------------------------

    def watch(self) -> None:
        """Queues a pod's key whenever it, or a ConfigMap or Secret it uses, changes.
        Call from the event loop, before the runtime's events and the caches start."""
        self._loop = asyncio.get_running_loop()
        self.pods.add_handler(
            on_add=lambda pod: self.queue.add(object_key(pod)),
            on_update=lambda old, new: self.queue.add(object_key(new)),
            on_delete=lambda pod: self.queue.add(object_key(pod)),
        )
        self.sources.config_maps.add_handler(
            on_add=lambda obj: self._dependency_changed(CONFIGMAP_INDEX, obj),
            on_update=lambda old, new: self._dependency_changed(CONFIGMAP_INDEX, new),
            on_delete=lambda obj: self._dependency_changed(CONFIGMAP_INDEX, obj),
        )
        self.sources.secrets.add_handler(
            on_add=lambda obj: self._dependency_changed(SECRET_INDEX, obj),
            on_update=lambda old, new: self._dependency_changed(SECRET_INDEX, new),
            on_delete=lambda obj: self._dependency_changed(SECRET_INDEX, obj),
        )

    def on_runtime_event(self, ref: PodRef) -> None:
        """Called by the runtime (maybe from its own thread) when a container changed."""
        if self._loop is not None and ref.name:
            self._loop.call_soon_threadsafe(self.queue.add, ref.key)

    async def close(self) -> None:
        """Cancels the background work (kills, terminations, clean-ups) and the probes;
        containers are left running (a restarted agent adopts them)."""
        background = list(self._background.values())
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await self.probes.close()

    def _probe_failed(self, pod: core_pb2.Pod, container: str, kind: str, why: str) -> None:
        self.recorder.event(pod, WARNING, "Unhealthy",
                            f"{kind.capitalize()} probe failed: {why}".rstrip())

    def _dependency_changed(self, index: str, obj: core_pb2.ConfigMap | core_pb2.Secret) -> None:
        """A ConfigMap or Secret changed: the pods using it look again."""
        ref = f"{obj.metadata.namespace}/{obj.metadata.name}"
        for key in self.pods.keys_by_index(index, ref):
            self.queue.add(key)

    # -- sync ----------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None:
            # Gone from the API: whatever still runs for it goes.
            for info in await self.runtime.list_containers():
                if info.pod.uid and info.pod.key == key:
                    self._cleanup(info.pod)
            return
        if is_deleting(pod):
            self._background_once(pod.metadata.uid, self._terminate(pod))
            return
        containers = await self.runtime.list_containers(pod.metadata.uid)
        if pod.status.phase in POD_TERMINAL_PHASES or self._last_phase(pod) in POD_TERMINAL_PHASES:
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
            def add(obj: Message) -> bool:
                fresh = meta.metadata(obj)
                if fresh.uid != pod.metadata.uid or FINALIZER in fresh.finalizers:
                    return False
                fresh.finalizers.append(FINALIZER)
                return True

            retried = await self.client.update_with_retry(
                "Pod", pod.metadata.name, pod.metadata.namespace, add)
            assert isinstance(retried, core_pb2.Pod)  # read and written as a Pod
            written = retried
        self._latest_rv[pod.metadata.uid] = written.metadata.resource_version
        return written

    async def _converge(
        self, pod: core_pb2.Pod, containers: list[ContainerInfo]
    ) -> tuple[dict[str, Step], str, list[ContainerInfo] | None]:
        """Takes the steps towards the spec: (per-container steps, pod IP, the pod's
        containers now, or None when they must be listed again)."""
        steps: dict[str, Step] = {}
        mount_error = await self._write_volumes(pod)
        if mount_error:
            self.recorder.event(pod, WARNING, "FailedMount", mount_error)
        infras = sorted((c for c in containers if c.role == ROLE_INFRA),
                        key=lambda c: c.created_at)
        sandbox = infras[-1] if infras and infras[-1].running else None
        if sandbox is None:
            if mount_error:
                for container in pod.spec.containers:
                    steps[container.name] = Step("ContainerCreating", mount_error,
                                                 CONFIG_RETRY_SECONDS)
                return steps, "", containers
            # No live network namespace: the pod's containers start over in a new one.
            await asyncio.gather(*(self.runtime.remove_container(c.id) for c in containers
                                   if c.role == ROLE_INFRA or c.running))
            sandbox = await self.runtime.run_sandbox(self._sandbox_spec(pod))
            log.info("event=sandbox_started pod=%s ip=%s", object_key(pod), sandbox.ip)
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
                steps.setdefault(app.name, Step(POD_INITIALIZING))
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
               steps: Mapping[str, Step]) -> list[ContainerInfo] | None:
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
                (v.name, volumes.projected_files(pod, v,
                                                 config_maps=self.sources.config_map_bytes,
                                                 secrets=self.sources.secret_bytes))
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
    ) -> Step:
        """One step for one container: what to report, and what it started."""
        if current is not None and current.state == "created":
            # Created but never started (the agent stopped in between): make it again.
            await self.runtime.remove_container(current.id)
            step = await self.starter.start(pod, container, role, current.attempt, sandbox,
                                            mount_error)
            step.relist = True
            return step
        if current is None:
            return await self.starter.start(pod, container, role, 0, sandbox, mount_error)
        if current.running:
            failure = self.probes.liveness_failure(current)
            if failure and current.id not in self._killing:
                log.info("event=liveness_kill pod=%s container=%s reason=%r",
                         object_key(pod), container.name, failure)
                kind = failure.split(" ", 1)[0]
                self.recorder.event(pod, NORMAL, "Killing", f"Container {container.name} "
                                    f"failed {kind} probe, will be restarted")
                self._killing.add(current.id)
                grace = (container.liveness_probe.termination_grace_period_seconds
                         if container.liveness_probe.HasField("termination_grace_period_seconds")
                         else pod.spec.termination_grace_period_seconds)
                self._background_once(f"kill-{current.id}", self._kill(current, grace))
            return Step()
        if not should_restart(policy, current.exit_code):
            return Step()
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
            return Step(CRASH_LOOP_BACK_OFF, message, ready_at - now)
        log.info("event=container_restart pod=%s container=%s attempt=%d exit_code=%d",
                 object_key(pod), container.name, current.attempt + 1, current.exit_code)
        return await self.starter.start(pod, container, role, current.attempt + 1, sandbox,
                                        mount_error)

    async def _kill(self, info: ContainerInfo, grace: float) -> None:
        try:
            await self.runtime.stop_container(info.id, grace)
        finally:
            self._killing.discard(info.id)
            self.queue.add(info.pod.key)

    # -- status --------------------------------------------------------------------------------

    def _views(
        self, pod: core_pb2.Pod, containers: list[ContainerInfo], steps: Mapping[str, Step],
        pod_ip: str,
    ) -> tuple[list[ContainerView], list[ContainerView]]:
        by_name: dict[tuple[str, str], list[ContainerInfo]] = {}
        for info in containers:
            if info.role != ROLE_INFRA:
                by_name.setdefault((info.role, info.name), []).append(info)
        current_ids: set[str] = set()

        def view(container: core_pb2.Container, role: str) -> ContainerView:
            current, previous = newest(by_name.get((role, container.name), []))
            step = steps.get(container.name, Step())
            result = ContainerView(container.name, container.image, current, previous,
                                   step.reason, step.message)
            if current is not None:
                current_ids.add(current.id)
                if current.running and not is_deleting(pod):
                    self.probes.ensure(pod, container, current, pod_ip)
                result.started = self.probes.started(current, container)
                result.ready = self.probes.ready(current, container)
            return result

        init_views = [view(c, ROLE_INIT) for c in pod.spec.init_containers]
        app_views = [view(c, ROLE_APP) for c in pod.spec.containers]
        self.probes.forget_except(pod.metadata.uid, current_ids)
        return init_views, app_views

    async def _report(self, pod: core_pb2.Pod, containers: list[ContainerInfo],
                      steps: Mapping[str, Step], pod_ip: str) -> core_pb2.PodStatus:
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
        log.info("event=pod_status pod=%s phase=%s ready=%s", object_key(pod), status.phase,
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

    def _background_once(self, key: str, work: Coroutine[Any, Any, None]) -> None:
        """Runs `work` unless work under the same key is running."""
        running = self._background.get(key)
        if running is not None and not running.done():
            work.close()
            return

        async def wrapped() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event=background_failed node=%s key=%s", self.node_name, key)
            finally:
                self._background.pop(key, None)

        self._background[key] = asyncio.create_task(wrapped(), name=f"agent-{key}")

    async def _terminate(self, pod: core_pb2.Pod) -> None:
        """A deleted pod: SIGTERM, SIGKILL after the grace period, report, release."""
        key = object_key(pod)
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

        def release(obj: Message) -> bool:
            fresh = meta.metadata(obj)
            if fresh.uid != uid or FINALIZER not in fresh.finalizers:
                return False
            fresh.finalizers.remove(FINALIZER)
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
        self.starter.forget(ref.uid)
        self._last_status.pop(ref.uid, None)
        self._latest_rv.pop(ref.uid, None)
        if containers:
            log.info("event=pod_removed pod=%s uid=%s", ref.key, ref.uid)

    async def housekeeping(self) -> None:
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
