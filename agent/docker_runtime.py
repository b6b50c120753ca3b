"""The Docker runtime: pods as real containers, through the Docker Engine API.

Each pod gets an infrastructure container (`--pause-image`, running `sleep`)
that holds the pod's network namespace on the user-defined network
`--pod-network`; the pod IP is its address there, and hostPorts are published
on it. App containers join it with `network_mode=container:<infra>`, so the
pod's containers reach each other on localhost.

Container names are deterministic (`corral_<container>_<pod>_<namespace>_<uid>_<attempt>`),
so the engine itself refuses a duplicate: a create that finds its name taken
adopts the container that is there.

Everything this runtime makes (containers, volumes) is labelled with its node
(`corral.node`) and its cluster (`corral.cluster`, `--cluster-name`), and every list,
event stream and volume query is narrowed by both: two clusters on one engine may
have nodes of the same name, and neither must take the other's containers for
orphans.

The docker SDK is synchronous: every call runs in this runtime's own thread
pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import docker
import docker.errors
from docker.utils.socket import frames_iter

from agent.runtime import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER,
    LABEL_GRACE,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    LABEL_ROLE,
    ROLE_INFRA,
    ContainerConfigError,
    ContainerInfo,
    ContainerSpec,
    ContainerStats,
    EventCallback,
    ExecResult,
    ExecSession,
    ImagePullError,
    NodeFacts,
    PodRef,
    Runtime,
    RuntimeUnavailable,
    SandboxSpec,
)

log = logging.getLogger("corral.agent.docker")
T = TypeVar("T")
CPU_PERIOD_US = 100_000
INFRA_NAME = "POD"  # upper case: no container of a pod can be called this
LABEL_CLUSTER = "corral.cluster"
DEFAULT_CLUSTER_NAME = "corral"


def _epoch(text: str) -> float:
    """Docker's RFC 3339 nanosecond times as Unix seconds; 0 for its zero time."""
    if not text or text.startswith("0001-"):
        return 0.0
    main, _, fraction = text.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(main + "+00:00").timestamp()
    digits = "".join(ch for ch in fraction if ch.isdigit())[:6]
    return seconds + (int(digits) / 10 ** len(digits) if digits else 0.0)


def container_name(pod: PodRef, container: str, attempt: int) -> str:
    return f"corral_{container}_{pod.name}_{pod.namespace}_{pod.uid[:8]}_{attempt}"


class DockerRuntime(Runtime):
    def __init__(
        self,
        node_name: str,
        *,
        pod_network: str = "corral-pods",
        pause_image: str,
        cluster_name: str = DEFAULT_CLUSTER_NAME,
        base_url: str | None = None,
        threads: int = 32,
    ) -> None:
        if not node_name:
            # Every list, event and volume filter is scoped by the node label: without a
            # name there is no telling this node's containers from anyone else's.
            raise ValueError("DockerRuntime: node_name must not be empty")
        if not cluster_name:
            raise ValueError("DockerRuntime: cluster_name must not be empty")
        self.node_name = node_name
        self.cluster_name = cluster_name
        # The labels that make a container or volume this agent's: every query has both.
        self._scope = [f"{LABEL_NODE}={node_name}", f"{LABEL_CLUSTER}={cluster_name}"]
        self.pod_network = pod_network
        self.pause_image = pause_image
        self._base_url = base_url
        self._threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="docker")
        self._client: docker.DockerClient | None = None
        # Inspections of containers by (id, state): what we need never changes within a state.
        self._inspected: dict[tuple[str, str], dict[str, Any]] = {}
        self._present_images: set[str] = set()
        self._events_stop = threading.Event()
        self._events_stream: Any = None
        self._events_thread: threading.Thread | None = None

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def api(self) -> docker.APIClient:
        if self._client is None:
            kwargs: dict[str, Any] = {"max_pool_size": self._threads, "timeout": 120}
            if self._base_url:
                self._client = docker.DockerClient(base_url=self._base_url, **kwargs)
            else:
                self._client = docker.from_env(**kwargs)
        return self._client.api

    async def _run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: func(*args, **kwargs))
        except docker.errors.DockerException as error:
            if isinstance(error, docker.errors.APIError):
                raise
            raise RuntimeUnavailable(f"the Docker engine does not answer: {error}") from error
        except (ConnectionError, OSError) as error:
            raise RuntimeUnavailable(f"the Docker engine does not answer: {error}") from error

    def _labels(self, pod: PodRef, container: str, role: str, attempt: int,
                grace: int) -> dict[str, str]:
        return {
            LABEL_NODE: self.node_name,
            LABEL_CLUSTER: self.cluster_name,
            LABEL_POD_UID: pod.uid,
            LABEL_POD_NAMESPACE: pod.namespace,
            LABEL_POD_NAME: pod.name,
            LABEL_CONTAINER: container,
            LABEL_ROLE: role,
            LABEL_ATTEMPT: str(attempt),
            LABEL_GRACE: str(grace),
        }

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, on_event: EventCallback) -> None:
        await self._run(self._ensure_network)
        self._events_thread = threading.Thread(
            target=self._watch_events, args=(on_event,), name=f"docker-events-{self.node_name}",
            daemon=True,
        )
        self._events_thread.start()

    def _ensure_network(self) -> None:
        if self.api.networks(names=[self.pod_network]):
            return
        try:
            self.api.create_network(
                self.pod_network, driver="bridge", check_duplicate=True,
                labels={"corral.network": "pods"},
            )
            log.info("event=network_created network=%s", self.pod_network)
        except docker.errors.APIError as error:
            if error.status_code != 409:  # another agent created it first
                raise

    def _watch_events(self, on_event: EventCallback) -> None:
        """Tells the agent about container starts and deaths, reconnecting when needed."""
        while not self._events_stop.is_set():
            try:
                self._events_stream = self.api.events(
                    decode=True,
                    filters={"type": "container", "label": list(self._scope)},
                )
                for event in self._events_stream:
                    if event.get("status") not in ("start", "die", "oom", "destroy"):
                        continue
                    labels = event.get("Actor", {}).get("Attributes", {})
                    if LABEL_POD_UID in labels:
                        on_event(PodRef(labels[LABEL_POD_UID], labels.get(LABEL_POD_NAMESPACE, ""),
                                        labels.get(LABEL_POD_NAME, "")))
            except Exception as error:
                if self._events_stop.is_set():
                    return
                log.warning("event=docker_events_failed node=%s error=%r", self.node_name, error)
            self._events_stop.wait(1.0)

    async def close(self) -> None:
        self._events_stop.set()
        stream = self._events_stream
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._run(self.api.ping), 5))
        except Exception:
            return False

    async def node_facts(self) -> NodeFacts:
        info = await self._run(self.api.info)
        images = await self._run(self.api.images)
        listed = [
            ([tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"],
             int(image.get("Size", 0)))
            for image in images
        ]
        return NodeFacts(
            cpu_millis=int(info.get("NCPU", 1)) * 1000,
            memory_bytes=int(info.get("MemTotal", 0)),
            images=[(names, size) for names, size in listed if names],
            runtime_version=f"docker://{info.get('ServerVersion', '')}",
            kernel_version=info.get("KernelVersion", ""),
            os_image=info.get("OperatingSystem", ""),
            architecture=info.get("Architecture", ""),
            operating_system=info.get("OSType", "linux"),
            machine_id=info.get("ID", ""),
        )

    # -- reading -------------------------------------------------------------------------------

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        return await self._run(self._list, pod_uid)

    def _list(self, pod_uid: str | None) -> list[ContainerInfo]:
        labels = list(self._scope)
        if pod_uid is not None:
            # "" too: an empty uid must match nothing, not every container of the node.
            labels.append(f"{LABEL_POD_UID}={pod_uid}")
        listed = self.api.containers(all=True, filters={"label": labels})
        infos = []
        live: set[tuple[str, str]] = set()
        for summary in listed:
            state = summary.get("State", "")
            key = (summary["Id"], state)
            live.add(key)
            inspected = self._inspected.get(key)
            if inspected is None:
                try:
                    inspected = self.api.inspect_container(summary["Id"])
                except docker.errors.NotFound:
                    continue
                state = inspected["State"]["Status"]
                key = (summary["Id"], state)
                live.add(key)
                if state in ("running", "exited"):
                    self._inspected[key] = inspected
            infos.append(self._info(inspected))
        if pod_uid is None:
            # A full list: forget inspections of containers that are gone.
            for key in [k for k in self._inspected if k not in live]:
                del self._inspected[key]
        return infos

    def _info(self, inspected: dict[str, Any]) -> ContainerInfo:
        labels = inspected["Config"].get("Labels") or {}
        state = inspected["State"]
        status = state.get("Status", "")
        if status in ("dead", "removing"):
            status = "exited"
        elif status in ("paused", "restarting"):
            status = "running"
        networks = inspected.get("NetworkSettings", {}).get("Networks") or {}
        ip = (networks.get(self.pod_network) or {}).get("IPAddress", "")
        return ContainerInfo(
            id=inspected["Id"],
            pod=PodRef(labels.get(LABEL_POD_UID, ""), labels.get(LABEL_POD_NAMESPACE, ""),
                       labels.get(LABEL_POD_NAME, "")),
            name=labels.get(LABEL_CONTAINER, ""),
            role=labels.get(LABEL_ROLE, ""),
            attempt=int(labels.get(LABEL_ATTEMPT, "0") or 0),
            image=inspected["Config"].get("Image", ""),
            image_id=inspected.get("Image", ""),
            state=status,
            exit_code=int(state.get("ExitCode", 0)),
            oom_killed=bool(state.get("OOMKilled", False)),
            error=state.get("Error", ""),
            created_at=_epoch(inspected.get("Created", "")),
            started_at=_epoch(state.get("StartedAt", "")),
            finished_at=_epoch(state.get("FinishedAt", "")),
            ip=ip,
            grace_seconds=int(labels.get(LABEL_GRACE, "30") or 30),
        )

    # -- creating ------------------------------------------------------------------------------

    async def run_sandbox(self, spec: SandboxSpec) -> ContainerInfo:
        return await self._run(self._run_sandbox, spec)

    def _run_sandbox(self, spec: SandboxSpec) -> ContainerInfo:
        api = self.api
        ports = [(p.container_port, p.protocol.lower() or "tcp") for p in spec.ports]
        bindings = {
            f"{p.container_port}/{p.protocol.lower() or 'tcp'}":
                (p.host_ip, p.host_port) if p.host_ip else p.host_port
            for p in spec.ports
        }
        host_config = api.create_host_config(
            network_mode=self.pod_network, port_bindings=bindings or None,
        )
        name = container_name(spec.pod, INFRA_NAME, 0)
        if self.pause_image not in self._present_images:
            self._ensure_image(self.pause_image, "IfNotPresent")
        try:
            created = api.create_container(
                self.pause_image, command=["sleep", "2147483647"], name=name,
                hostname=spec.hostname[:63], labels=self._labels(
                    spec.pod, INFRA_NAME, ROLE_INFRA, 0, spec.grace_seconds),
                ports=ports or None, host_config=host_config, stop_signal="SIGKILL",
            )
            container_id = created["Id"]
        except docker.errors.APIError as error:
            if error.status_code != 409:
                raise ContainerConfigError(f"cannot create the pod's infra container: "
                                           f"{error.explanation or error}") from error
            container_id = api.inspect_container(name)["Id"]
        self._start(container_id)
        return self._info(self._inspect_fresh(container_id))

    def _inspect_fresh(self, container_id: str) -> dict[str, Any]:
        """Inspects a container just started, keeping the result for the next list."""
        inspected = self.api.inspect_container(container_id)
        state = inspected["State"]["Status"]
        if state in ("running", "exited"):
            self._inspected[(container_id, state)] = inspected
        return inspected

    def _start(self, container_id: str) -> None:
        try:
            self.api.start(container_id)
        except docker.errors.APIError as error:
            if error.status_code != 304:  # already started
                raise ContainerConfigError(
                    f"cannot start container: {error.explanation or error}") from error

    async def image_present(self, image: str) -> bool:
        return await self._run(self._image_present, image)

    def _image_present(self, image: str) -> bool:
        if image in self._present_images:
            return True
        try:
            self.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            return False
        self._present_images.add(image)
        return True

    async def ensure_image(self, image: str, policy: str) -> None:
        await self._run(self._ensure_image, image, policy)

    def _ensure_image(self, image: str, policy: str) -> None:
        if policy != "Always":
            if self._image_present(image):
                return
            if policy == "Never":
                raise ImagePullError(
                    f'image "{image}" is not present and its pull policy is Never',
                    never_pull=True)
        repository, tag = _split_image(image)
        try:
            self.api.pull(repository, tag=tag)
        except docker.errors.APIError as error:
            self._present_images.discard(image)
            raise ImagePullError(
                f'failed to pull image "{image}": {error.explanation or error}') from error
        self._present_images.add(image)

    async def run_container(self, sandbox: ContainerInfo, spec: ContainerSpec) -> ContainerInfo:
        return await self._run(self._run_container, sandbox, spec)

    def _run_container(self, sandbox: ContainerInfo, spec: ContainerSpec) -> ContainerInfo:
        api = self.api
        for mount in spec.mounts:
            if mount.kind == "volume":
                self._ensure_volume(mount.source, spec.pod)
        mounts = [
            docker.types.Mount(m.target, m.source, type=m.kind, read_only=m.read_only)
            for m in spec.mounts
        ]
        limits: dict[str, Any] = {}
        if spec.cpu_millis:
            limits["cpu_period"] = CPU_PERIOD_US
            limits["cpu_quota"] = max(1000, spec.cpu_millis * CPU_PERIOD_US // 1000)
        if spec.memory_bytes:
            limits["mem_limit"] = spec.memory_bytes
            limits["memswap_limit"] = spec.memory_bytes  # no swap, as in Kubernetes
        if spec.cpu_request_millis:
            # Relative weight when cpu is contended, as Kubernetes derives it from requests.
            limits["cpu_shares"] = max(2, spec.cpu_request_millis * 1024 // 1000)
        host_config = api.create_host_config(
            network_mode=f"container:{sandbox.id}", mounts=mounts or None, **limits,
        )
        labels = self._labels(spec.pod, spec.name, spec.role, spec.attempt, spec.grace_seconds)
        if spec.memory_request_bytes:
            labels["corral.requests.memory"] = str(spec.memory_request_bytes)
        if spec.cpu_request_millis:
            labels["corral.requests.cpu"] = f"{spec.cpu_request_millis}m"
        name = container_name(spec.pod, spec.name, spec.attempt)
        try:
            created = api.create_container(
                spec.image,
                command=spec.args or None,
                entrypoint=spec.command or None,
                working_dir=spec.working_dir or None,
                environment=[f"{k}={v}" for k, v in spec.env.items()],
                name=name,
                labels=labels,
                host_config=host_config,
                tty=spec.tty,
                stdin_open=spec.stdin,
            )
            container_id = created["Id"]
        except docker.errors.ImageNotFound as error:
            self._present_images.discard(spec.image)
            raise ImagePullError(f'image "{spec.image}" is not present: {error}') from error
        except docker.errors.APIError as error:
            if error.status_code != 409:
                raise ContainerConfigError(str(error.explanation or error)) from error
            container_id = api.inspect_container(name)["Id"]  # made before: adopt it
        self._start(container_id)
        return self._info(self._inspect_fresh(container_id))

    def _ensure_volume(self, name: str, pod: PodRef) -> None:
        try:
            self.api.inspect_volume(name)
        except docker.errors.NotFound:
            self.api.create_volume(name, labels={
                LABEL_NODE: self.node_name, LABEL_CLUSTER: self.cluster_name,
                LABEL_POD_UID: pod.uid,
                LABEL_POD_NAMESPACE: pod.namespace, LABEL_POD_NAME: pod.name,
            })

    # -- stopping ------------------------------------------------------------------------------

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        await self._run(self._stop, container_id, grace_seconds)

    def _stop(self, container_id: str, grace_seconds: float) -> None:
        try:
            # Docker's own stop: SIGTERM, SIGKILL after the timeout.
            self.api.stop(container_id, timeout=max(0, round(grace_seconds)))
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if error.status_code not in (304, 409):
                raise

    async def remove_container(self, container_id: str) -> None:
        await self._run(self._remove, container_id)

    def _remove(self, container_id: str) -> None:
        try:
            self.api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if error.status_code != 409:  # removal already in progress
                raise

    async def remove_pod_volumes(self, pod_uid: str) -> None:
        await self._run(self._remove_volumes, pod_uid)

    def _remove_volumes(self, pod_uid: str) -> None:
        if not pod_uid:
            return
        found = self.api.volumes(filters={"label": [*self._scope,
                                                     f"{LABEL_POD_UID}={pod_uid}"]})
        for volume in (found or {}).get("Volumes") or []:
            with contextlib.suppress(docker.errors.NotFound):
                self.api.remove_volume(volume["Name"], force=True)

    # -- exec, logs, stats ---------------------------------------------------------------------

    async def exec(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        return await asyncio.wait_for(self._run(self._exec, container_id, command), timeout)

    def _exec(self, container_id: str, command: list[str]) -> ExecResult:
        exec_id = self.api.exec_create(container_id, command, stdout=True, stderr=True)["Id"]
        output = self.api.exec_start(exec_id)
        code = self.api.exec_inspect(exec_id).get("ExitCode")
        return ExecResult(-1 if code is None else int(code), output or b"")

    async def exec_session(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool,
        width: int = 0, height: int = 0,
    ) -> ExecSession:
        def open_session() -> DockerExecSession:
            exec_id = self.api.exec_create(
                container_id, command, stdin=stdin, tty=tty, stdout=True, stderr=True)["Id"]
            sock = self.api.exec_start(exec_id, socket=True, tty=tty)
            session = DockerExecSession(self, exec_id, sock, tty)
            if tty and width and height:
                with contextlib.suppress(docker.errors.APIError):
                    self.api.exec_resize(exec_id, height=height, width=width)
            return session

        return await self._run(open_session)

    async def logs(
        self, container_id: str, *, follow: bool, tail: int | None, timestamps: bool,
        since: float | None,
    ) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=256)
        holder: dict[str, Any] = {}

        stopped = threading.Event()

        def pump() -> None:
            try:
                stream = self.api.logs(
                    container_id, stream=True, follow=follow, timestamps=timestamps,
                    tail="all" if tail is None else tail,
                    since=int(since) if since else None,
                )
                holder["stream"] = stream
                for chunk in stream:
                    if not _hand_over(loop, queue, chunk, stopped):
                        return
            except BaseException as error:
                if not stopped.is_set():
                    loop.call_soon_threadsafe(queue.put_nowait, error)
                return
            if not stopped.is_set():
                loop.call_soon_threadsafe(queue.put_nowait, None)

        thread = threading.Thread(target=pump, name="docker-logs", daemon=True)
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    if isinstance(item, docker.errors.NotFound):
                        return
                    raise item
                yield item
        finally:
            stopped.set()
            stream = holder.get("stream")
            if stream is not None and hasattr(stream, "close"):
                with contextlib.suppress(Exception):
                    stream.close()

    async def stats(self, container_id: str) -> ContainerStats | None:
        try:
            raw = await self._run(self.api.stats, container_id, stream=False, one_shot=True)
        except docker.errors.NotFound:
            return None
        cpu = raw.get("cpu_stats", {}).get("cpu_usage", {}).get("total_usage")
        memory = raw.get("memory_stats", {})
        if cpu is None or "usage" not in memory:
            return None
        inner = memory.get("stats", {})
        inactive = inner.get("total_inactive_file", inner.get("inactive_file", 0))
        return ContainerStats(int(cpu), max(0, int(memory["usage"]) - int(inactive)))


class DockerExecSession(ExecSession):
    """A `docker exec` attached through the engine's hijacked socket."""

    def __init__(self, runtime: DockerRuntime, exec_id: str, sock: Any, tty: bool) -> None:
        self.runtime = runtime
        self.exec_id = exec_id
        self.sock = sock
        self.raw: socket.socket = getattr(sock, "_sock", sock)
        self.tty = tty

    async def output(self) -> AsyncIterator[tuple[str, bytes]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(maxsize=64)

        stopped = threading.Event()

        def pump() -> None:
            try:
                for stream, data in frames_iter(self.sock, self.tty):
                    name = "stderr" if stream == 2 else "stdout"
                    if not _hand_over(loop, queue, (name, data), stopped):
                        return
            except Exception as error:
                log.debug("event=exec_stream_ended exec=%s error=%r", self.exec_id, error)
            if not stopped.is_set():
                loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=pump, name="docker-exec", daemon=True).start()
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            stopped.set()

    async def write(self, data: bytes) -> None:
        await asyncio.to_thread(self.raw.sendall, data)

    async def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self.raw.shutdown, socket.SHUT_WR)

    async def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(docker.errors.APIError):
            await asyncio.to_thread(
                self.runtime.api.exec_resize, self.exec_id, height=height, width=width)

    async def exit_code(self) -> int:
        for _ in range(50):
            inspected = await asyncio.to_thread(self.runtime.api.exec_inspect, self.exec_id)
            if not inspected.get("Running") and inspected.get("ExitCode") is not None:
                return int(inspected["ExitCode"])
            await asyncio.sleep(0.1)
        return -1

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sock.close()


def _hand_over(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any], item: Any,
               stopped: threading.Event) -> bool:
    """Puts item on an asyncio queue from a thread, waiting while it is full; False once the
    reader has gone away (so the thread can end instead of waiting forever)."""
    future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
    while not stopped.is_set():
        try:
            future.result(timeout=0.5)
            return True
        except concurrent.futures.TimeoutError:
            continue
        except Exception:
            return False
    future.cancel()
    return False


def _split_image(image: str) -> tuple[str, str | None]:
    name, at, digest = image.partition("@")
    if at:
        return name, digest
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "latest"
