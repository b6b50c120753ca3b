"""Two clusters on one engine, with nodes of the same name: each agent's runtime sees
only its own cluster's containers, so neither can take the other's pods for orphans."""

from __future__ import annotations

import contextlib
import uuid

import docker
import docker.errors
import pytest

from agent.docker_runtime import LABEL_CLUSTER, DockerRuntime
from agent.runtime import PodRef, SandboxSpec
from corral.images import TEST_IMAGE

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

POD_NETWORK = "corral-pods"


async def test_same_node_name_in_two_clusters_lists_only_its_own_containers() -> None:
    node = f"scope-{uuid.uuid4().hex[:8]}"
    blue = DockerRuntime(node, pod_network=POD_NETWORK, pause_image=TEST_IMAGE,
                         cluster_name=f"blue-{node}")
    green = DockerRuntime(node, pod_network=POD_NETWORK, pause_image=TEST_IMAGE,
                          cluster_name=f"green-{node}")
    engine = docker.from_env()
    made: list[str] = []
    try:
        await blue.start(lambda ref: None)
        await green.start(lambda ref: None)
        pod = PodRef(uuid.uuid4().hex, "default", "web")
        sandbox = await blue.run_sandbox(SandboxSpec(pod, "web", grace_seconds=0))
        made.append(sandbox.id)

        assert [c.id for c in await blue.list_containers()] == [sandbox.id]
        assert [c.id for c in await blue.list_containers(pod.uid)] == [sandbox.id]
        assert await green.list_containers() == []
        assert await green.list_containers(pod.uid) == []
        labels = engine.containers.get(sandbox.id).labels
        assert labels[LABEL_CLUSTER] == f"blue-{node}"
    finally:
        for container_id in made:
            with contextlib.suppress(docker.errors.DockerException):
                engine.containers.get(container_id).remove(force=True)
        await blue.close()
        await green.close()
        engine.close()
