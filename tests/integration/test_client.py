"""The client against a real API server and etcd."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from corral import errors
from corral.client import Client
from corral.v1 import apps_pb2, core_pb2

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="function")]


def make_pod(name: str, namespace: str, **labels: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = namespace
    pod.metadata.labels.update(labels)
    pod.spec.containers.add(name="app", image="corral/busybox:1")
    return pod


async def test_crud_round_trip(client: Client, namespace: str) -> None:
    created = await client.create(make_pod("web", namespace, app="web"))
    assert created.metadata.uid and created.metadata.resource_version

    got = await client.get(core_pb2.Pod, "web", namespace)
    assert got.metadata.uid == created.metadata.uid

    got.metadata.labels["tier"] = "front"
    updated = await client.update(got)
    assert updated.metadata.labels["tier"] == "front"
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)

    updated.status.phase = "Running"
    with_status = await client.update_status(updated)
    assert with_status.status.phase == "Running"

    with pytest.raises(errors.Conflict):
        await client.update(got)  # its resourceVersion is stale now
    with pytest.raises(errors.AlreadyExists):
        await client.create(make_pod("web", namespace))

    listed = await client.list(core_pb2.Pod, namespace, label_selector="tier=front")
    assert [p.metadata.name for p in listed.items] == ["web"]
    assert listed.resource_version

    await client.delete("pods", "web", namespace, grace_period_seconds=0)
    # Pods may stay until their agent confirms; the object is marked deleted at least.
    try:
        gone = await client.get(core_pb2.Pod, "web", namespace)
        assert gone.metadata.HasField("deletion_timestamp")
    except errors.NotFound:
        pass


async def test_dry_run_create_writes_nothing(client: Client, namespace: str) -> None:
    dry = await client.create(make_pod("dry", namespace), dry_run=True)
    assert dry.metadata.name == "dry"
    with pytest.raises(errors.NotFound):
        await client.get("Pod", "dry", namespace)


async def test_list_all_follows_continue_tokens(client: Client, namespace: str) -> None:
    for i in range(12):
        cm = core_pb2.ConfigMap()
        cm.metadata.name = f"cm{i:02}"
        cm.metadata.namespace = namespace
        await client.create(cm)
    page = await client.list("cm", namespace, limit=5)
    assert len(page.items) == 5 and page.continue_
    everything = await client.list_all(core_pb2.ConfigMap, namespace, page_size=5)
    assert sorted(c.metadata.name for c in everything.items) == [f"cm{i:02}" for i in range(12)]
    assert everything.continue_ == ""


async def test_invalid_objects_raise_invalid_naming_the_field(
    client: Client, namespace: str
) -> None:
    pod = make_pod("bad", namespace)
    del pod.spec.containers[:]
    with pytest.raises(errors.Invalid) as raised:
        await client.create(pod)
    assert raised.value.field.startswith("spec")


async def test_update_with_retry_survives_concurrent_writers(
    client: Client, namespace: str
) -> None:
    cm = core_pb2.ConfigMap()
    cm.metadata.name = "counter"
    cm.metadata.namespace = namespace
    cm.data["n"] = "0"
    await client.create(cm)

    def increment(obj: Any) -> None:
        obj.data["n"] = str(int(obj.data["n"]) + 1)

    await asyncio.gather(*(
        client.update_with_retry("ConfigMap", "counter", namespace, increment, attempts=50)
        for _ in range(10)
    ))
    final = await client.get(core_pb2.ConfigMap, "counter", namespace)
    assert final.data["n"] == "10"


async def test_bind_scale_and_server_info(client: Client, namespace: str) -> None:
    await client.create(make_pod("p", namespace))
    results = await client.bind([(namespace, "p", "node-1", ""), (namespace, "nope", "node-1", "")])
    assert results[0] is None
    assert isinstance(results[1], errors.NotFound)
    assert (await client.get(core_pb2.Pod, "p", namespace)).spec.node_name == "node-1"

    deploy = apps_pb2.Deployment()
    deploy.metadata.name = "web"
    deploy.metadata.namespace = namespace
    deploy.spec.replicas = 1
    deploy.spec.selector.match_labels["app"] = "web"
    deploy.spec.template.metadata.labels["app"] = "web"
    deploy.spec.template.spec.containers.add(name="app", image="corral/busybox:1")
    await client.create(deploy)
    scaled = await client.scale("deploy", "web", namespace, replicas=3)
    assert scaled.replicas == 3
    assert (await client.scale("Deployment", "web", namespace)).replicas == 3

    info = await client.server_info()
    assert info.version and info.revision


async def test_a_stopped_server_is_reported_as_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Client(f"127.0.0.1:{port}", retries=1) as client:
        unreachable = f"cannot reach the API server at 127.0.0.1:{port}: connection refused"
        with pytest.raises(errors.Unavailable, match=unreachable):
            await client.server_info()
