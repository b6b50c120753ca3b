"""The client against a real API server and etcd: every verb, and which failures it
retries (a server whose etcd is down answers UNAVAILABLE) and which it does not."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest

from corral.api import errors
from corral.api.v1 import apps_pb2, core_pb2
from corral.client.client import CHANNEL_OPTIONS, Client
from tests.apiserver_process import ApiServerProcess
from tests.etcd_container import EtcdContainer

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="function")]


def make_pod(name: str, namespace: str, **labels: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = namespace
    pod.metadata.labels.update(labels)
    pod.spec.containers.add(name="app", image="corral/busybox:1")
    return pod


def make_config_map(name: str, namespace: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap()
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    return cm


class CallLog(grpc.aio.UnaryUnaryClientInterceptor):
    """Writes down the status code of every call the client sends, retries included,
    so a test can count attempts at a real server."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, grpc.StatusCode]] = []

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any:
        call = await continuation(client_call_details, request)
        method = client_call_details.method
        if isinstance(method, bytes):
            method = method.decode()
        self.calls.append((method.rsplit("/", 1)[-1], await call.code()))
        return call

    def codes(self, method: str) -> list[grpc.StatusCode]:
        return [code for called, code in self.calls if called == method]


@contextlib.asynccontextmanager
async def logged_client(address: str, **options: Any) -> AsyncIterator[tuple[Client, CallLog]]:
    """A Client whose channel records every call in a CallLog."""
    log = CallLog()
    channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS, interceptors=[log])
    try:
        async with Client(address, channel=channel, **options) as client:
            yield client, log
    finally:
        await channel.close()


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


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


async def test_calls_are_retried_while_the_server_answers_unavailable(
    private_etcd: EtcdContainer, private_apiserver: ApiServerProcess
) -> None:
    # Up to ~20 s of retries (mean backoff 0.1 s): far more than etcd needs to come back.
    async with logged_client(
        private_apiserver.address, retries=200, backoff_base=0.05, backoff_max=0.2
    ) as (client, log):
        await asyncio.to_thread(private_etcd.stop)
        creating = asyncio.create_task(client.create(make_config_map("web", "default")))
        await eventually(lambda: len(log.codes("Create")) >= 2)
        assert not creating.done()
        await asyncio.to_thread(private_etcd.start_again)
        created = await asyncio.wait_for(creating, 20)
        assert created.metadata.uid
        codes = log.codes("Create")
        assert codes[-1] == grpc.StatusCode.OK
        assert set(codes[:-1]) == {grpc.StatusCode.UNAVAILABLE}
        assert (await client.get(core_pb2.ConfigMap, "web", "default")).metadata.uid == (
            created.metadata.uid
        )


async def test_retries_give_up_after_the_configured_number(
    private_etcd: EtcdContainer, private_apiserver: ApiServerProcess
) -> None:
    await asyncio.to_thread(private_etcd.stop)
    address = private_apiserver.address
    async with logged_client(address, retries=2, backoff_base=0.01) as (client, log):
        with pytest.raises(errors.Unavailable, match=r"etcd at \S+ is unavailable"):
            await client.get(core_pb2.ConfigMap, "web", "default")
        assert log.codes("Get") == [grpc.StatusCode.UNAVAILABLE] * 3


async def test_other_errors_are_not_retried(apiserver: ApiServerProcess, namespace: str) -> None:
    async with logged_client(apiserver.address, backoff_base=0.01) as (client, log):
        with pytest.raises(errors.NotFound, match=f"{namespace}/missing"):
            await client.get(core_pb2.ConfigMap, "missing", namespace)
        assert log.codes("Get") == [grpc.StatusCode.NOT_FOUND]


async def test_update_with_retry_writes_nothing_when_the_change_returns_false(
    client: Client, namespace: str
) -> None:
    await client.create(make_config_map("settings", namespace))

    def set_mode(obj: Any) -> None:
        obj.data["mode"] = "fast"

    updated: Any = await client.update_with_retry("ConfigMap", "settings", namespace, set_mode)
    assert updated.data["mode"] == "fast"
    unchanged: Any = await client.update_with_retry(
        "ConfigMap", "settings", namespace, lambda obj: False
    )
    assert unchanged.metadata.resource_version == updated.metadata.resource_version


async def test_a_deleted_object_is_not_found(client: Client, namespace: str) -> None:
    await client.create(make_config_map("doomed", namespace))
    await client.delete("cm", "doomed", namespace)
    with pytest.raises(errors.NotFound, match="doomed"):
        await client.get(core_pb2.ConfigMap, "doomed", namespace)
    with pytest.raises(errors.NotFound, match="doomed"):
        await client.delete("cm", "doomed", namespace)
