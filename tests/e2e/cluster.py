"""The real local cluster for end-to-end tests: docker-compose.yml brought up by
deploy/cluster (what `make up` runs), under a compose project, port and node names
of its own, so that it never touches a cluster a developer has up."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

from corral.api.v1 import apps_pb2, core_pb2
from corral.client.client import Client

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalCluster:
    """One compose project: `up()` returns when every service is healthy; `destroy()`
    removes its containers, pod containers, volumes, networks and files."""

    def __init__(self, config_dir: Path) -> None:
        run_id = uuid.uuid4().hex[:6]
        self.project = f"corral-e2e-{run_id}"
        self.port = free_port()
        # Agents tell their pod containers apart by node name, so no two clusters on one
        # engine may share one: a developer's cluster has node-1, this one e2e-ID-node-1.
        self.node_prefix = f"e2e-{run_id}-"
        self.server = f"127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CORRAL_CLUSTER_PROJECT": self.project,
            "CORRAL_CLUSTER_PORT": str(self.port),
            "CORRAL_NODE_PREFIX": self.node_prefix,
            # Quicker than the defaults, so that losing a node costs seconds, not minutes.
            "CORRAL_NODE_GRACE_PERIOD": "10",
            "CORRAL_POD_EVICTION_TIMEOUT": "5",
            # The autoscaler's periods, short, so that a node comes and goes in a minute.
            "CORRAL_AUTOSCALER_SCAN_INTERVAL": "2",
            "CORRAL_SCALE_DOWN_UNNEEDED_TIME": "15",
            "CORRAL_SCALE_DOWN_DELAY_AFTER_ADD": "5",
            "CORRAL_MAX_NODE_PROVISION_TIME": "120",
            "CORRAL_CONFIG": str(config_dir / "config"),
            "CORRAL_SERVER": self.server,
        }

    def node(self, number: int) -> str:
        return f"{self.node_prefix}node-{number}"

    def script(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(REPO / "deploy" / "cluster"), *args],
                              env=self.env, cwd=REPO, text=True, capture_output=True,
                              check=check)

    def up(self) -> None:
        done = self.script("up", check=False)
        if done.returncode != 0:
            raise AssertionError(f"deploy/cluster up failed:\n{done.stdout}\n{done.stderr}")

    def down(self) -> None:
        self.script("down")

    def destroy(self) -> None:
        self.script("down", "--volumes", check=False)

    def corral(self, *args: str) -> str:
        """Runs the CLI as a user would; its stdout."""
        done = subprocess.run([sys.executable, "-m", "corral", *args], env=self.env, cwd=REPO,
                              text=True, capture_output=True, check=False)
        assert done.returncode == 0, f"corral {' '.join(args)}: {done.stderr or done.stdout}"
        return done.stdout

    def container(self, service: str) -> str:
        """The id of a compose service's container."""
        out = subprocess.run(
            ["docker", "ps", "--all", "--quiet",
             "--filter", f"label=com.docker.compose.project={self.project}",
             "--filter", f"label=com.docker.compose.service={service}"],
            text=True, capture_output=True, check=True).stdout.split()
        assert len(out) == 1, f"{service}: expected one container, found {out}"
        return out[0]

    def pod_containers(self) -> list[str]:
        """Names of the containers this cluster's agents made (labelled with its name, the
        compose project, on every node, the autoscaler's included)."""
        return subprocess.run(
            ["docker", "ps", "--all", "--format", "{{.Names}}",
             "--filter", f"label=corral.cluster={self.project}"],
            text=True, capture_output=True, check=True).stdout.split()

    def autoscaled_nodes(self) -> list[str]:
        """Node names of the agent containers this cluster's autoscaler started."""
        return subprocess.run(
            ["docker", "ps", "--all", "--format", '{{.Label "corral.autoscaler.node"}}',
             "--filter", "label=corral.autoscaler.node",
             "--filter", f"network={self.project}_default"],
            text=True, capture_output=True, check=True).stdout.split()

    def docker(self, *args: str) -> None:
        subprocess.run(["docker", *args], check=True, capture_output=True)

    def logs(self) -> str:
        ids = subprocess.run(["docker", "ps", "--all", "--quiet", "--filter",
                              f"label=com.docker.compose.project={self.project}"],
                             text=True, capture_output=True, check=False).stdout.split()
        parts = []
        for container_id in ids:
            name = subprocess.run(["docker", "inspect", "--format", "{{.Name}}", container_id],
                                  text=True, capture_output=True, check=False).stdout.strip()
            tail = subprocess.run(["docker", "logs", "--tail", "25", container_id], text=True,
                                  capture_output=True, check=False)
            parts.append(f"--- {name}\n{tail.stdout}{tail.stderr}")
        return "\n".join(parts)

    # --- the API, through the same client the CLI uses --------------------------------------

    def api(self, call: Callable[[Client], Coroutine[Any, Any, T]]) -> T:
        async def run() -> T:
            async with Client(self.server, timeout=10.0, retries=8) as client:
                return await call(client)
        return asyncio.run(run())

    def pods(self, label_selector: str = "") -> list[core_pb2.Pod]:
        async def call(client: Client) -> list[core_pb2.Pod]:
            return list((await client.list(core_pb2.Pod, "default",
                                           label_selector=label_selector)).items)
        return self.api(call)

    def deployment(self, name: str) -> apps_pb2.Deployment:
        async def call(client: Client) -> apps_pb2.Deployment:
            return await client.get(apps_pb2.Deployment, name, "default")
        return self.api(call)


def is_ready(pod: core_pb2.Pod) -> bool:
    if pod.metadata.HasField("deletion_timestamp") or pod.status.phase != "Running":
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def ready(pods: Iterable[core_pb2.Pod]) -> list[core_pb2.Pod]:
    return [pod for pod in pods if is_ready(pod)]


def eventually(check: Callable[[], T | None], *, timeout: float, what: str,
               interval: float = 1.0) -> T:
    """Polls check until it returns something truthy; fails naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as error:  # the API may be restarting: keep polling
            last = error
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


def http_get(url: str, timeout: float = 3.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())


def json_of(text: str) -> Any:
    return json.loads(text)
