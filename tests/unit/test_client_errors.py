import socket
from typing import Any

import grpc
import pytest

from corral import errors
from corral.client import DEFAULT_SERVER, Client, map_rpc_error, resolve_kind, server_address
from corral.v1 import core_pb2, meta_pb2
from tests.unit import fake_api

fake_server = fake_api.fake_server


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pod(name: str, namespace: str = "default") -> core_pb2.Pod:
    return core_pb2.Pod(metadata=meta_pb2.ObjectMeta(name=name, namespace=namespace))


def test_server_address_prefers_explicit_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("CORRAL_SERVER", raising=False)
    assert server_address() == DEFAULT_SERVER == "127.0.0.1:7443"
    monkeypatch.setenv("CORRAL_SERVER", "10.0.0.1:7443")
    assert server_address() == "10.0.0.1:7443"
    assert server_address("example:1") == "example:1"
    assert Client().address == "10.0.0.1:7443"


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.NOT_FOUND, errors.NotFound),
        (grpc.StatusCode.ALREADY_EXISTS, errors.AlreadyExists),
        (grpc.StatusCode.ABORTED, errors.Conflict),
        (grpc.StatusCode.INVALID_ARGUMENT, errors.Invalid),
        (grpc.StatusCode.FAILED_PRECONDITION, errors.FailedPrecondition),
        (grpc.StatusCode.OUT_OF_RANGE, errors.Expired),
        (grpc.StatusCode.UNAVAILABLE, errors.Unavailable),
        (grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDenied),
    ],
)
def test_status_codes_map_to_corral_exceptions_keeping_the_message(code, cls):
    mapped = map_rpc_error(FakeRpcError(code, "pods default/web: something"), "h:1")
    assert type(mapped) is cls
    assert "pods default/web: something" in str(mapped)


def test_invalid_argument_keeps_the_field_path():
    mapped = map_rpc_error(
        FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "spec.replicas: must be >= 0"), "h:1"
    )
    assert isinstance(mapped, errors.Invalid)
    assert mapped.field == "spec.replicas"


def test_transport_unavailable_says_the_server_cannot_be_reached():
    details = ("failed to connect to all addresses; last error: UNKNOWN: "
               "ipv4:127.0.0.1:7443: Failed to connect to remote host: Connection refused")
    mapped = map_rpc_error(FakeRpcError(grpc.StatusCode.UNAVAILABLE, details), "127.0.0.1:7443")
    assert isinstance(mapped, errors.Unavailable)
    assert str(mapped) == "cannot reach the API server at 127.0.0.1:7443: connection refused"


def test_server_side_unavailable_keeps_the_servers_message():
    mapped = map_rpc_error(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "etcd is unavailable"), "h:1")
    assert str(mapped) == "etcd is unavailable"


@pytest.mark.asyncio
async def test_connection_refused_raises_unavailable_naming_the_address():
    address = f"127.0.0.1:{free_port()}"
    async with Client(address, retries=1, backoff_base=0.01) as client:
        with pytest.raises(errors.Unavailable) as raised:
            await client.get("pods", "web")
        assert str(raised.value) == f"cannot reach the API server at {address}: connection refused"
        with pytest.raises(errors.Unavailable, match="cannot reach the API server"):
            async for _ in client.watch("pods"):
                pass


@pytest.mark.asyncio
async def test_calls_are_retried_while_the_server_answers_unavailable(fake_server):
    async with Client(fake_server.address, retries=3, backoff_base=0.01) as client:
        fake_server.api.unavailable_calls = 2
        created = await client.create(pod("web"))
        assert created.metadata.uid
        assert fake_server.api.calls.count("Create") == 3


@pytest.mark.asyncio
async def test_retries_give_up_after_the_configured_number(fake_server):
    async with Client(fake_server.address, retries=2, backoff_base=0.01) as client:
        fake_server.api.unavailable_calls = 10
        with pytest.raises(errors.Unavailable, match="etcd is unavailable"):
            await client.get("Pod", "web")
        assert fake_server.api.calls.count("Get") == 3


@pytest.mark.asyncio
async def test_other_errors_are_not_retried(fake_server):
    async with Client(fake_server.address, backoff_base=0.01) as client:
        with pytest.raises(errors.NotFound, match="Pod default/missing not found"):
            await client.get(core_pb2.Pod, "missing")
        assert fake_server.api.calls.count("Get") == 1


@pytest.mark.asyncio
async def test_crud_round_trip_and_pagination_against_a_fake_server(fake_server):
    async with Client(fake_server.address) as client:
        for i in range(5):
            await client.create(pod(f"p{i}"))
        got = await client.get(core_pb2.Pod, "p1")
        assert isinstance(got, core_pb2.Pod) and got.metadata.name == "p1"
        page = await client.list("pods", limit=2)
        assert len(page.items) == 2 and page.continue_
        everything = await client.list_all(core_pb2.Pod, page_size=2)
        assert sorted(p.metadata.name for p in everything.items) == [f"p{i}" for i in range(5)]
        assert everything.resource_version

        def relabel(obj: Any) -> None:
            obj.metadata.labels["app"] = "web"

        updated: Any = await client.update_with_retry("Pod", "p1", "default", relabel)
        assert updated.metadata.labels["app"] == "web"
        unchanged: Any = await client.update_with_retry("Pod", "p1", "default", lambda obj: False)
        assert unchanged.metadata.resource_version == updated.metadata.resource_version

        stale = got
        stale.metadata.labels["x"] = "y"
        with pytest.raises(errors.Conflict):
            await client.update(stale)
        with pytest.raises(errors.AlreadyExists):
            await client.create(pod("p1"))
        await client.delete("pods", "p1")
        with pytest.raises(errors.NotFound):
            await client.get("pods", "p1")


@pytest.mark.asyncio
async def test_bind_returns_none_per_bound_pod_and_the_error_of_each_failure(fake_server):
    async with Client(fake_server.address) as client:
        await client.create(pod("web"))
        results = await client.bind([("default", "web", "n1", ""), ("default", "gone", "n1", "")])
        assert results[0] is None
        assert isinstance(results[1], errors.NotFound)
        assert "gone" in str(results[1])
        assert (await client.get(core_pb2.Pod, "web")).spec.node_name == "n1"


def test_unknown_kinds_are_rejected_with_the_supported_list():
    with pytest.raises(KeyError, match="supported kinds"):
        resolve_kind("widgets")


def test_kinds_resolve_from_names_aliases_and_message_classes():
    assert resolve_kind("po").name == resolve_kind(core_pb2.Pod).name == "Pod"


def test_client_can_be_made_outside_an_event_loop():
    client = Client("127.0.0.1:1")
    assert client.address == "127.0.0.1:1"
