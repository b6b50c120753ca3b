"""Client behaviour that needs no API server: error mapping, the server address, kind
names, and a port nobody listens on. Calls against a real server (retries included) are in
tests/integration/test_client.py."""

import socket

import grpc
import pytest

from corral.api import errors
from corral.api.v1 import core_pb2
from corral.client.client import DEFAULT_SERVER, Client, map_rpc_error, resolve_kind, server_address


class StatusRpcError(grpc.RpcError):
    """What a failed gRPC call raises: a status code and its details."""

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
    mapped = map_rpc_error(StatusRpcError(code, "pods default/web: something"), "h:1")
    assert type(mapped) is cls
    assert "pods default/web: something" in str(mapped)


def test_invalid_argument_keeps_the_field_path():
    mapped = map_rpc_error(
        StatusRpcError(grpc.StatusCode.INVALID_ARGUMENT, "spec.replicas: must be >= 0"), "h:1"
    )
    assert isinstance(mapped, errors.Invalid)
    assert mapped.field == "spec.replicas"


def test_transport_unavailable_says_the_server_cannot_be_reached():
    details = ("failed to connect to all addresses; last error: UNKNOWN: "
               "ipv4:127.0.0.1:7443: Failed to connect to remote host: Connection refused")
    mapped = map_rpc_error(StatusRpcError(grpc.StatusCode.UNAVAILABLE, details), "127.0.0.1:7443")
    assert isinstance(mapped, errors.Unavailable)
    assert str(mapped) == "cannot reach the API server at 127.0.0.1:7443: connection refused"


def test_server_side_unavailable_keeps_the_servers_message():
    error = StatusRpcError(grpc.StatusCode.UNAVAILABLE, "etcd is unavailable")
    mapped = map_rpc_error(error, "h:1")
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


def test_unknown_kinds_are_rejected_with_the_supported_list():
    with pytest.raises(KeyError, match="supported kinds"):
        resolve_kind("widgets")


def test_kinds_resolve_from_names_aliases_and_message_classes():
    assert resolve_kind("po").name == resolve_kind(core_pb2.Pod).name == "Pod"


def test_client_can_be_made_outside_an_event_loop():
    client = Client("127.0.0.1:1")
    assert client.address == "127.0.0.1:1"
