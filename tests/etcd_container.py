"""A real etcd server in a container, for tests.

    with EtcdContainer() as etcd:
        client = etcd.client()          # python3-etcd3
        ...
        etcd.restart()                  # same endpoint, same data

The host port is chosen before the container is created and published explicitly,
so `stop()` and `start_again()` keep `endpoint` unchanged: tests restart etcd under a
running API server and expect it to reconnect to the same address.

etcd is configured through ETCD_* environment variables rather than flags, so any etcd
image works whatever its entrypoint (corral's own, quay.io/coreos/etcd, ...).
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from types import TracebackType

# No registry here, so testcontainers' reaper image (Ryuk) can't be pulled; the Makefile
# exports these too, this covers running pytest directly. testcontainers reads them on import.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

import docker.errors
import etcd3
from testcontainers.core.container import DockerContainer

from corral.images import ETCD_IMAGE

CLIENT_PORT = 2379
DATA_DIR = "/var/lib/etcd/data"
# Attempts at publishing a freshly chosen port, in case another process takes it between
# our probe and Docker's bind.
PORT_ATTEMPTS = 3


def free_local_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class EtcdContainer:
    """One single-member etcd server in a container, at http://127.0.0.1:PORT."""

    def __init__(
        self,
        image: str = ETCD_IMAGE,
        *,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        """`env` adds or overrides etcd settings, e.g. {"ETCD_QUOTA_BACKEND_BYTES": "..."}."""
        self.image = image
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.port = free_local_port()
        self._container: DockerContainer | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def container_id(self) -> str:
        return self._created().get_container_id()

    def environment(self) -> dict[str, str]:
        return {
            "ETCD_NAME": "corral-test",
            "ETCD_DATA_DIR": DATA_DIR,
            "ETCD_LISTEN_CLIENT_URLS": f"http://0.0.0.0:{CLIENT_PORT}",
            "ETCD_ADVERTISE_CLIENT_URLS": self.endpoint,
            "ETCD_LOGGER": "zap",
            **self.extra_env,
        }

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> EtcdContainer:
        """Creates and starts the container, and waits until etcd answers."""
        if self._container is not None:
            raise RuntimeError(f"etcd container for {self.endpoint} was already started")
        for attempt in range(1, PORT_ATTEMPTS + 1):
            container = DockerContainer(self.image).with_envs(**self.environment())
            # Published on 127.0.0.1 only, at the port chosen up front (testcontainers'
            # typing allows just an int, docker-py also takes (address, port)).
            container.ports[f"{CLIENT_PORT}/tcp"] = (self.host, self.port)  # type: ignore[assignment]
            try:
                container.start()
            except docker.errors.APIError as e:
                created = container._container  # created but not started: remove it
                if created is not None:
                    created.remove(force=True)
                taken = "already allocated" in str(e) or "address already in use" in str(e)
                if not taken or attempt == PORT_ATTEMPTS:
                    raise
                self.port = free_local_port()
                continue
            self._container = container
            break
        try:
            self.wait_until_ready()
        except BaseException:
            self.remove()  # a context manager's __exit__ won't run when __enter__ fails
            raise
        return self

    def stop(self, timeout: int = 10) -> None:
        """Stops etcd (SIGTERM, as `docker stop`) and keeps the container and its data."""
        self._created().get_wrapped_container().stop(timeout=timeout)

    def start_again(self) -> None:
        """Starts a stopped container again, at the same endpoint, and waits for etcd."""
        self._created().get_wrapped_container().start()
        self.wait_until_ready()

    def restart(self) -> None:
        self.stop()
        self.start_again()

    def remove(self) -> None:
        """Removes the container and its data (running or not). Safe to call twice."""
        if self._container is not None:
            self._container.stop(force=True, delete_volume=True)
            self._container = None

    def __enter__(self) -> EtcdContainer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()

    # --- talking to etcd ----------------------------------------------------------------

    def client(self, timeout: float | None = 5.0) -> etcd3.Etcd3Client:
        """A python3-etcd3 client for this server (the caller closes it)."""
        return etcd3.client(host=self.host, port=self.port, timeout=timeout)

    def is_healthy(self) -> bool:
        """Whether etcd answers its /health endpoint with health "true" (it has a leader)."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}/health", timeout=2) as response:
                return bool(json.load(response).get("health") == "true")
        except (OSError, ValueError):
            # Refused or reset while the container starts; malformed answers while it boots.
            return False

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.is_healthy():
                return
            container = self._created().get_wrapped_container()
            container.reload()
            if container.status in ("exited", "dead"):
                raise RuntimeError(
                    f"etcd container {container.short_id} ({self.image}) exited before "
                    f"answering at {self.endpoint}; its last log lines:\n{self.logs_tail()}"
                )
            time.sleep(0.1)
        raise TimeoutError(
            f"etcd ({self.image}) did not answer {self.endpoint}/health within "
            f"{self.startup_timeout:.0f}s; its last log lines:\n{self.logs_tail()}"
        )

    def logs_tail(self, lines: int = 20) -> str:
        raw: bytes = self._created().get_wrapped_container().logs(tail=lines)
        return raw.decode(errors="replace")

    def _created(self) -> DockerContainer:
        if self._container is None:
            raise RuntimeError(f"etcd container for {self.endpoint} is not started")
        return self._container
