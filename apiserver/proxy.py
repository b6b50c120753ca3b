"""The API server's side of `corral logs` and `corral exec`: finds the pod's
node, dials that node's agent (node.status.addresses InternalIP and
status.daemonEndpoints.kubeletEndpoint.Port) and streams through, so users
need only the API server's address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message

from apiserver.storage import Stored
from corral.api import Kind, errors, kinds
from corral.api.v1 import agent_pb2_grpc, api_pb2, core_pb2

# Reads one object from storage, as the API service does: (kind, namespace, name) ->
# (its stored bytes, the object); NotFound when there is none.
ObjectReader = Callable[[Kind, str, str], Awaitable[tuple[Stored, Message]]]

log = logging.getLogger("corral.apiserver.proxy")

_CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


def agent_address(node: core_pb2.Node) -> str:
    """host:port of a node's agent; raises FailedPrecondition when the node does not say."""
    port = node.status.daemon_endpoints.kubelet_endpoint.Port
    ip = next((a.address for a in node.status.addresses if a.type == "InternalIP"), "")
    if not ip or not port:
        raise errors.FailedPrecondition(
            f'node "{node.metadata.name}" has not reported its agent\'s address yet '
            "(status.addresses InternalIP and status.daemonEndpoints.kubeletEndpoint.Port)")
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


class AgentProxy:
    def __init__(self, read: ObjectReader) -> None:
        self._read = read
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _stub(self, address: str) -> agent_pb2_grpc.AgentStub:
        channel = self._channels.get(address)
        if channel is None:
            channel = grpc.aio.insecure_channel(address, options=_CHANNEL_OPTIONS)
            self._channels[address] = channel
        return agent_pb2_grpc.AgentStub(channel)

    async def _locate(self, namespace: str, name: str) -> tuple[str, str]:
        """(agent address, node name) of a pod."""
        namespace = namespace or "default"
        _, pod = await self._read(kinds.by_name("Pod"), namespace, name)
        assert isinstance(pod, core_pb2.Pod)
        if not pod.spec.node_name:
            raise errors.FailedPrecondition(
                f'pod "{namespace}/{name}" is not bound to a node yet: nothing runs it')
        try:
            _, node = await self._read(kinds.by_name("Node"), "", pod.spec.node_name)
        except errors.NotFound:
            raise errors.FailedPrecondition(
                f'node "{pod.spec.node_name}" of pod "{namespace}/{name}" is not registered'
            ) from None
        assert isinstance(node, core_pb2.Node)
        return agent_address(node), pod.spec.node_name

    @staticmethod
    def _mapped(error: grpc.RpcError, node: str, address: str) -> errors.ApiError:
        mapped = errors.from_rpc_error(error)
        if isinstance(mapped, errors.Unavailable):
            mapped = errors.Unavailable(
                f'cannot reach the agent of node "{node}" at {address}: {mapped.message}')
        return mapped

    async def logs(
        self, request: api_pb2.LogsRequest, context: Any
    ) -> AsyncIterator[api_pb2.LogChunk]:
        try:
            address, node = await self._locate(request.namespace, request.name)
            request.namespace = request.namespace or "default"
            call = self._stub(address).Logs(request)
            try:
                async for chunk in call:
                    yield chunk
            except grpc.RpcError as error:
                raise self._mapped(error, node, address) from None
            finally:
                call.cancel()
        except errors.ApiError as error:
            await context.abort(error.code, error.message)

    async def exec(
        self, inputs: AsyncIterator[api_pb2.ExecInput], context: Any
    ) -> AsyncIterator[api_pb2.ExecOutput]:
        iterator = inputs.__aiter__()
        try:
            try:
                first = await iterator.__anext__()
            except StopAsyncIteration:
                raise errors.Invalid("no ExecStart was sent", field="start") from None
            if not first.HasField("start"):
                raise errors.Invalid("the first message must be an ExecStart", field="start")
            first.start.namespace = first.start.namespace or "default"
            address, node = await self._locate(first.start.namespace, first.start.name)
            call = self._stub(address).Exec()

            async def forward() -> None:
                await call.write(first)
                async for message in iterator:
                    await call.write(message)
                await call.done_writing()

            pump = asyncio.create_task(forward())
            try:
                while True:
                    try:
                        output = await call.read()
                    except grpc.RpcError as error:
                        raise self._mapped(error, node, address) from None
                    if output is grpc.aio.EOF:
                        break
                    yield output
            finally:
                pump.cancel()
                with contextlib.suppress(BaseException):
                    await pump
                call.cancel()
        except errors.ApiError as error:
            await context.abort(error.code, error.message)
