"""Startup, liveness and readiness probes: one asyncio task per probe of each
running container, so a slow probe never delays another.

A probe's result flips only after successThreshold successes or
failureThreshold failures in a row; every flip calls `on_change(pod key)`, and
the agent's sync reads the results (readiness → Ready, liveness failure →
restart, startup → started). Every failed attempt also calls `on_failure` (the agent
records an Unhealthy Event, as the kubelet does). Liveness and readiness wait until the startup
probe, if any, has passed. Results belong to a container id: a restarted
container starts over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.runtime import ContainerInfo, Runtime
from corral.api.v1 import core_pb2

log = logging.getLogger("corral.agent.probes")

STARTUP, LIVENESS, READINESS = "startup", "liveness", "readiness"
_FIELDS = {STARTUP: "startup_probe", LIVENESS: "liveness_probe", READINESS: "readiness_probe"}


def resolve_port(port: str, container: core_pb2.Container) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if port.isdigit():
        return int(port)
    for declared in container.ports:
        if declared.name == port:
            return declared.container_port
    raise ValueError(f"container {container.name!r} has no port named {port!r}")


async def http_get(host: str, port: int, path: str, headers: list[tuple[str, str]],
                   timeout: float) -> tuple[bool, str]:
    """An HTTP/1.0 GET; success is a status from 200 to 399, as in Kubernetes."""
    async def attempt() -> tuple[bool, str]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            lines = [f"GET {path or '/'} HTTP/1.0", f"Host: {host}:{port}",
                     "User-Agent: corral-probe/1.0", *(f"{k}: {v}" for k, v in headers)]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        parts = status_line.decode(errors="replace").split()
        if len(parts) < 2 or not parts[1].isdigit():
            return False, f"bad HTTP response {status_line[:80]!r}"
        code = int(parts[1])
        return 200 <= code < 400, f"HTTP probe failed with statuscode: {code}"

    try:
        return await asyncio.wait_for(attempt(), timeout)
    except TimeoutError:
        return False, f"Get http://{host}:{port}{path}: timeout after {timeout:g}s"
    except OSError as error:
        return False, f"Get http://{host}:{port}{path}: {error}"


async def http_get_body(host: str, port: int, path: str, timeout: float,
                        limit: int = 4 * 1024 * 1024) -> tuple[bool, str]:
    """(True, body) for a 2xx answer to an HTTP/1.0 GET, else (False, why)."""
    async def attempt() -> tuple[bool, str]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n"
                         "User-Agent: corral-agent/1.0\r\n\r\n".encode())
            await writer.drain()
            response = await reader.read(limit)
            while not reader.at_eof() and len(response) < limit:
                more = await reader.read(limit - len(response))
                if not more:
                    break
                response += more
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        head, _, body = response.partition(b"\r\n\r\n")
        parts = head.split(b"\r\n", 1)[0].split()
        if len(parts) < 2 or not parts[1].startswith(b"2"):
            return False, f"unexpected response {head[:80]!r}"
        return True, body.decode(errors="replace")

    try:
        return await asyncio.wait_for(attempt(), timeout)
    except (OSError, TimeoutError) as error:
        return False, f"GET http://{host}:{port}{path}: {error or 'timeout'}"


async def tcp_connect(host: str, port: int, timeout: float) -> tuple[bool, str]:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as error:
        return False, f"dial tcp {host}:{port}: {error or 'timeout'}"
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True, ""


@dataclass
class _Result:
    # The current verdict and the run of identical outcomes behind it.
    success: bool
    streak: int = 0
    last_outcome: bool | None = None
    message: str = ""


@dataclass
class _Worker:
    pod_key: str
    pod_uid: str
    container_id: str
    kind: str
    task: asyncio.Task[None] | None = None
    results: dict[str, _Result] = field(default_factory=dict)


# Called with (pod, container name, probe kind, why) after every failed attempt.
FailureCallback = Callable[[core_pb2.Pod, str, str, str], None]


class ProbeManager:
    def __init__(self, runtime: Runtime, on_change: Callable[[str], None],
                 on_failure: FailureCallback | None = None) -> None:
        self.runtime = runtime
        self.on_change = on_change
        self.on_failure = on_failure
        # (container id, kind) -> result
        self._results: dict[tuple[str, str], _Result] = {}
        self._workers: dict[tuple[str, str], _Worker] = {}

    # -- reading -------------------------------------------------------------------------------

    def started(self, info: ContainerInfo, container: core_pb2.Container) -> bool:
        if not container.HasField("startup_probe") or self.runtime.probes_succeed():
            return info.running
        result = self._results.get((info.id, STARTUP))
        return result is not None and result.success

    def ready(self, info: ContainerInfo, container: core_pb2.Container) -> bool:
        if not info.running or not self.started(info, container):
            return False
        if not container.HasField("readiness_probe") or self.runtime.probes_succeed():
            return True
        result = self._results.get((info.id, READINESS))
        return result is not None and result.success

    def liveness_failure(self, info: ContainerInfo) -> str | None:
        """Why the container failed its liveness (or startup) probe, or None."""
        for kind in (LIVENESS, STARTUP):
            result = self._results.get((info.id, kind))
            if result is not None and not result.success and result.message:
                return f"{kind} probe failed: {result.message.removeprefix('failed:')}"
        return None

    # -- workers -------------------------------------------------------------------------------

    def ensure(self, pod: core_pb2.Pod, container: core_pb2.Container, info: ContainerInfo,
               pod_ip: str) -> None:
        """Starts the probe tasks of a running container (once per container id)."""
        if self.runtime.probes_succeed() or not info.running:
            return
        for kind, field_name in _FIELDS.items():
            if not container.HasField(field_name):
                continue
            key = (info.id, kind)
            if key in self._workers:
                continue
            probe: core_pb2.Probe = getattr(container, field_name)
            # Liveness passes until proven otherwise; readiness and startup must be earned.
            self._results[key] = _Result(success=kind == LIVENESS)
            worker = _Worker(f"{pod.metadata.namespace}/{pod.metadata.name}", pod.metadata.uid,
                             info.id, kind)
            worker.task = asyncio.create_task(
                self._run(worker, probe, container, info, pod_ip, pod),
                name=f"probe-{kind}-{container.name}-{info.id[:12]}",
            )
            self._workers[key] = worker

    def forget_except(self, pod_uid: str, keep_ids: set[str]) -> None:
        """Stops the probes of this pod's containers that are not in keep_ids."""
        for key, worker in list(self._workers.items()):
            if worker.pod_uid == pod_uid and worker.container_id not in keep_ids:
                self._stop(key)

    def _stop(self, key: tuple[str, str]) -> None:
        worker = self._workers.pop(key, None)
        self._results.pop(key, None)
        if worker is not None and worker.task is not None:
            worker.task.cancel()

    async def close(self) -> None:
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        for key in list(self._workers):
            self._stop(key)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, worker: _Worker, probe: core_pb2.Probe, container: core_pb2.Container,
                   info: ContainerInfo, pod_ip: str, pod: core_pb2.Pod) -> None:
        key = (worker.container_id, worker.kind)
        period = max(probe.period_seconds or 10, 1)
        await asyncio.sleep(probe.initial_delay_seconds)
        has_startup = container.HasField("startup_probe")
        while True:
            if worker.kind != STARTUP and has_startup:
                startup = self._results.get((worker.container_id, STARTUP))
                if startup is None or not startup.success:
                    await asyncio.sleep(min(period, 1))
                    continue
            outcome, message = await self._probe_once(probe, container, info, pod_ip)
            result = self._results.get(key)
            if result is None:
                return  # forgotten
            if not outcome and self.on_failure is not None:
                self.on_failure(pod, container.name, worker.kind, message)
            self._record(worker, result, probe, outcome, message)
            if worker.kind == STARTUP and result.success:
                return  # a startup probe stops once it passed
            await asyncio.sleep(period)

    def _record(self, worker: _Worker, result: _Result, probe: core_pb2.Probe,
                outcome: bool, message: str) -> None:
        if outcome == result.last_outcome:
            result.streak += 1
        else:
            result.streak, result.last_outcome = 1, outcome
        threshold = (probe.success_threshold or 1) if outcome else (probe.failure_threshold or 3)
        if outcome != result.success and result.streak >= threshold:
            result.success = outcome
            result.message = "" if outcome else f"failed:{message}"
            log.info("event=probe_result pod=%s container_id=%s probe=%s success=%s message=%r",
                     worker.pod_key, worker.container_id[:12], worker.kind, outcome, message)
            self.on_change(worker.pod_key)

    async def _probe_once(self, probe: core_pb2.Probe, container: core_pb2.Container,
                          info: ContainerInfo, pod_ip: str) -> tuple[bool, str]:
        timeout = float(probe.timeout_seconds or 1)
        try:
            if probe.HasField("exec"):
                done = await self.runtime.exec(info.id, list(probe.exec.command), timeout)
                tail = done.output[-200:].decode(errors="replace")
                return done.exit_code == 0, f"command exited {done.exit_code}: {tail}"
            host = self.runtime.probe_address(pod_ip)
            if probe.HasField("http_get"):
                action = probe.http_get
                port = resolve_port(action.port, container)
                return await http_get(action.host or host, port, action.path,
                                      [(h.name, h.value) for h in action.http_headers], timeout)
            if probe.HasField("tcp_socket"):
                port = resolve_port(probe.tcp_socket.port, container)
                return await tcp_connect(probe.tcp_socket.host or host, port, timeout)
        except TimeoutError:
            return False, f"timeout after {timeout:g}s"
        except asyncio.CancelledError:
            raise
        except Exception as error:
            return False, str(error)
        return True, ""
