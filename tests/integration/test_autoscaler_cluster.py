"""The autoscaler end to end: a real API server, scheduler, controller manager, agents and
autoscaler as processes.

- Cluster autoscaler, docker provider (agent containers from corral's service image, built
  by `deploy/cluster images` when missing): a Deployment whose pods fit no node makes the
  autoscaler add a node of the one group that fits them; the pods run there; once the
  Deployment is gone the node is removed after the unneeded time.
- Cluster autoscaler, hollow provider (agent processes): the same cycle without containers.
- HPA on a real agent (Docker runtime): a cpu-burning Deployment scales up and back down; a
  Pods metric scraped from the pods' own Prometheus endpoint scales to the computed count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import docker
import docker.errors
import pytest
from google.protobuf import json_format

from autoscaler.cluster import STATUS_NAME, STATUS_NAMESPACE
from autoscaler.config import GROUP_LABEL
from autoscaler.providers.docker import AGENT_POD_LABEL, DEFAULT_IMAGE, LABEL_GROUP
from corral import images
from corral.api import errors
from corral.api.v1 import apps_pb2, autoscaling_pb2, core_pb2, metrics_pb2
from corral.client.client import Client
from tests.apiserver_process import ROOT, ApiServerProcess

T = TypeVar("T")

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

UNNEEDED_TIME = 5.0


def _image_present(name: str) -> bool:
    try:
        with contextlib.closing(docker.from_env()) as engine:
            engine.images.get(name)
        return True
    except docker.errors.DockerException:
        return False


@pytest.fixture(scope="session")
def service_image() -> str:
    """corral's service image (what the docker provider's nodes run), built with the local
    cluster's own entry point (`deploy/cluster images`) when it is missing."""
    image = images.image_name("CORRAL_IMAGE", DEFAULT_IMAGE)
    if _image_present(image):
        return image
    if image != DEFAULT_IMAGE:
        pytest.fail(f"CORRAL_IMAGE={image} is not on this engine; deploy/cluster builds only "
                    f"{DEFAULT_IMAGE} (unset CORRAL_IMAGE, or pull/build {image} first)")
    build = [sys.executable, str(ROOT / "deploy" / "cluster"), "images"]
    done = subprocess.run(build, cwd=ROOT, capture_output=True, text=True, timeout=1200,
                          check=False)
    if done.returncode != 0 or not _image_present(image):
        pytest.fail(f"{image} is missing and `{' '.join(build[1:])}` did not build it "
                    f"(exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return image


class Processes:
    """Component processes with their logs, stopped on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, *args: str) -> None:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT,
                                       stdout=log, stderr=log)
        self.running.append((name, process))

    def logs(self) -> str:
        parts = []
        for name, _ in self.running:
            text = (self.log_dir / f"{name}.log").read_text(errors="replace")
            parts.append(f"--- {name} ---\n{text[-3000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        for _, process in reversed(self.running):
            process.terminate()
        for _, process in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def apiserver(private_apiserver: ApiServerProcess) -> ApiServerProcess:
    """An API server of the test's own: the controller and scheduler started here act on
    every object, so the Deployments other tests leave behind must not be there."""
    return private_apiserver


@pytest.fixture
def group_name() -> str:
    return f"burst-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def cluster(apiserver: ApiServerProcess, tmp_path: Path, group_name: str, service_image: str
            ) -> Iterator[Processes]:
    image = service_image
    pod_network = f"corral-ca-{group_name}"
    agent_root = tmp_path / "agents"
    groups = {
        "nodeGroups": [{
            "name": group_name, "minSize": 0, "maxSize": 2,
            "template": {"capacity": {"cpu": "1", "memory": "1Gi", "pods": "10"},
                         "labels": {"pool": group_name}},
        }],
        "docker": {
            "image": image, "network": "host", "agentRoot": str(agent_root),
            "podNetwork": pod_network, "pauseImage": images.TEST_IMAGE,
            "agentArgs": ["--node-status-interval", "1", "--lease-interval", "2",
                          "--metrics-interval", "2", "--housekeeping-interval", "2"],
        },
    }
    groups_file = tmp_path / "groups.json"
    groups_file.write_text(json.dumps(groups))
    processes = Processes(tmp_path)
    server = apiserver.address
    processes.start("scheduler", "scheduler", "--server", server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "127.0.0.1:0")
    processes.start("controller", "controller", "--server", server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "127.0.0.1:0")
    processes.start("autoscaler", "autoscaler", "--server", server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "127.0.0.1:0",
                    "--node-groups", str(groups_file), "--provider", "docker",
                    "--scan-interval", "1", "--scale-down-unneeded-time", str(UNNEEDED_TIME),
                    "--scale-down-delay-after-add", "0", "--max-graceful-termination", "30",
                    "--log-level", "info")
    try:
        yield processes
    finally:
        processes.stop()
        with contextlib.closing(docker.from_env()) as engine:
            for container in engine.containers.list(
                all=True, filters={"label": f"{LABEL_GROUP}={group_name}"}
            ):
                node = container.labels.get("corral.autoscaler.node", "")
                with contextlib.suppress(docker.errors.DockerException):
                    container.remove(force=True)
                if not node:
                    continue  # an empty label value would select nothing of ours
                for pod in engine.containers.list(
                    all=True, filters={"label": f"{AGENT_POD_LABEL}={node}"}
                ):
                    with contextlib.suppress(docker.errors.DockerException):
                        pod.remove(force=True, v=True)
            with contextlib.suppress(docker.errors.DockerException):
                engine.networks.get(pod_network).remove()


def wide_deployment(name: str, namespace: str, pool: str) -> apps_pb2.Deployment:
    return json_format.ParseDict({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeSelector": {"pool": pool},
                    "terminationGracePeriodSeconds": 2,
                    "containers": [{
                        "name": "app", "image": images.TEST_IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["sleep", "3600"],
                        "resources": {"requests": {"cpu": "400m", "memory": "64Mi"}},
                    }],
                },
            },
        },
    }, apps_pb2.Deployment())


async def wait_for(check: Callable[[], Awaitable[T | None]], timeout: float, what: str,
                   processes: Processes) -> T:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})\n"
                         f"{processes.logs()}")


async def test_pending_pods_get_a_docker_node_which_goes_once_they_are_deleted(
    client: Client, namespace: str, cluster: Processes, group_name: str
) -> None:
    started = time.monotonic()
    await client.create(wide_deployment("wide", namespace, group_name))

    async def group_nodes() -> list[core_pb2.Node]:
        nodes = (await client.list(core_pb2.Node, label_selector=f"{GROUP_LABEL}={group_name}"))
        return nodes.items

    async def running() -> list[core_pb2.Pod] | None:
        pods = (await client.list(core_pb2.Pod, namespace, label_selector="app=wide")).items
        live = [p for p in pods if p.status.phase == "Running"]
        return live if len(live) == 2 else None

    pods = await wait_for(running, 180, "the pods running on a new node", cluster)
    to_running = time.monotonic() - started
    nodes = await group_nodes()
    assert len(nodes) == 1, [n.metadata.name for n in nodes]  # 2 x 400m fit one 1-cpu node
    node_name = nodes[0].metadata.name
    assert {p.spec.node_name for p in pods} == {node_name}
    print(f"\nmeasured: pending pods to Running on a new docker node: {to_running:.1f}s")

    pod_events = (await client.list(core_pb2.Event, namespace)).items
    assert any(e.reason == "TriggeredScaleUp" for e in pod_events)
    status = await client.get(core_pb2.ConfigMap, STATUS_NAME, STATUS_NAMESPACE)
    assert group_name in status.data["status"]

    await client.delete("Deployment", "wide", namespace, propagation_policy="Foreground")
    deleted = time.monotonic()

    async def node_gone() -> bool:
        try:
            await client.get(core_pb2.Node, node_name)
        except errors.NotFound:
            return True
        return False

    await wait_for(node_gone, 120, f"node {node_name} to be removed", cluster)
    to_removed = time.monotonic() - deleted
    assert to_removed >= UNNEEDED_TIME
    print(f"measured: deployment deleted to node removed: {to_removed:.1f}s "
          f"(unneeded time {UNNEEDED_TIME:.0f}s)")
    with contextlib.closing(docker.from_env()) as engine:
        left = engine.containers.list(all=True, filters={"label": f"{LABEL_GROUP}={group_name}"})
        assert left == []


@contextlib.contextmanager
def one_node_cluster(
    apiserver: ApiServerProcess, tmp_path: Path, node: str, *, capacity_cpu: str,
    metrics_interval: str, autoscaler_args: tuple[str, ...],
) -> Iterator[Processes]:
    """Scheduler, controller, one real (docker runtime) agent named `node` and the
    autoscaler, as processes; the agent's pods and network are removed afterwards."""
    pod_network = f"corral-{node}"
    processes = Processes(tmp_path)
    server = apiserver.address
    processes.start("scheduler", "scheduler", "--server", server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "127.0.0.1:0")
    processes.start("controller", "controller", "--server", server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "127.0.0.1:0")
    processes.start("agent", "agent", "--server", server, "--node-name", node,
                    "--runtime", "docker", "--listen", "127.0.0.1:0",
                    "--labels", f"pool={node}", "--capacity-cpu", capacity_cpu,
                    "--root-dir", str(tmp_path / "agent"), "--pod-network", pod_network,
                    "--pause-image", images.TEST_IMAGE, "--metrics-interval", metrics_interval,
                    "--node-status-interval", "1", "--housekeeping-interval", "2")
    processes.start("autoscaler", "autoscaler", "--server", server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "127.0.0.1:0",
                    *autoscaler_args, "--log-level", "info")
    try:
        yield processes
    finally:
        processes.stop()
        with contextlib.closing(docker.from_env()) as engine:
            for pod in engine.containers.list(all=True,
                                              filters={"label": f"{AGENT_POD_LABEL}={node}"}):
                with contextlib.suppress(docker.errors.DockerException):
                    pod.remove(force=True, v=True)
            with contextlib.suppress(docker.errors.DockerException):
                engine.networks.get(pod_network).remove()


@pytest.fixture
def cpu_cluster(apiserver: ApiServerProcess, tmp_path: Path, group_name: str
                ) -> Iterator[tuple[Processes, str]]:
    """One agent sampling every 2 s; the autoscaler syncing every 3 s."""
    node = f"cpu-{group_name}"
    with one_node_cluster(apiserver, tmp_path, node, capacity_cpu="2", metrics_interval="2",
                          autoscaler_args=("--sync-period", str(CPU_SYNC_PERIOD),
                                           "--cpu-initialization-period", "0")) as processes:
        yield processes, node


CPU_SYNC_PERIOD = 3.0


async def test_a_cpu_burning_deployment_scales_up_and_back_down_after_the_load_stops(
    client: Client, namespace: str, cpu_cluster: tuple[Processes, str]
) -> None:
    processes, node = cpu_cluster
    burn = json_format.ParseDict({
        "metadata": {"name": "burn", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "burn"}},
            "template": {
                "metadata": {"labels": {"app": "burn"}},
                "spec": {
                    "nodeSelector": {"pool": node},
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{
                        "name": "app", "image": images.TEST_IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", "while :; do :; done"],
                        "resources": {"requests": {"cpu": "200m"}},
                    }],
                },
            },
        },
    }, apps_pb2.Deployment())
    await client.create(burn)

    async def burning() -> float | None:
        pods = (await client.list(core_pb2.Pod, namespace, label_selector="app=burn")).items
        return time.monotonic() if any(p.status.phase == "Running" for p in pods) else None

    load_started = await wait_for(burning, 120, "the burning pod to run", processes)
    window = 10
    hpa = json_format.ParseDict({
        "metadata": {"name": "burn", "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "burn"},
            "minReplicas": 1, "maxReplicas": 3,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": window}},
        },
    }, autoscaling_pb2.HorizontalPodAutoscaler())
    await client.create(hpa)

    async def scaled_up() -> int | None:
        count = (await client.scale("Deployment", "burn", namespace)).replicas
        return count if count > 1 else None

    # The agent needs two samples (2 s apart) for a cpu rate, then one sync.
    await wait_for(scaled_up, 2 * CPU_SYNC_PERIOD + 6, "a scale-up", processes)
    to_scale_up = time.monotonic() - load_started
    print(f"\nmeasured: load start (pod Running) to first scale-up: {to_scale_up:.1f}s "
          f"(sync period {CPU_SYNC_PERIOD:.0f}s, agent sampling 2s)")

    # The load stops: the template now sleeps; the rollout replaces the burning pods.
    def idle(obj: object) -> None:
        obj.spec.template.spec.containers[0].command[:] = ["sleep", "3600"]

    await client.update_with_retry("Deployment", "burn", namespace, idle)
    stopped = time.monotonic()

    async def scaled_down() -> int | None:
        count = (await client.scale("Deployment", "burn", namespace)).replicas
        return count if count == 1 else None

    await wait_for(scaled_down, 120, "the scale-down", processes)
    print(f"measured: load stop to scale-down to 1: {time.monotonic() - stopped:.1f}s "
          f"(stabilization window {window}s)")
    await client.delete("Deployment", "burn", namespace, propagation_policy="Foreground")

    async def gone() -> bool:
        return not (await client.list(core_pb2.Pod, namespace, label_selector="app=burn")).items

    await wait_for(gone, 60, "the pods to go", processes)


# -- cluster autoscaler, hollow provider -------------------------------------------------------


def hollow_agent_pids(node_prefix: str) -> list[int]:
    """Processes running `-m agent ... --node-name NODE_PREFIX...` (the hollow nodes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"agent" in args and any(a.startswith(node_prefix.encode()) for a in args) \
                and b"--node-name" in args:
            found.append(int(entry.name))
    return found


@pytest.fixture
def hollow_cluster(apiserver: ApiServerProcess, tmp_path: Path, group_name: str
                   ) -> Iterator[Processes]:
    """Scheduler and autoscaler (hollow provider, one group of 1-cpu nodes) as processes."""
    groups = {"nodeGroups": [{
        "name": group_name, "minSize": 0, "maxSize": 2,
        "template": {"capacity": {"cpu": "1", "memory": "1Gi", "pods": "10"},
                     "labels": {"pool": group_name}},
    }]}
    groups_file = tmp_path / "groups.json"
    groups_file.write_text(json.dumps(groups))
    processes = Processes(tmp_path)
    server = apiserver.address
    processes.start("scheduler", "scheduler", "--server", server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "127.0.0.1:0")
    processes.start("autoscaler", "autoscaler", "--server", server, "--no-leader-elect",
                    "--metrics-listen", "", "--health-listen", "127.0.0.1:0",
                    "--node-groups", str(groups_file), "--provider", "hollow",
                    "--hollow-log-dir", str(tmp_path / "hollow"),
                    "--scan-interval", "1", "--scale-down-unneeded-time", str(UNNEEDED_TIME),
                    "--scale-down-delay-after-add", "0", "--max-graceful-termination", "10",
                    "--log-level", "info")
    try:
        yield processes
    finally:
        processes.stop()  # the autoscaler stops its hollow nodes on the way out
        for pid in hollow_agent_pids(group_name):  # in case it could not
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)


def hollow_pod(name: str, namespace: str, pool: str) -> core_pb2.Pod:
    return json_format.ParseDict({
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "hollow"}},
        "spec": {
            "nodeSelector": {"pool": pool},
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "app", "image": images.TEST_IMAGE,
                            "resources": {"requests": {"cpu": "400m", "memory": "64Mi"}}}],
        },
    }, core_pb2.Pod())


async def test_pending_pods_get_a_hollow_node_which_goes_once_they_are_deleted(
    client: Client, namespace: str, hollow_cluster: Processes, group_name: str
) -> None:
    started = time.monotonic()
    for i in range(2):
        await client.create(hollow_pod(f"h{i}", namespace, group_name))

    async def running() -> list[core_pb2.Pod] | None:
        pods = (await client.list(core_pb2.Pod, namespace, label_selector="app=hollow")).items
        live = [p for p in pods if p.status.phase == "Running"]
        return live if len(live) == 2 else None

    pods = await wait_for(running, 60, "the pods running on a new hollow node", hollow_cluster)
    to_running = time.monotonic() - started
    nodes = (await client.list(core_pb2.Node,
                               label_selector=f"{GROUP_LABEL}={group_name}")).items
    assert len(nodes) == 1, [n.metadata.name for n in nodes]  # 2 x 400m fit one 1-cpu node
    node_name = nodes[0].metadata.name
    assert {p.spec.node_name for p in pods} == {node_name}
    # Running in pretence: a hollow pod IP, and no container on the engine.
    assert all(p.status.pod_ip.startswith("100.") for p in pods)
    with contextlib.closing(docker.from_env()) as engine:
        assert not engine.containers.list(all=True,
                                          filters={"label": f"{AGENT_POD_LABEL}={node_name}"})
    # The node is an agent process of its own.
    assert len(hollow_agent_pids(node_name)) == 1
    print(f"\nmeasured: pending pods to Running on a new hollow node: {to_running:.1f}s")
    # Hollow pods run within a scan of the node registering, so the autoscaler may have seen
    # the node empty once; after two more scans it has seen it in use (the clock restarts).
    await asyncio.sleep(2.5)

    for i in range(2):
        await client.delete("Pod", f"h{i}", namespace)
    deleted = time.monotonic()

    async def node_gone() -> bool:
        try:
            await client.get(core_pb2.Node, node_name)
        except errors.NotFound:
            return not hollow_agent_pids(node_name)
        return False

    await wait_for(node_gone, 60, f"node {node_name} and its process to go", hollow_cluster)
    to_removed = time.monotonic() - deleted
    assert to_removed >= UNNEEDED_TIME
    print(f"measured: pods deleted to hollow node removed: {to_removed:.1f}s "
          f"(unneeded time {UNNEEDED_TIME:.0f}s)")
    status = await client.get(core_pb2.ConfigMap, STATUS_NAME, STATUS_NAMESPACE)
    assert group_name in status.data["status"]


# -- HPA: a Pods metric scraped by the agent ---------------------------------------------------

RPS_SYNC_PERIOD = 1.0
# busybox httpd serving a Prometheus text file: one pod reports 10,000 requests/s.
RPS_SERVER = (
    "mkdir -p /www && printf '# TYPE requests_per_second gauge\\nrequests_per_second 10000\\n' "
    "> /www/metrics && exec httpd -f -p 8080 -h /www"
)


@pytest.fixture
def rps_cluster(apiserver: ApiServerProcess, tmp_path: Path, group_name: str
                ) -> Iterator[tuple[Processes, str]]:
    """One agent sampling and scraping every second; the autoscaler syncing every second."""
    node = f"rps-{group_name}"
    with one_node_cluster(apiserver, tmp_path, node, capacity_cpu="4", metrics_interval="1",
                          autoscaler_args=("--sync-period", str(RPS_SYNC_PERIOD))) as processes:
        yield processes, node


async def test_a_pods_metric_scraped_from_a_real_server_scales_to_the_computed_count(
    client: Client, namespace: str, rps_cluster: tuple[Processes, str]
) -> None:
    processes, node = rps_cluster
    api = json_format.ParseDict({
        "metadata": {"name": "api", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}, "annotations": {
                    "corral.io/metrics-port": "8080", "corral.io/metrics-path": "/metrics"}},
                "spec": {
                    "nodeSelector": {"pool": node},
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{
                        "name": "app", "image": images.TEST_IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", RPS_SERVER],
                        "ports": [{"containerPort": 8080}],
                    }],
                },
            },
        },
    }, apps_pb2.Deployment())
    await client.create(api)

    async def scraped() -> str | None:
        try:
            metrics = await client.get(metrics_pb2.PodMetrics, await only_pod(), namespace)
        except (errors.NotFound, AssertionError):
            return None
        return metrics.custom.get("requests_per_second")

    async def only_pod() -> str:
        pods = (await client.list(core_pb2.Pod, namespace, label_selector="app=api")).items
        assert len(pods) == 1
        return pods[0].metadata.name

    # The agent scrapes the pod's endpoint into PodMetrics.custom (a gauge keeps its name).
    assert await wait_for(scraped, 90, "the scraped requests_per_second", processes) == "10000"
    hpa = json_format.ParseDict({
        "metadata": {"name": "api", "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
            "minReplicas": 1, "maxReplicas": 10,
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": "requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "1k"},
            }}],
            # The default allows +4 pods or +100 % per 15 s: let the whole step happen.
            "behavior": {"scaleUp": {"policies": [
                {"type": "Pods", "value": 10, "periodSeconds": 15}]}},
        },
    }, autoscaling_pb2.HorizontalPodAutoscaler())
    await client.create(hpa)
    seen: set[int] = set()

    async def ten_running() -> bool:
        seen.add((await client.scale("Deployment", "api", namespace)).replicas)
        pods = (await client.list(core_pb2.Pod, namespace, label_selector="app=api")).items
        return sum(p.status.phase == "Running" for p in pods) == 10

    await wait_for(ten_running, 120, "10 running pods", processes)
    # ceil(1 x 10,000 / 1,000) = 10 in one step, never anything in between.
    assert seen <= {1, 10}, seen
    assert (await client.scale("Deployment", "api", namespace)).replicas == 10
    events = (await client.list(core_pb2.Event, namespace)).items
    rescales = [e.message for e in events if e.reason == "SuccessfulRescale"]
    assert rescales == ["New size: 10; reason: pods metric requests_per_second above target"]
    await client.delete("Deployment", "api", namespace, propagation_policy="Foreground")

    async def gone() -> bool:
        return not (await client.list(core_pb2.Pod, namespace, label_selector="app=api")).items

    await wait_for(gone, 60, "the pods to go", processes)
