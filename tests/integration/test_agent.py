"""The agent against a real API server and the real Docker engine: pods become
containers, probes, restarts with back-off, OOM, ConfigMaps as env and files,
a shared network namespace, graceful deletion, agent restarts, several agents
on one engine, logs and exec through the API server, usage metrics, and the
hollow runtime.

Agents run in-process (asyncio tasks) with short back-off and probe periods;
pods are bound with Bind, since the scheduler is not part of these tests.
Every container a test's nodes made is removed afterwards, also on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors
import grpc
import pytest
import pytest_asyncio

from agent.docker_runtime import DEFAULT_CLUSTER_NAME, LABEL_CLUSTER, DockerRuntime
from agent.hollow_runtime import HollowRuntime
from agent.node_reporter import LEASE_NAMESPACE
from agent.pod_sync import FINALIZER
from agent.runtime import LABEL_NODE, LABEL_POD_UID, Runtime
from agent.server import AgentService, start_server
from agent.service import Agent, AgentConfig
from corral.api import errors
from corral.api.v1 import api_pb2, coordination_pb2, core_pb2, metrics_pb2
from corral.client.client import Client
from corral.images import TEST_IMAGE
from tests.etcd_container import free_local_port

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="function")]

POD_NETWORK = "corral-pods"
ROOT = Path(__file__).resolve().parents[2]


# -- helpers -----------------------------------------------------------------------------------


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0,
                     what: str = "condition") -> Any:
    """Polls `check` until it returns something truthy; fails with the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except errors.NotFound as error:
            last = error
        else:
            if last:
                return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def make_pod(name: str, namespace: str, *containers: core_pb2.Container,
             restart_policy: str = "Always", grace: int = 2) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = namespace
    pod.spec.containers.extend(containers)
    pod.spec.restart_policy = restart_policy
    pod.spec.termination_grace_period_seconds = grace
    return pod


def shell(name: str, script: str) -> core_pb2.Container:
    return core_pb2.Container(name=name, image=TEST_IMAGE, command=["sh", "-c", script])


HTTPD = "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"


class Cluster:
    """Agents of one test, on the session's API server and the local Docker engine."""

    def __init__(self, client: Client, namespace: str, root: Path) -> None:
        self.client = client
        self.namespace = namespace
        self.root = root
        self.prefix = f"t{uuid.uuid4().hex[:6]}"
        self.node_names: set[str] = set()
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.agents: dict[str, Agent] = {}
        self.runtimes: list[Runtime] = []
        self.docker = docker.from_env()
        self.service = AgentService()
        self.server: grpc.aio.Server | None = None
        self.port = 0

    async def start_agent(self, node: str, *, hollow: bool = False, **overrides: Any) -> Agent:
        if self.server is None:
            self.server, self.port = await start_server(self.service, "127.0.0.1:0")
        self.node_names.add(node)
        runtime: Runtime = (HollowRuntime(node) if hollow else
                            DockerRuntime(node, pod_network=POD_NETWORK, pause_image=TEST_IMAGE))
        settings: dict[str, Any] = {
            "node_name": node, "address": "127.0.0.1", "port": self.port,
            "root_dir": self.root, "backoff_base": 1.0, "backoff_cap": 4.0,
            "lease_interval": 1.0, "status_interval": 1.0, "housekeeping_interval": 1.0,
            "metrics_interval": 1.0,
        }
        settings.update(overrides)
        agent = Agent(AgentConfig(**settings), self.client, runtime)
        self.runtimes.append(runtime)
        self.agents[node] = agent
        self.service.add(agent)
        self.tasks[node] = asyncio.create_task(agent.run())
        ready = asyncio.create_task(agent.ready.wait())
        done, _ = await asyncio.wait([ready, self.tasks[node]], timeout=30,
                                     return_when=asyncio.FIRST_COMPLETED)
        if self.tasks[node] in done:
            self.tasks[node].result()
        assert ready in done, f"agent {node} did not become ready"
        return agent

    async def stop_agent(self, node: str) -> None:
        """Like killing the agent: its containers keep running."""
        task = self.tasks.pop(node)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        agent = self.agents.pop(node)
        await agent.informers.stop()
        await agent.runtime.close()
        self.runtimes.remove(agent.runtime)

    async def run_pod(self, pod: core_pb2.Pod, node: str) -> core_pb2.Pod:
        created = await self.client.create(pod)
        [result] = await self.client.bind(
            [(self.namespace, pod.metadata.name, node, created.metadata.uid)])
        assert result is None, result
        return created

    async def pod(self, name: str) -> core_pb2.Pod:
        return await self.client.get(core_pb2.Pod, name, self.namespace)

    async def wait_phase(self, name: str, phase: str, timeout: float = 30.0) -> core_pb2.Pod:
        async def check() -> core_pb2.Pod | None:
            pod = await self.pod(name)
            return pod if pod.status.phase == phase else None

        return await eventually(check, timeout, f"pod {name} to be {phase}")

    async def wait_ready(self, name: str, timeout: float = 30.0) -> core_pb2.Pod:
        async def check() -> core_pb2.Pod | None:
            pod = await self.pod(name)
            ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
            return pod if ready else None

        return await eventually(check, timeout, f"pod {name} to be Ready")

    async def events(self, pod: str, reason: str) -> list[core_pb2.Event]:
        """The Events with this reason about pod `pod` (by name) of the test's namespace."""
        listed = (await self.client.list(core_pb2.Event, self.namespace)).items
        return [e for e in listed
                if e.involved_object.name == pod and e.involved_object.kind == "Pod"
                and e.reason == reason]

    async def wait_event(self, pod: str, reason: str, timeout: float = 15.0
                         ) -> list[core_pb2.Event]:
        async def check() -> list[core_pb2.Event]:
            return await self.events(pod, reason)

        return await eventually(check, timeout, f"a {reason} event about pod {pod}")

    def containers(self, node: str, pod_uid: str = "", **extra: str) -> list[Any]:
        labels = [f"{LABEL_NODE}={node}"]
        if pod_uid:
            labels.append(f"{LABEL_POD_UID}={pod_uid}")
        labels += [f"{k}={v}" for k, v in extra.items()]
        # docker-py lists ids, then inspects each: a container the agent removes in between
        # is a 404. Listing again sees the world after the removal.
        for _ in range(5):
            try:
                return list(self.docker.containers.list(all=True, filters={"label": labels}))
            except docker.errors.NotFound:
                continue
        return list(self.docker.containers.list(all=True, filters={"label": labels}))

    def app_container(self, node: str, pod_uid: str, name: str) -> Any:
        found = [c for c in self.containers(node, pod_uid)
                 if c.labels.get("corral.container") == name and c.status == "running"]
        assert len(found) == 1, [c.name for c in found]
        return found[0]

    async def close(self) -> None:
        for node in list(self.tasks):
            await self.stop_agent(node)
        if self.server is not None:
            await self.server.stop(0)
        for node in self.node_names:
            for container in self.containers(node):
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    container.remove(force=True)
            for volume in self.docker.volumes.list(filters={"label": f"{LABEL_NODE}={node}"}):
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    volume.remove(force=True)
        self.docker.close()


@pytest_asyncio.fixture
async def cluster(client: Client, namespace: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(client, namespace, tmp_path)
    try:
        yield cluster
    finally:
        await cluster.close()


def exec_in(container: Any, *command: str) -> str:
    code, output = container.exec_run(list(command))
    assert code == 0, output
    return str(output.decode())


# -- node --------------------------------------------------------------------------------------


async def test_agent_registers_its_node_with_capacity_labels_taints_and_a_lease(
    cluster: Cluster, client: Client
) -> None:
    node_name = f"{cluster.prefix}-node"
    taint = core_pb2.Taint(key="dedicated", value="test", effect="NoSchedule")
    await cluster.start_agent(node_name, labels={"disk": "ssd"}, taints=[taint], zone="z1",
                              reserved_cpu="500m", capacity_cpu="4")
    node = await client.get(core_pb2.Node, node_name)
    assert node.metadata.labels["disk"] == "ssd"
    assert node.metadata.labels["kubernetes.io/hostname"] == node_name
    assert node.metadata.labels["topology.kubernetes.io/zone"] == "z1"
    assert [(t.key, t.effect) for t in node.spec.taints] == [("dedicated", "NoSchedule")]
    assert node.status.capacity["cpu"] == "4"
    assert node.status.allocatable["cpu"] == "3500m"
    assert int(node.status.capacity["memory"]) > 0
    assert any(TEST_IMAGE in image.names for image in node.status.images)
    assert node.status.daemon_endpoints.kubelet_endpoint.Port == cluster.port
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert ready.status == "True"
    lease = await client.get(coordination_pb2.Lease, node_name, LEASE_NAMESPACE)
    first = lease.spec.renew_time.ToNanoseconds()

    async def renewed() -> bool:
        again = await client.get(coordination_pb2.Lease, node_name, LEASE_NAMESPACE)
        return again.spec.renew_time.ToNanoseconds() > first

    await eventually(renewed, 10, "the lease to be renewed")


# -- pods --------------------------------------------------------------------------------------


async def test_pod_with_httpd_and_readiness_probe_becomes_ready_and_answers(
    cluster: Cluster, namespace: str
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    web = shell("web", HTTPD)
    host_port = free_local_port()
    web.ports.add(container_port=8080, host_port=host_port)
    web.readiness_probe.http_get.path = "/"
    web.readiness_probe.http_get.port = "8080"
    web.readiness_probe.period_seconds = 1
    await cluster.run_pod(make_pod("web", namespace, web), node)
    pod = await cluster.wait_ready("web")
    assert pod.status.phase == "Running"
    assert pod.status.pod_ip
    assert pod.status.host_ip == "127.0.0.1"
    assert FINALIZER in pod.metadata.finalizers
    [status] = pod.status.container_statuses
    assert status.ready and status.state.HasField("running")
    conditions = {c.type: c.status for c in pod.status.conditions}
    assert conditions == {"PodScheduled": "True", "Initialized": "True",
                          "ContainersReady": "True", "Ready": "True"}
    body = await asyncio.to_thread(
        lambda: urllib.request.urlopen(f"http://{pod.status.pod_ip}:8080/", timeout=5).read())
    assert body == b"hello\n"
    published = await asyncio.to_thread(
        lambda: urllib.request.urlopen(f"http://127.0.0.1:{host_port}/", timeout=5).read())
    assert published == b"hello\n"
    # One infra container and one app container, nothing more.
    assert len(cluster.containers(node, pod.metadata.uid)) == 2


async def test_crashing_container_backs_off_and_shows_crash_loop_back_off(
    cluster: Cluster, namespace: str
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    await cluster.run_pod(make_pod("crash", namespace, shell("app", "echo dying; exit 3")), node)

    async def backing_off() -> core_pb2.ContainerStatus | None:
        statuses = (await cluster.pod("crash")).status.container_statuses
        if not statuses:
            return None
        status = statuses[0]
        waiting = status.state.waiting
        return status if waiting.reason == "CrashLoopBackOff" and status.restart_count >= 2 \
            else None

    status = await eventually(backing_off, 30, "CrashLoopBackOff after two restarts")
    assert "back-off" in status.state.waiting.message
    assert status.last_state.terminated.exit_code == 3
    assert status.last_state.terminated.reason == "Error"
    pod = await cluster.pod("crash")
    assert pod.status.phase == "Running"  # restartPolicy Always: it keeps trying
    previous = api_pb2.LogsRequest(namespace=namespace, name="crash", previous=True)
    logged = b"".join([c.data async for c in cluster.client.stub.Logs(previous)])
    assert logged == b"dying\n"
    # Back-off: restarts slow down (1 s, 2 s, 4 s), so after 6 s there are only a few.
    await asyncio.sleep(3)
    [status] = (await cluster.pod("crash")).status.container_statuses
    assert status.restart_count <= 5
    # Old instances are pruned: the current one and the one before it remain.
    async def pruned() -> bool:
        apps = [c for c in cluster.containers(node, pod.metadata.uid)
                if c.labels["corral.role"] == "app"]
        return len(apps) <= 2

    await eventually(pruned, 5, "old instances to be pruned")
    # What `corral describe pod` lists under Events, as the kubelet would record it.
    [back_off] = await cluster.wait_event("crash", "BackOff")
    assert back_off.type == "Warning"
    assert back_off.message.startswith("Back-off restarting failed container app in pod crash_")
    assert back_off.source.component == "agent" and back_off.source.host == node
    for reason, message in (("Pulled", "already present on machine"),
                            ("Created", "Created container app"),
                            ("Started", "Started container app")):
        [event] = await cluster.wait_event("crash", reason)
        assert message in event.message
        assert event.count >= 2  # one per restart, counted on one Event


async def test_liveness_failure_restarts_the_container(cluster: Cluster, namespace: str) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    app = shell("app", "touch /tmp/alive; sleep 2; rm /tmp/alive; exec sleep 3600")
    app.liveness_probe.exec.command.extend(["test", "-f", "/tmp/alive"])
    app.liveness_probe.period_seconds = 1
    app.liveness_probe.failure_threshold = 1
    await cluster.run_pod(make_pod("live", namespace, app, grace=1), node)

    async def restarted() -> core_pb2.ContainerStatus | None:
        statuses = (await cluster.pod("live")).status.container_statuses
        return statuses[0] if statuses and statuses[0].restart_count >= 1 else None

    status = await eventually(restarted, 30, "a restart after the liveness probe failed")
    assert status.last_state.terminated.exit_code == 137  # killed after the 1 s grace
    unhealthy = await cluster.wait_event("live", "Unhealthy")
    assert {e.type for e in unhealthy} == {"Warning"}
    assert any(e.message.startswith("Liveness probe failed: command exited 1")
               for e in unhealthy), [e.message for e in unhealthy]
    [killing] = await cluster.wait_event("live", "Killing")
    assert killing.message == "Container app failed liveness probe, will be restarted"


async def test_oom_killed_is_reported(cluster: Cluster, namespace: str) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    hog = shell("hog", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived")
    hog.resources.limits["memory"] = "16Mi"
    await cluster.run_pod(make_pod("hog", namespace, hog, restart_policy="Never"), node)
    pod = await cluster.wait_phase("hog", "Failed", timeout=60)
    [status] = pod.status.container_statuses
    assert status.state.terminated.reason == "OOMKilled"
    assert status.state.terminated.exit_code == 137
    assert status.restart_count == 0


async def test_config_map_env_and_files_arrive_and_files_follow_updates(
    cluster: Cluster, namespace: str, client: Client
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    config = core_pb2.ConfigMap()
    config.metadata.name = "settings"
    config.metadata.namespace = namespace
    config.data["greeting"] = "hello"
    config.data["colour"] = "blue"
    await client.create(config)
    app = shell("app", 'echo "$GREETING $COLOUR_FROM $POD_NAME" > /tmp/env; exec sleep 3600')
    app.env.add(name="GREETING").value_from.config_map_key_ref.CopyFrom(
        core_pb2.KeySelector(name="settings", key="greeting"))
    app.env.add(name="POD_NAME").value_from.field_ref.field_path = "metadata.name"
    app.env_from.add(prefix="", config_map_ref=core_pb2.LocalObjectReference(name="settings"))
    app.env.add(name="COLOUR_FROM", value="$(colour)")
    app.volume_mounts.add(name="config", mount_path="/etc/config")
    pod = make_pod("cm", namespace, app)
    pod.spec.volumes.add(name="config").config_map.name = "settings"
    created = await cluster.run_pod(pod, node)
    await cluster.wait_phase("cm", "Running")
    container = cluster.app_container(node, created.metadata.uid, "app")

    async def file_says(text: str) -> bool:
        out = await asyncio.to_thread(exec_in, container, "cat", "/etc/config/greeting")
        return out == text

    await eventually(lambda: file_says("hello"), 10, "the configMap file")
    env = await eventually(
        lambda: asyncio.to_thread(lambda: container.exec_run(["cat", "/tmp/env"]).output), 10)
    assert env.decode().strip() == "hello blue cm"

    def change(obj: Any) -> None:
        obj.data["greeting"] = "goodbye"

    await client.update_with_retry("ConfigMap", "settings", namespace, change)
    await eventually(lambda: file_says("goodbye"), 15, "the updated configMap file")


async def test_missing_config_map_shows_create_container_config_error(
    cluster: Cluster, namespace: str
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    app = shell("app", "sleep 3600")
    app.env.add(name="X").value_from.config_map_key_ref.CopyFrom(
        core_pb2.KeySelector(name="absent", key="x"))
    await cluster.run_pod(make_pod("nocm", namespace, app), node)

    async def waiting() -> str:
        pod = await cluster.pod("nocm")
        statuses = pod.status.container_statuses
        return statuses[0].state.waiting.reason + ": " + statuses[0].state.waiting.message \
            if statuses and statuses[0].state.waiting.reason == "CreateContainerConfigError" \
            else ""

    message = await eventually(waiting, 20, "CreateContainerConfigError")
    assert 'configmap "absent" not found' in message
    [failed] = await cluster.wait_event("nocm", "Failed")
    assert failed.type == "Warning" and 'configmap "absent" not found' in failed.message


async def test_image_pull_failure_shows_err_image_pull_then_back_off(
    cluster: Cluster, namespace: str
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    app = core_pb2.Container(name="app", image="corral/no-such-image:1")
    reasons: list[str] = []

    async def watch_reasons() -> None:
        # A watch sees every status written; polling could miss ErrImagePull,
        # which the agent replaces with ImagePullBackOff at its next sync.
        async for event in cluster.client.watch("Pod", cluster.namespace):
            if event.object is None or event.object.metadata.name != "noimage":
                continue
            for status in event.object.status.container_statuses:
                waiting = status.state.waiting
                if waiting.reason and (not reasons or reasons[-1] != waiting.reason):
                    assert "corral/no-such-image" in waiting.message
                    reasons.append(waiting.reason)
            if "ErrImagePull" in reasons and "ImagePullBackOff" in reasons:
                return

    watching = asyncio.create_task(watch_reasons())
    await asyncio.sleep(0.2)
    await cluster.run_pod(make_pod("noimage", namespace, app), node)
    await asyncio.wait_for(watching, 30)
    assert reasons.index("ErrImagePull") < reasons.index("ImagePullBackOff"), reasons
    [pulling] = await cluster.wait_event("noimage", "Pulling")
    assert pulling.message == 'Pulling image "corral/no-such-image:1"'
    [failed] = await cluster.wait_event("noimage", "Failed")
    assert failed.type == "Warning" and "corral/no-such-image:1" in failed.message
    [back_off] = await cluster.wait_event("noimage", "BackOff")
    assert back_off.message == 'Back-off pulling image "corral/no-such-image:1"'


async def test_two_containers_in_a_pod_talk_on_localhost(
    cluster: Cluster, namespace: str
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    server = shell("server", HTTPD)
    client_container = shell("client", "exec sleep 3600")
    client_container.readiness_probe.exec.command.extend(
        ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"])
    client_container.readiness_probe.period_seconds = 1
    await cluster.run_pod(make_pod("pair", namespace, server, client_container), node)
    pod = await cluster.wait_ready("pair")
    assert all(s.ready for s in pod.status.container_statuses)


async def test_deletion_sends_sigterm_and_kills_after_the_grace_period(
    cluster: Cluster, namespace: str, client: Client
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    # sleep as PID 1 ignores SIGTERM: only SIGKILL after the grace period ends it.
    stubborn = await cluster.run_pod(
        make_pod("stubborn", namespace, shell("app", "exec sleep 3600"), grace=3), node)
    polite = await cluster.run_pod(
        make_pod("polite", namespace,
                 shell("app", "trap 'exit 0' TERM; while true; do sleep 0.1; done"), grace=30),
        node)
    await cluster.wait_phase("stubborn", "Running")
    await cluster.wait_phase("polite", "Running")

    async def gone(name: str) -> float:
        started = time.monotonic()

        async def check() -> bool:
            try:
                await cluster.pod(name)
            except errors.NotFound:
                return True
            return False

        await eventually(check, 40, f"pod {name} to be removed")
        return time.monotonic() - started

    await client.delete("Pod", "stubborn", namespace)
    await client.delete("Pod", "polite", namespace)
    stubborn_took, polite_took = await asyncio.gather(gone("stubborn"), gone("polite"))
    assert 2.5 <= stubborn_took < 10, stubborn_took
    assert polite_took < 5, polite_took

    async def no_containers() -> bool:
        return not cluster.containers(node, stubborn.metadata.uid) and \
            not cluster.containers(node, polite.metadata.uid)

    await eventually(no_containers, 10, "the deleted pods' containers to be removed")


async def test_restarted_agent_neither_duplicates_nor_loses_containers(
    cluster: Cluster, namespace: str, client: Client
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    pods = [await cluster.run_pod(make_pod(f"keep-{i}", namespace, shell("app", "exec sleep 3600")),
                                  node) for i in range(2)]
    doomed = await cluster.run_pod(make_pod("doomed", namespace, shell("app", "exec sleep 3600"),
                                            grace=0), node)
    for name in ("keep-0", "keep-1", "doomed"):
        await cluster.wait_phase(name, "Running")
    before = {c.id for pod in pods for c in cluster.containers(node, pod.metadata.uid)}
    assert len(before) == 4
    await cluster.stop_agent(node)

    # While the agent is away: a pod is deleted, and a stray container appears.
    await client.delete("Pod", "doomed", namespace)
    stray = cluster.docker.containers.run(
        TEST_IMAGE, ["sleep", "3600"], detach=True,
        labels={LABEL_NODE: node, LABEL_CLUSTER: DEFAULT_CLUSTER_NAME,
                LABEL_POD_UID: "no-such-pod", "corral.pod.namespace": namespace,
                "corral.pod.name": "ghost", "corral.container": "app", "corral.role": "app",
                "corral.grace": "0"})

    await cluster.start_agent(node)

    async def cleaned() -> bool:
        stray_left = cluster.containers(node, "no-such-pod")
        doomed_left = cluster.containers(node, doomed.metadata.uid)
        try:
            await cluster.pod("doomed")
            doomed_exists = True
        except errors.NotFound:
            doomed_exists = False
        return not stray_left and not doomed_left and not doomed_exists

    await eventually(cleaned, 20, "the stray container and the deleted pod to be removed")
    del stray
    await asyncio.sleep(2)  # a few syncs and housekeeping rounds
    after = {c.id for pod in pods for c in cluster.containers(node, pod.metadata.uid)}
    assert after == before
    for pod in pods:
        fresh = await cluster.pod(pod.metadata.name)
        assert fresh.status.phase == "Running"
        assert fresh.status.container_statuses[0].restart_count == 0


async def test_two_agents_on_one_engine_keep_out_of_each_others_containers(
    cluster: Cluster, namespace: str, client: Client
) -> None:
    node_a, node_b = f"{cluster.prefix}-a", f"{cluster.prefix}-b"
    await cluster.start_agent(node_a)
    await cluster.start_agent(node_b)
    on_a = await cluster.run_pod(make_pod("on-a", namespace, shell("app", "exec sleep 3600")),
                                 node_a)
    on_b = await cluster.run_pod(make_pod("on-b", namespace, shell("app", "exec sleep 3600")),
                                 node_b)
    await cluster.wait_phase("on-a", "Running")
    await cluster.wait_phase("on-b", "Running")
    assert len(cluster.containers(node_a, on_a.metadata.uid)) == 2
    assert not cluster.containers(node_a, on_b.metadata.uid)
    assert len(cluster.containers(node_b, on_b.metadata.uid)) == 2
    b_ids = {c.id for c in cluster.containers(node_b)}
    # With B gone, A's housekeeping still leaves B's containers alone.
    await cluster.stop_agent(node_b)
    await client.delete("Pod", "on-a", namespace)
    await eventually(lambda: asyncio.sleep(0, not cluster.containers(node_a)), 20,
                     "A's containers to be removed")
    await asyncio.sleep(2)
    assert {c.id for c in cluster.containers(node_b) if c.status == "running"} == b_ids


async def test_housekeeping_leaves_containers_no_agent_made_alone(
    cluster: Cluster, namespace: str
) -> None:
    """A container with our node label but no pod uid, and one with no corral labels at all
    (like a benchmark's raw `docker run`), survive the agent's orphan removal."""
    node = f"{cluster.prefix}-a"
    mine = {"corral.test.owner": cluster.prefix}
    half = cluster.docker.containers.run(TEST_IMAGE, ["sleep", "3600"], detach=True,
                                         labels={LABEL_NODE: node, **mine})
    bystander = cluster.docker.containers.run(TEST_IMAGE, ["sleep", "3600"], detach=True,
                                              labels=mine)
    try:
        await cluster.start_agent(node)
        await cluster.run_pod(make_pod("gone", namespace, shell("app", "exec sleep 3600")),
                              node)
        await cluster.wait_phase("gone", "Running")
        await cluster.client.delete("Pod", "gone", namespace)
        await eventually(lambda: asyncio.sleep(0, len(cluster.containers(node)) == 1), 20,
                         "the deleted pod's containers to be removed")
        await asyncio.sleep(2.5)  # housekeeping runs every second
        for container in (half, bystander):
            container.reload()
            assert container.status == "running"
    finally:
        for container in (half, bystander):
            with contextlib.suppress(docker.errors.DockerException):
                container.remove(force=True)


# -- logs, exec, metrics -----------------------------------------------------------------------


async def test_logs_and_exec_go_through_the_api_server_to_the_agent(
    cluster: Cluster, namespace: str, client: Client
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    await cluster.run_pod(make_pod("talk", namespace, shell(
        "app", "for i in 1 2 3; do echo line $i; done; exec sleep 3600")), node)
    await cluster.wait_phase("talk", "Running")

    async def lines(tail: int | None = None) -> list[str]:
        request = api_pb2.LogsRequest(namespace=namespace, name="talk")
        if tail is not None:
            request.tail_lines = tail
        data = b"".join([chunk.data async for chunk in client.stub.Logs(request)])
        return data.decode().splitlines()

    assert await eventually(lambda: lines(), 10) == ["line 1", "line 2", "line 3"]
    assert await lines(tail=1) == ["line 3"]

    async def run(*command: str, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
        async def inputs() -> AsyncIterator[api_pb2.ExecInput]:
            yield api_pb2.ExecInput(start=api_pb2.ExecStart(
                namespace=namespace, name="talk", command=list(command), stdin=bool(stdin)))
            if stdin:
                yield api_pb2.ExecInput(stdin=stdin)
                yield api_pb2.ExecInput(close_stdin=True)

        out, err, code = b"", b"", None
        async for output in client.stub.Exec(inputs()):
            which = output.WhichOneof("output")
            if which == "stdout":
                out += output.stdout
            elif which == "stderr":
                err += output.stderr
            else:
                code = output.exit_code
        assert code is not None
        return code, out, err

    assert await run("sh", "-c", "echo out; echo err >&2; exit 7") == (7, b"out\n", b"err\n")
    assert await run("cat", stdin=b"piped\n") == (0, b"piped\n", b"")
    with pytest.raises(grpc.RpcError) as raised:
        async for _ in client.stub.Logs(api_pb2.LogsRequest(namespace=namespace, name="talk",
                                                            container="nope")):
            pass
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert "nope" in (raised.value.details() or "")


async def test_usage_and_scraped_app_metrics_are_published(
    cluster: Cluster, namespace: str, client: Client
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    exposition = "# TYPE queue_depth gauge\\nqueue_depth 7\\n"
    script = (f"mkdir -p /www && printf '{exposition}' > /www/metrics && "
              "exec httpd -f -p 9100 -h /www")
    pod = make_pod("busy", namespace, shell("app", script))
    pod.metadata.annotations["corral.io/metrics-port"] = "9100"
    await cluster.run_pod(pod, node)
    await cluster.wait_phase("busy", "Running")

    async def pod_metrics() -> metrics_pb2.PodMetrics | None:
        found = await client.get(metrics_pb2.PodMetrics, "busy", namespace)
        return found if found.custom else None

    metrics = await eventually(pod_metrics, 20, "PodMetrics with custom metrics")
    [container] = metrics.containers
    assert container.name == "app"
    assert set(container.usage) == {"cpu", "memory"}
    assert metrics.custom["queue_depth"] == "7"
    node_metrics = await client.get(metrics_pb2.NodeMetrics, node)
    assert set(node_metrics.usage) == {"cpu", "memory"}


async def test_cli_logs_exec_and_top(
    cluster: Cluster, namespace: str, client: Client, apiserver: Any
) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    await cluster.run_pod(make_pod("cli", namespace, shell(
        "app", "echo first; echo second; exec sleep 3600")), node)
    await cluster.wait_phase("cli", "Running")

    async def corral(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
        # Options go after the (sub)command, before any `--`.
        split = 2 if args[0] == "top" else 1
        options = ["--server", apiserver.address]
        if args[:2] != ("top", "nodes"):
            options += ["-n", namespace]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from corral.cli import main; main()",
            *args[:split], *options, *args[split:],
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=ROOT)
        out, err = await process.communicate(stdin)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    code, out, _ = await corral("logs", "cli", "--tail", "1")
    assert (code, out) == (0, "second\n")
    code, out, err = await corral("exec", "cli", "--", "sh", "-c", "echo hi; exit 5")
    assert (code, out) == (5, "hi\n"), err
    code, out, err = await corral("exec", "-i", "cli", "--", "cat", stdin=b"through\n")
    assert (code, out) == (0, "through\n"), err
    code, _, err = await corral("logs", "cli", "-c", "missing")
    assert code == 1 and 'container "missing"' in err
    # The agent's Events about the pod, in `corral describe pod`.
    await cluster.wait_event("cli", "Started")
    code, out, err = await corral("describe", "pod", "cli")
    assert code == 0, err
    events = out[out.index("Events:"):]
    for text in ("Pulled", "Created container app", "Started container app", "agent"):
        assert text in events, events

    async def top_lists_the_pod() -> str:
        code, out, _ = await corral("top", "pods")
        return out if code == 0 and "cli" in out else ""

    out = await eventually(top_lists_the_pod, 20, "corral top pods to list the pod")
    assert out.splitlines()[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    code, out, _ = await corral("top", "nodes", node)
    assert code == 0 and node in out


async def test_one_process_runs_many_hollow_agents(
    cluster: Cluster, namespace: str, client: Client, apiserver: Any, tmp_path: Path
) -> None:
    name = f"{cluster.prefix}-many"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", "--server", apiserver.address, "--node-name", name,
        "--runtime", "hollow", "--hollow-count", "3", "--listen", "127.0.0.1:0",
        "--root-dir", str(tmp_path), "--log-level", "warning", cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        async def all_ready() -> bool:
            nodes = (await client.list(core_pb2.Node)).items
            ready = [n.metadata.name for n in nodes if n.metadata.name.startswith(name) and any(
                c.type == "Ready" and c.status == "True" for c in n.status.conditions)]
            return sorted(ready) == [f"{name}-{i}" for i in range(3)]

        await eventually(all_ready, 30, "three hollow nodes to be Ready")
        await cluster.run_pod(make_pod("many", namespace, shell("app", "sleep 1")), f"{name}-2")
        await cluster.wait_ready("many")
    finally:
        process.terminate()
        await process.wait()


# -- hollow ------------------------------------------------------------------------------------


async def test_hollow_agents_run_pods_without_containers(
    cluster: Cluster, namespace: str, client: Client
) -> None:
    nodes = [f"{cluster.prefix}-hollow-{i}" for i in range(3)]
    for node in nodes:
        await cluster.start_agent(node, hollow=True)
    for i, node in enumerate(nodes):
        await cluster.run_pod(make_pod(f"h{i}", namespace, shell("app", "sleep 3600")), node)
    for i in range(3):
        pod = await cluster.wait_ready(f"h{i}")
        assert pod.status.pod_ip.startswith("100.")
    for node in nodes:
        assert not cluster.containers(node)
    await client.delete("Pod", "h0", namespace)

    async def removed() -> bool:
        try:
            await cluster.pod("h0")
        except errors.NotFound:
            return True
        return False

    await eventually(removed, 10, "hollow pod h0 to be removed")
