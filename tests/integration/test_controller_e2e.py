"""End to end: the API server, scheduler, controller manager and agents as real
processes, pods as real containers of the local test image. Each test gets its
own etcd and API server, so the node lifecycle controller and the scheduler see
only this test's nodes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import pytest_asyncio

from agent.runtime import LABEL_NODE
from corral.api import apps
from corral.api.v1 import apps_pb2, core_pb2
from corral.client.client import Client
from corral.images import TEST_IMAGE
from tests.apiserver_process import ApiServerProcess
from tests.integration.controller_harness import (
    background,
    deployment,
    eventually,
    is_ready,
    live_pods,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
# A second name for the test image, so `set image` has somewhere to go.
SECOND_IMAGE = TEST_IMAGE.rsplit(":", 1)[0] + ":e2e-second"
BROKEN_IMAGE = "corral/no-such-image:1"  # no registry: the pull always fails
GRACE = 3.0
EVICTION = 3.0


@pytest.fixture(scope="module")
def second_image() -> Iterator[str]:
    engine = docker.from_env()
    engine.images.get(TEST_IMAGE).tag(SECOND_IMAGE)
    try:
        yield SECOND_IMAGE
    finally:
        with contextlib.suppress(docker.errors.APIError):
            engine.images.remove(SECOND_IMAGE, noprune=True)
        engine.close()


class Cluster:
    """The processes of one small cluster; logs in `root`."""

    def __init__(self, server: str, root: Path) -> None:
        self.server = server
        self.root = root
        self.prefix = f"e2e-{uuid.uuid4().hex[:6]}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.node_names: list[str] = []

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - the process owns it
        process = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, stdout=log, stderr=log,
            env={**os.environ, "PYTHONPATH": str(ROOT), "CORRAL_CONFIG": "/nonexistent"},
        )
        log.close()
        self.processes[name] = process
        return process

    def start_scheduler(self) -> None:
        self._start("scheduler", "scheduler", "--server", self.server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "")

    def start_controller(self) -> None:
        self._start("controller", "controller", "--server", self.server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "",
                    "--node-monitor-grace-period", str(GRACE),
                    "--pod-eviction-timeout", str(EVICTION), "--node-monitor-period", "0.5")

    def start_agent(self, index: int) -> str:
        node = f"{self.prefix}-{index}"
        if node not in self.node_names:
            self.node_names.append(node)
        root_dir = self.root / node
        root_dir.mkdir(exist_ok=True)
        self._start(node, "agent", "--server", self.server, "--node-name", node,
                    "--runtime", "docker", "--listen", "127.0.0.1:0", "--node-ip", "127.0.0.1",
                    "--root-dir", str(root_dir), "--lease-interval", "1",
                    "--node-status-interval", "1", "--housekeeping-interval", "2",
                    "--backoff-base", "1", "--backoff-cap", "5")
        return node

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.root / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        engine = docker.from_env()
        try:
            for node in self.node_names:
                for container in engine.containers.list(
                    all=True, filters={"label": f"{LABEL_NODE}={node}"}
                ):
                    with contextlib.suppress(docker.errors.APIError):
                        container.remove(force=True)
                for volume in engine.volumes.list(filters={"label": f"{LABEL_NODE}={node}"}):
                    with contextlib.suppress(docker.errors.APIError):
                        volume.remove(force=True)
        finally:
            engine.close()


@pytest_asyncio.fixture
async def cluster(private_apiserver: ApiServerProcess, tmp_path: Path
                  ) -> AsyncIterator[tuple[Cluster, Client]]:
    cluster = Cluster(private_apiserver.address, tmp_path)
    try:
        async with Client(private_apiserver.address) as client:
            ns = core_pb2.Namespace()
            ns.metadata.name = "apps"
            await client.create(ns)
            cluster.start_scheduler()
            cluster.start_controller()
            yield cluster, client
            # Delete the workloads while the agents still run, so they stop their containers.
            for d in (await client.list(apps_pb2.Deployment, "apps")).items:
                with contextlib.suppress(Exception):
                    await client.delete(apps_pb2.Deployment, d.metadata.name, "apps")
            with contextlib.suppress(AssertionError):
                await eventually(lambda: _no_pods(client), timeout=20, what="pods gone")
    finally:
        cluster.close()


async def _no_pods(client: Client) -> bool:
    return not (await client.list(core_pb2.Pod, "apps")).items


async def nodes_ready(client: Client, count: int) -> None:
    async def ready() -> bool:
        nodes = (await client.list(core_pb2.Node)).items
        return sum(
            any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)
            for n in nodes
        ) >= count

    await eventually(ready, timeout=60, what=f"{count} ready nodes")


def app(name: str, replicas: int, **kwargs: Any) -> apps_pb2.Deployment:
    d = deployment(name, "apps", replicas=replicas, image=TEST_IMAGE, **kwargs)
    spec = d.spec.template.spec
    spec.termination_grace_period_seconds = 1
    spec.containers[0].command.extend(["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"])
    return d


async def ready_pods(client: Client, app_name: str) -> list[core_pb2.Pod]:
    return [p for p in await live_pods(client, "apps", f"app={app_name}") if is_ready(p)]


async def rolled_out(client: Client, name: str, timeout: float = 120.0) -> apps_pb2.Deployment:
    async def check() -> apps_pb2.Deployment | None:
        d = await client.get(apps_pb2.Deployment, name, "apps")
        s = d.status
        cond = next((c for c in s.conditions if c.type == apps.PROGRESSING), None)
        done = (s.observed_generation >= d.metadata.generation
                and s.updated_replicas == s.replicas == s.available_replicas == d.spec.replicas
                and cond is not None and cond.reason == apps.NEW_RS_AVAILABLE)
        return d if done else None

    return await eventually(check, timeout=timeout, interval=0.2, what=f"{name} rolled out")


async def corral(server: str, *args: str, timeout: float = 180) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "corral", *args, "--server", server, "-n", "apps",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CORRAL_CONFIG": "/nonexistent"},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def images_of(pods: list[core_pb2.Pod]) -> list[str]:
    return sorted(p.spec.containers[0].image for p in pods)


# -- the tests ------------------------------------------------------------------------------


async def test_deployment_reaches_ready_and_set_image_never_drops_below_three_ready(
    cluster: tuple[Cluster, Client], second_image: str
) -> None:
    c, client = cluster
    c.start_agent(0)
    c.start_agent(1)
    await nodes_ready(client, 2)
    await client.create(app("web", 3, max_surge="1", max_unavailable="0"))
    await rolled_out(client, "web")
    assert len(await ready_pods(client, "web")) == 3

    samples: list[int] = []

    async def sample() -> None:
        while True:
            samples.append(len(await ready_pods(client, "web")))
            await asyncio.sleep(0.05)

    async with background(sample()):
        code, out, err = await corral(c.server, "set", "image", "deploy/web",
                                      f"main={second_image}")
        assert code == 0, err
        code, out, err = await corral(c.server, "rollout", "status", "deploy/web",
                                      "--timeout", "120s")
        assert code == 0, err + c.log_tail("controller")
    assert min(samples) >= 3, f"ready pods dropped to {min(samples)} (samples: {len(samples)})"
    assert "successfully rolled out" in out
    assert images_of(await ready_pods(client, "web")) == [second_image] * 3


async def test_broken_image_exceeds_the_deadline_and_undo_restores(
    cluster: tuple[Cluster, Client],
) -> None:
    c, client = cluster
    c.start_agent(0)
    await nodes_ready(client, 1)
    await client.create(app("web", 2, max_surge="1", max_unavailable="0", progress_deadline=10))
    await rolled_out(client, "web")
    code, _, err = await corral(c.server, "set", "image", "deploy/web", f"main={BROKEN_IMAGE}")
    assert code == 0, err
    code, out, err = await corral(c.server, "rollout", "status", "deploy/web", "--timeout", "90s")
    assert code == 1
    assert 'exceeded its progress deadline' in err
    assert len(await ready_pods(client, "web")) == 2  # the old pods kept serving
    code, out, err = await corral(c.server, "rollout", "undo", "deploy/web")
    assert (code, out.strip()) == (0, "deployment.apps/web rolled back"), err
    code, out, err = await corral(c.server, "rollout", "status", "deploy/web", "--timeout", "90s")
    assert code == 0, err
    await eventually(lambda: _only(client, "web", [TEST_IMAGE] * 2), what="2 pods of the old image")


async def _only(client: Client, name: str, images: list[str]) -> bool:
    return images_of(await live_pods(client, "apps", f"app={name}")) == images


async def test_deleted_pod_is_replaced_and_deleting_the_deployment_removes_everything(
    cluster: tuple[Cluster, Client],
) -> None:
    c, client = cluster
    node = c.start_agent(0)
    await nodes_ready(client, 1)
    await client.create(app("web", 2))
    await rolled_out(client, "web")
    victim = (await ready_pods(client, "web"))[0]
    await client.delete(core_pb2.Pod, victim.metadata.name, "apps")

    async def replaced() -> bool:
        pods = await ready_pods(client, "web")
        return len(pods) == 2 and victim.metadata.name not in {p.metadata.name for p in pods}

    await eventually(replaced, timeout=60, what="a ready replacement")

    await client.delete(apps_pb2.Deployment, "web", "apps")

    async def all_gone() -> bool:
        sets = (await client.list(apps_pb2.ReplicaSet, "apps")).items
        pods = (await client.list(core_pb2.Pod, "apps")).items
        return not sets and not pods

    await eventually(all_gone, timeout=60, what="replica sets and pods gone")
    engine = docker.from_env()
    try:
        async def no_app_containers() -> bool:
            running = engine.containers.list(filters={"label": f"{LABEL_NODE}={node}"})
            return not running

        await eventually(no_app_containers, timeout=60, what="containers removed")
    finally:
        engine.close()


async def test_stopped_agent_pods_move_within_grace_plus_eviction_timeout(
    cluster: tuple[Cluster, Client],
) -> None:
    c, client = cluster
    first = c.start_agent(0)
    await nodes_ready(client, 1)
    await client.create(app("web", 2))
    await rolled_out(client, "web")
    assert {p.spec.node_name for p in await ready_pods(client, "web")} == {first}
    second = c.start_agent(1)
    await nodes_ready(client, 2)

    c.kill(first)
    stopped = time.monotonic()

    async def moved() -> bool:
        pods = await ready_pods(client, "web")
        return len(pods) == 2 and {p.spec.node_name for p in pods} == {second}

    # The lease may have been renewed just before the kill: allow one renewal period,
    # then grace + eviction timeout, plus time to schedule and start the new containers.
    await eventually(moved, timeout=GRACE + EVICTION + 40, what="pods moved to the second node")
    took = time.monotonic() - stopped
    print(f"\npods moved {took:.1f}s after the agent was killed "
          f"(grace {GRACE}s + eviction {EVICTION}s)")
    node = await client.get(core_pb2.Node, first)
    assert any(t.key == "node.kubernetes.io/unreachable" for t in node.spec.taints)
    assert took < GRACE + EVICTION + 30


async def test_controller_killed_mid_rollout_finishes_with_exactly_the_right_count(
    cluster: tuple[Cluster, Client], second_image: str
) -> None:
    c, client = cluster
    c.start_agent(0)
    c.start_agent(1)
    await nodes_ready(client, 2)
    await client.create(app("web", 4, max_surge="1", max_unavailable="0"))
    await rolled_out(client, "web")
    code, _, err = await corral(c.server, "set", "image", "deploy/web", f"main={second_image}")
    assert code == 0, err

    async def mid_rollout() -> bool:
        pods = await live_pods(client, "apps", "app=web")
        return any(p.spec.containers[0].image == second_image for p in pods)

    await eventually(mid_rollout, what="the rollout to start")
    c.kill("controller")
    await asyncio.sleep(1.0)
    c.start_controller()
    await rolled_out(client, "web")
    await asyncio.sleep(2.0)  # anything extra would have been created by now
    pods = await live_pods(client, "apps", "app=web")
    assert images_of(pods) == [second_image] * 4


async def test_ten_replica_rolling_update_time(
    cluster: tuple[Cluster, Client], second_image: str
) -> None:
    c, client = cluster
    c.start_agent(0)
    c.start_agent(1)
    await nodes_ready(client, 2)
    await client.create(app("web", 10))  # default strategy: 25% surge, 25% unavailable
    started = time.monotonic()
    await rolled_out(client, "web", timeout=180)
    created_in = time.monotonic() - started
    code, _, err = await corral(c.server, "set", "image", "deploy/web", f"main={second_image}")
    assert code == 0, err
    started = time.monotonic()
    await rolled_out(client, "web", timeout=300)
    took = time.monotonic() - started
    print(f"\n10 replicas: created and ready in {created_in:.1f}s; "
          f"rolling update to a new image in {took:.1f}s")
    assert images_of(await ready_pods(client, "web")) == [second_image] * 10
