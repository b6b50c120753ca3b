"""End to end, as a user would: the cluster from docker-compose.yml, brought up with
deploy/cluster (`make up`), driven with the CLI, checked through the API and with HTTP.

One cluster serves the whole module (starting it costs a minute or more), so the tests
run in file order and each one leaves the web example running for the next.
Everything is removed at the end, pod containers and volumes included, even on failure.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.api.v1 import core_pb2
from tests.e2e.cluster import REPO, LocalCluster, eventually, http_get, ready

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(900)]

WEB = str(REPO / "examples" / "web.yaml")
# Pods that only a node of the autoscaler's docker group (zone-c) can take.
ZONE_C_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: zone-c
spec:
  replicas: 2
  selector:
    matchLabels: {app: zone-c}
  template:
    metadata:
      labels: {app: zone-c}
    spec:
      nodeSelector:
        topology.kubernetes.io/zone: zone-c
      terminationGracePeriodSeconds: 1
      containers:
        - name: sleep
          image: corral/busybox:1
          imagePullPolicy: Never
          command: [sleep, "3600"]
          resources:
            requests: {cpu: 100m, memory: 16Mi}
"""
CONFIG = str(REPO / "examples" / "config.yaml")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(Path(tmp_path_factory.mktemp("corral-config")))
    try:
        local.up()
        yield local
    except BaseException:
        print(local.logs())
        raise
    finally:
        local.destroy()


def web_pods(cluster: LocalCluster) -> list[core_pb2.Pod]:
    return cluster.pods("app=web")


def web_available(cluster: LocalCluster, image: str) -> bool:
    """Three ready pods of `image`, no others, and the Deployment says so."""
    pods = [p for p in web_pods(cluster) if not p.metadata.HasField("deletion_timestamp")]
    images = {p.spec.containers[0].image for p in pods}
    status = cluster.deployment("web").status
    return (len(ready(pods)) == 3 and len(pods) == 3 and images == {image}
            and status.available_replicas == 3 and status.updated_replicas == 3)


def test_cluster_has_two_ready_nodes_in_different_zones(cluster: LocalCluster) -> None:
    def two_ready_nodes() -> list[core_pb2.Node]:
        nodes = cluster.api(lambda c: c.list(core_pb2.Node)).items
        up = [n for n in nodes if any(c.type == "Ready" and c.status == "True"
                                      for c in n.status.conditions)]
        return up if len(up) == 2 else []

    nodes = eventually(two_ready_nodes, timeout=60, what="two Ready nodes")
    assert sorted(n.metadata.name for n in nodes) == [cluster.node(1), cluster.node(2)]
    zones = {n.metadata.labels["topology.kubernetes.io/zone"] for n in nodes}
    assert len(zones) == 2
    listing = cluster.corral("get", "nodes")
    assert cluster.node(1) in listing and "Ready" in listing


def test_web_example_runs_three_ready_replicas_over_both_nodes_and_answers_http(
    cluster: LocalCluster,
) -> None:
    cluster.corral("apply", "-f", WEB)
    eventually(lambda: web_available(cluster, "corral/web:1"), timeout=180,
               what="3 available replicas of corral/web:1")
    pods = ready(web_pods(cluster))
    assert {p.spec.node_name for p in pods} == {cluster.node(1), cluster.node(2)}
    for pod in pods:
        page = http_get(f"http://{pod.status.pod_ip}:8080/")
        assert "version 1" in page, f"{pod.metadata.name}: {page!r}"
        assert http_get(f"http://{pod.status.pod_ip}:8080/healthz").strip() == "ok"


def test_rolling_update_completes_with_never_fewer_than_three_ready(
    cluster: LocalCluster,
) -> None:
    eventually(lambda: web_available(cluster, "corral/web:1"), timeout=180,
               what="the web example before the update")
    fewest: list[int] = []
    stop = threading.Event()

    def watch_ready_count() -> None:
        while not stop.is_set():
            # A failed poll is not a moment with fewer pods ready.
            with contextlib.suppress(Exception):
                fewest.append(len(ready(web_pods(cluster))))
            stop.wait(0.2)

    watcher = threading.Thread(target=watch_ready_count, daemon=True)
    watcher.start()
    try:
        cluster.corral("set", "image", "deployment/web", "web=corral/web:2")
        cluster.corral("rollout", "status", "deployment/web", "--timeout", "240s")
        eventually(lambda: web_available(cluster, "corral/web:2"), timeout=120,
                   what="3 available replicas of corral/web:2")
    finally:
        stop.set()
        watcher.join()
    assert fewest and min(fewest) >= 3, f"ready replicas dipped to {min(fewest)}"
    for pod in ready(web_pods(cluster)):
        assert "version 2" in http_get(f"http://{pod.status.pod_ip}:8080/")


def test_stopping_the_node_2_agent_moves_its_pods_to_node_1(cluster: LocalCluster) -> None:
    eventually(lambda: web_available(cluster, "corral/web:2"), timeout=180,
               what="the web example before stopping node-2")
    agent = cluster.container("agent-2")
    cluster.docker("stop", agent)
    try:
        def all_on_node_1() -> list[core_pb2.Pod]:
            pods = ready(web_pods(cluster))
            on_1 = [p for p in pods if p.spec.node_name == cluster.node(1)]
            return on_1 if len(on_1) == 3 else []

        eventually(all_on_node_1, timeout=240, what=f"3 ready web pods on {cluster.node(1)}")
    finally:
        cluster.docker("start", agent)


def test_restarting_the_apiserver_loses_nothing(cluster: LocalCluster) -> None:
    cluster.corral("apply", "-f", CONFIG)
    before = {
        "deployment": cluster.deployment("web").metadata.uid,
        "configmap": cluster.api(lambda c: c.get(core_pb2.ConfigMap, "app-config", "default"))
        .metadata.uid,
    }
    apiserver = cluster.container("apiserver")
    cluster.docker("stop", apiserver)
    cluster.docker("start", apiserver)
    after = eventually(lambda: {
        "deployment": cluster.deployment("web").metadata.uid,
        "configmap": cluster.api(lambda c: c.get(core_pb2.ConfigMap, "app-config", "default"))
        .metadata.uid,
    }, timeout=120, what="the API server back")
    assert after == before
    eventually(lambda: web_available(cluster, "corral/web:2"), timeout=180,
               what="3 available web replicas after the restart")


def test_down_and_up_bring_back_the_same_objects(cluster: LocalCluster) -> None:
    def objects() -> dict[str, str]:
        deployment = cluster.deployment("web")
        configmap = cluster.api(lambda c: c.get(core_pb2.ConfigMap, "app-config", "default"))
        secret = cluster.api(lambda c: c.get(core_pb2.Secret, "app-secret", "default"))
        return {"deployment": deployment.metadata.uid, "image":
                deployment.spec.template.spec.containers[0].image,
                "configmap": configmap.metadata.uid, "secret": secret.metadata.uid}

    before = objects()
    cluster.down()
    assert cluster.pod_containers() == [], "make down left pod containers behind"
    cluster.up()
    assert objects() == before
    eventually(lambda: web_available(cluster, "corral/web:2"), timeout=240,
               what="3 available web replicas after down and up")


def test_pods_that_fit_no_node_get_an_autoscaled_node_which_goes_when_unneeded(
    cluster: LocalCluster, tmp_path: Path,
) -> None:
    manifest = tmp_path / "zone-c.yaml"
    manifest.write_text(ZONE_C_DEPLOYMENT)
    cluster.corral("apply", "-f", str(manifest))

    def running_on_a_new_node() -> list[core_pb2.Pod]:
        pods = ready(cluster.pods("app=zone-c"))
        new_nodes = set(cluster.autoscaled_nodes())
        on_new = [p for p in pods if p.spec.node_name in new_nodes]
        return on_new if len(on_new) == 2 else []

    pods = eventually(running_on_a_new_node, timeout=240,
                      what="2 ready zone-c pods on a node the autoscaler started")
    nodes = {p.spec.node_name for p in pods}
    assert len(nodes) == 1, f"one node holds both pods: {nodes}"
    [node_name] = nodes
    assert node_name.startswith(f"{cluster.node_prefix}docker-")
    node = cluster.api(lambda c: c.get(core_pb2.Node, node_name))
    assert node.metadata.labels["topology.kubernetes.io/zone"] == "zone-c"
    # The new node's pod containers carry this cluster's name, like the compose nodes'.
    assert any(name.startswith("corral_sleep_zone-c") for name in cluster.pod_containers())

    cluster.corral("delete", "deployment", "zone-c")

    def node_gone() -> bool:
        names = {n.metadata.name for n in cluster.api(lambda c: c.list(core_pb2.Node)).items}
        return node_name not in names and node_name not in cluster.autoscaled_nodes()

    # unneeded time 15 s + delay after add 5 s + scans every 2 s, with room to drain.
    eventually(node_gone, timeout=120, what=f"the unneeded node {node_name} removed")
    assert not [n for n in cluster.pod_containers() if n.startswith("corral_sleep_zone-c")]
