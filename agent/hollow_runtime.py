"""The hollow runtime: containers that exist only in memory, for scale tests.

Like Kubernetes' kubemark, it lets one machine run hundreds of agents: a
container "starts" at once or after `start_delay`, runs until stopped, uses
the configured fake cpu and memory, answers every probe and exec with success,
and its pod gets a fake IP. Everything else in the agent is the same code.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator

from agent.runtime import (
    ROLE_INFRA,
    ContainerInfo,
    ContainerSpec,
    ContainerStats,
    EventCallback,
    ExecResult,
    ExecSession,
    NodeFacts,
    Runtime,
    SandboxSpec,
)

# Fake pod IPs come from 100.64.0.0/10 (shared address space), unique per process.
_ip_counter = itertools.count(1)


def _fake_ip() -> str:
    n = next(_ip_counter)
    return f"100.{64 + (n >> 16) % 64}.{(n >> 8) & 255}.{n & 255}"


class HollowRuntime(Runtime):
    def __init__(
        self,
        node_name: str,
        *,
        start_delay: float = 0.0,
        cpu_millis_per_container: int = 10,
        memory_bytes_per_container: int = 16 * 1024 * 1024,
        node_cpu_millis: int = 4000,
        node_memory_bytes: int = 16 * 1024**3,
        images: list[str] | None = None,
    ) -> None:
        self.node_name = node_name
        self.start_delay = start_delay
        self.cpu_millis = cpu_millis_per_container
        self.memory_bytes = memory_bytes_per_container
        self.node_cpu_millis = node_cpu_millis
        self.node_memory_bytes = node_memory_bytes
        self.images = images or []
        self._containers: dict[str, ContainerInfo] = {}
        self._on_event: EventCallback | None = None
        self._timers: set[asyncio.TimerHandle] = set()

    async def start(self, on_event: EventCallback) -> None:
        self._on_event = on_event

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    async def ping(self) -> bool:
        return True

    async def node_facts(self) -> NodeFacts:
        return NodeFacts(
            cpu_millis=self.node_cpu_millis,
            memory_bytes=self.node_memory_bytes,
            images=[([name], 1024 * 1024) for name in self.images],
            runtime_version="hollow://0.1",
            kernel_version="hollow",
            os_image="hollow",
            architecture="amd64",
        )

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        return [
            info for info in self._containers.values()
            if pod_uid is None or info.pod.uid == pod_uid
        ]

    def _add(self, info: ContainerInfo) -> ContainerInfo:
        self._containers[info.id] = info
        if self.start_delay <= 0 or info.role == ROLE_INFRA:
            info.state, info.started_at = "running", time.time()
            return info
        loop = asyncio.get_running_loop()

        def started() -> None:
            self._timers.discard(timer)
            if info.state == "created":
                info.state, info.started_at = "running", time.time()
                if self._on_event is not None:
                    self._on_event(info.pod)

        timer = loop.call_later(self.start_delay, started)
        self._timers.add(timer)
        return info

    async def run_sandbox(self, spec: SandboxSpec) -> ContainerInfo:
        for info in self._containers.values():
            if info.pod.uid == spec.pod.uid and info.role == ROLE_INFRA and info.running:
                return info
        return self._add(ContainerInfo(
            id=uuid.uuid4().hex, pod=spec.pod, name="POD", role=ROLE_INFRA, attempt=0,
            image="hollow/pause", image_id="", state="created", created_at=time.time(),
            ip=_fake_ip(), grace_seconds=spec.grace_seconds,
        ))

    async def image_present(self, image: str) -> bool:
        return True  # every image is "present": a hollow node pulls nothing

    async def ensure_image(self, image: str, policy: str) -> None:
        return None

    async def run_container(self, sandbox: ContainerInfo, spec: ContainerSpec) -> ContainerInfo:
        for info in self._containers.values():
            if (info.pod.uid, info.name, info.attempt) == (spec.pod.uid, spec.name, spec.attempt):
                return info  # never a duplicate
        return self._add(ContainerInfo(
            id=uuid.uuid4().hex, pod=spec.pod, name=spec.name, role=spec.role,
            attempt=spec.attempt, image=spec.image, image_id=f"hollow://{spec.image}",
            state="created", created_at=time.time(), grace_seconds=spec.grace_seconds,
        ))

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        info = self._containers.get(container_id)
        if info is not None and info.state != "exited":
            info.state, info.finished_at, info.exit_code = "exited", time.time(), 0

    async def remove_container(self, container_id: str) -> None:
        self._containers.pop(container_id, None)

    async def remove_pod_volumes(self, pod_uid: str) -> None:
        return None

    async def exec(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        return ExecResult(0, b"")

    async def exec_session(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool,
        width: int = 0, height: int = 0,
    ) -> ExecSession:
        return _HollowExec(command)

    async def logs(
        self, container_id: str, *, follow: bool, tail: int | None, timestamps: bool,
        since: float | None,
    ) -> AsyncIterator[bytes]:
        info = self._containers.get(container_id)
        if info is not None:
            yield f"hollow container {info.name} of pod {info.pod.key}\n".encode()

    async def stats(self, container_id: str) -> ContainerStats | None:
        info = self._containers.get(container_id)
        if info is None or not info.running:
            return None
        elapsed = time.time() - info.started_at
        return ContainerStats(int(elapsed * self.cpu_millis * 1e6), self.memory_bytes)

    def probes_succeed(self) -> bool:
        return True


class _HollowExec(ExecSession):
    def __init__(self, command: list[str]) -> None:
        self.command = command

    async def output(self) -> AsyncIterator[tuple[str, bytes]]:
        yield ("stdout", f"hollow exec: {' '.join(self.command)}\n".encode())

    async def write(self, data: bytes) -> None:
        return None

    async def close_stdin(self) -> None:
        return None

    async def resize(self, width: int, height: int) -> None:
        return None

    async def exit_code(self) -> int:
        return 0

    async def close(self) -> None:
        return None
