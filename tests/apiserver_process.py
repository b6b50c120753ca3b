"""A real corral-apiserver process for tests and benchmarks.

    with ApiServerProcess(etcd.endpoint) as api:
        client = Client(api.address)
        api.restart()   # same address

The port is chosen up front so that a restarted server keeps its address.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.etcd_container import free_local_port

ROOT = Path(__file__).resolve().parent.parent


class ApiServerProcess:
    def __init__(
        self, etcd_endpoint: str, *, extra_args: tuple[str, ...] = (), log_path: Path | None = None
    ) -> None:
        self.etcd_endpoint = etcd_endpoint
        self.port = free_local_port()
        self.extra_args = extra_args
        self.log_path = (
            log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"corral-apiserver-{self.port}.log"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ApiServerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "apiserver",
                "--listen",
                self.address,
                "--etcd-endpoints",
                self.etcd_endpoint,
                "--metrics-listen",
                "",
                *self.extra_args,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        log.close()
        self.wait_until_serving(timeout)
        return self

    def wait_until_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"the API server exited: {self.log_tail()}")
                try:
                    reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.05)
        raise TimeoutError(f"the API server did not become ready: {self.log_tail()}")

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> ApiServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
