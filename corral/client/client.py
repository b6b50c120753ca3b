"""The one client of the corral API, used by every service and the CLI.

Each call has a deadline (`timeout`), is retried with exponential backoff and
jitter when the server cannot be reached (UNAVAILABLE, and only then), and
raises `corral.errors` exceptions, never `grpc.RpcError`.

Retrying writes: gRPC cannot tell whether an UNAVAILABLE request reached the
server, so Create, Update, Delete and Bind are retried like reads. The price is
that a retried write whose first attempt did land reports what the second one
found: Create gets AlreadyExists, Update gets Conflict (the resourceVersion
moved on, by our own write), Delete gets NotFound, a binding gets "already
bound". Callers handle those anyway (re-read, compare, move on), so this is
safer than giving up at the first hiccup of a restarting server.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar, cast, overload

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message

from corral.api import errors, kinds
from corral.api.v1 import api_pb2, api_pb2_grpc

DEFAULT_SERVER = "127.0.0.1:7443"
SERVER_ENV = "CORRAL_SERVER"

# 256 MiB: a list of 30,000 pods is tens of MiB.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024

CHANNEL_OPTIONS: list[tuple[str, int | str]] = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Pings keep quiet watches alive through NATs and notice a dead server; the
    # server must accept pings this often (grpc.http2.min_ping_interval_without_data_ms).
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Reconnect quickly after the API server restarts (gRPC's default backoff grows to 2 min).
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5_000),
    ("grpc.primary_user_agent", "corral-client"),
]

# Substrings of gRPC's own UNAVAILABLE details that mean "no connection", as
# opposed to the server answering UNAVAILABLE (its storage is down).
_TRANSPORT_FAILURES = {
    "connection refused": "connection refused",
    "failed to connect": "connection failed",
    "dns resolution failed": "the host name does not resolve",
    "socket closed": "the connection was closed",
    "connection reset": "the connection was reset",
    "broken pipe": "the connection was closed",
    "end of tcp stream": "the connection was closed",
    "goaway": "the server is shutting down",
}

# "Pod", "pods", "po", a message class (core_pb2.Pod) or a kinds.Kind.
KindArg = str | type[Message] | kinds.Kind
M = TypeVar("M", bound=Message)
T = TypeVar("T")


def server_address(explicit: str | None = None) -> str:
    """Where the API server is: `explicit`, else $CORRAL_SERVER, else DEFAULT_SERVER."""
    if explicit:
        return explicit
    return os.environ.get(SERVER_ENV) or DEFAULT_SERVER


def resolve_kind(kind: KindArg) -> kinds.Kind:
    """The kind for "Pod", "pods", "po", a message class or a Kind."""
    if isinstance(kind, kinds.Kind):
        return kind
    if isinstance(kind, str):
        return kinds.lookup(kind)
    return kinds.by_full_name(kind.DESCRIPTOR.full_name)



def map_rpc_error(error: grpc.RpcError, address: str) -> errors.ApiError:
    """The corral exception for a failed call, saying so when the server was never reached."""
    mapped = errors.from_rpc_error(error)
    if isinstance(mapped, errors.Unavailable):
        details = mapped.message.lower()
        for needle, reason in _TRANSPORT_FAILURES.items():
            if needle in details:
                unreachable = errors.Unavailable(
                    f"cannot reach the API server at {address}: {reason}"
                )
                unreachable.__cause__ = mapped
                return unreachable
    if isinstance(mapped, errors.DeadlineExceeded):
        mapped.message = f"the API server at {address} did not answer in time: {mapped.message}"
        mapped.args = (mapped.message,)
    return mapped


@dataclass
class ListResult(Generic[M]):
    items: list[M]
    # The revision the list was read at: watch from here.
    resource_version: str
    # Non-empty when more pages follow.
    continue_: str


@dataclass
class WatchEvent:
    # ADDED, MODIFIED, DELETED or BOOKMARK.
    type: str
    # None for BOOKMARK.
    object: Message | None
    resource_version: str


class Client:
    """An asyncio client of one API server. Use `async with Client() as client:`.

    The channel is opened on first use, in the running event loop.
    """

    def __init__(
        self,
        server: str | None = None,
        *,
        timeout: float = 10.0,
        retries: int = 5,
        channel: grpc.aio.Channel | None = None,
        backoff_base: float = 0.1,
        backoff_max: float = 2.0,
    ) -> None:
        self.address = server_address(server)
        self.timeout = timeout
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._channel = channel
        self._owns_channel = channel is None
        self._stub: api_pb2_grpc.ApiStub | None = None

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def stub(self) -> api_pb2_grpc.ApiStub:
        if self._stub is None:
            if self._channel is None:
                self._channel = grpc.aio.insecure_channel(self.address, options=CHANNEL_OPTIONS)
            self._stub = api_pb2_grpc.ApiStub(self._channel)
        return self._stub

    async def close(self) -> None:
        if self._channel is not None and self._owns_channel:
            await self._channel.close()
        self._channel = None
        self._stub = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _backoff_delay(self, attempt: int) -> float:
        # "Full jitter": spreads the retries of many clients after a server restart.
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))

    async def _call(self, method: Callable[..., Awaitable[T]], request: Message) -> T:
        """One unary call with deadline, retries on UNAVAILABLE and mapped errors."""
        attempt = 0
        while True:
            try:
                return await method(request, timeout=self.timeout)
            except grpc.RpcError as error:
                mapped = map_rpc_error(error, self.address)
            if not isinstance(mapped, errors.Unavailable) or attempt >= self.retries:
                raise mapped
            await asyncio.sleep(self._backoff_delay(attempt))
            attempt += 1

    # -- verbs ---------------------------------------------------------------------------------

    async def create(self, obj: M, *, dry_run: bool = False) -> M:
        response = await self._call(
            self.stub.Create, api_pb2.CreateRequest(object=kinds.pack(obj), dry_run=dry_run)
        )
        return _same_kind(obj, response.object)

    @overload
    async def get(self, kind: type[M], name: str, namespace: str = "") -> M: ...
    @overload
    async def get(self, kind: str | kinds.Kind, name: str, namespace: str = "") -> Message: ...

    async def get(self, kind: KindArg, name: str, namespace: str = "") -> Message:
        """One object; a namespaced kind's namespace defaults to "default".

        Pass the message class (core_pb2.Pod) to get a typed result."""
        resolved = resolve_kind(kind)
        response = await self._call(
            self.stub.Get,
            api_pb2.GetRequest(
                kind=resolved.name, name=name, namespace=_namespace_for(resolved, namespace)
            ),
        )
        return kinds.unpack(response.object)

    @overload
    async def list(
        self, kind: type[M], namespace: str = "", *, label_selector: str = "",
        field_selector: str = "", limit: int = 0, continue_: str = "",
    ) -> ListResult[M]: ...
    @overload
    async def list(
        self, kind: str | kinds.Kind, namespace: str = "", *, label_selector: str = "",
        field_selector: str = "", limit: int = 0, continue_: str = "",
    ) -> ListResult[Message]: ...

    async def list(
        self,
        kind: KindArg,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
    ) -> ListResult[Any]:
        """One page of objects; namespace "" means all namespaces."""
        resolved = resolve_kind(kind)
        response = await self._call(
            self.stub.List,
            api_pb2.ListRequest(
                kind=resolved.name,
                namespace=namespace if resolved.namespaced else "",
                label_selector=label_selector,
                field_selector=field_selector,
                limit=limit,
                **{"continue": continue_},
            ),
        )
        return ListResult[Message](
            items=[kinds.unpack(item) for item in response.items],
            resource_version=response.resource_version,
            continue_=getattr(response, "continue"),
        )

    @overload
    async def list_all(
        self, kind: type[M], namespace: str = "", *, label_selector: str = "",
        field_selector: str = "", page_size: int = 500,
    ) -> ListResult[M]: ...
    @overload
    async def list_all(
        self, kind: str | kinds.Kind, namespace: str = "", *, label_selector: str = "",
        field_selector: str = "", page_size: int = 500,
    ) -> ListResult[Message]: ...

    async def list_all(
        self,
        kind: KindArg,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = 500,
    ) -> ListResult[Any]:
        """Every matching object, following continue tokens; the resourceVersion is the first
        page's (the server reads all pages at that revision)."""
        first = await self.list(
            kind, namespace, label_selector=label_selector, field_selector=field_selector,
            limit=page_size,
        )
        items = first.items
        token = first.continue_
        while token:
            page = await self.list(
                kind, namespace, label_selector=label_selector, field_selector=field_selector,
                limit=page_size, continue_=token,
            )
            items.extend(page.items)
            token = page.continue_
        return ListResult[Message](
            items=items, resource_version=first.resource_version, continue_=""
        )

    async def update(self, obj: M, *, dry_run: bool = False) -> M:
        """Replaces metadata and spec; Conflict if obj's resourceVersion is stale."""
        response = await self._call(
            self.stub.Update, api_pb2.UpdateRequest(object=kinds.pack(obj), dry_run=dry_run)
        )
        return _same_kind(obj, response.object)

    async def update_status(self, obj: M) -> M:
        """Replaces status only."""
        response = await self._call(
            self.stub.UpdateStatus, api_pb2.UpdateRequest(object=kinds.pack(obj))
        )
        return _same_kind(obj, response.object)

    async def delete(
        self,
        kind: KindArg,
        name: str,
        namespace: str = "",
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str = "",
        uid: str = "",
        resource_version: str = "",
        dry_run: bool = False,
    ) -> Message:
        """Marks an object deleted; returns it as the server left it."""
        resolved = resolve_kind(kind)
        request = api_pb2.DeleteRequest(
            kind=resolved.name,
            name=name,
            namespace=_namespace_for(resolved, namespace),
            propagation_policy=propagation_policy,
            uid=uid,
            resource_version=resource_version,
            dry_run=dry_run,
        )
        if grace_period_seconds is not None:
            request.grace_period_seconds = grace_period_seconds
        response = await self._call(self.stub.Delete, request)
        return kinds.unpack(response.object)

    async def watch(
        self,
        kind: KindArg,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str = "",
        allow_bookmarks: bool = False,
    ) -> AsyncIterator[WatchEvent]:
        """Changes after `resource_version` (empty: from now), until the server ends the stream.

        Not retried: a watcher re-watches from the last resourceVersion it saw (the
        Informer does). Raises Expired when that revision was compacted: relist.
        """
        resolved = resolve_kind(kind)
        call = self.stub.Watch(
            api_pb2.WatchRequest(
                kind=resolved.name,
                namespace=namespace if resolved.namespaced else "",
                label_selector=label_selector,
                field_selector=field_selector,
                resource_version=resource_version,
                allow_bookmarks=allow_bookmarks,
            )
        )
        try:
            while True:
                try:
                    batch = await call.read()
                except grpc.RpcError as error:
                    raise map_rpc_error(error, self.address) from None
                if batch is grpc.aio.EOF:
                    return
                assert isinstance(batch, api_pb2.WatchEvents)
                for event in batch.events:
                    yield WatchEvent(
                        type=event.type,
                        object=kinds.unpack(event.object) if event.HasField("object") else None,
                        resource_version=event.resource_version,
                    )
        finally:
            call.cancel()

    async def bind(
        self, bindings: Sequence[tuple[str, str, str, str]]
    ) -> builtins.list[errors.ApiError | None]:
        """Binds pods to nodes: (namespace, name, node_name, uid) each; per binding, None when
        bound or the error that binding failed with."""
        request = api_pb2.BindRequest(
            bindings=[
                api_pb2.Binding(namespace=namespace, name=name, node_name=node_name, uid=uid)
                for namespace, name, node_name, uid in bindings
            ]
        )
        response = await self._call(self.stub.Bind, request)
        return [
            None if result.code == 0 else errors.from_status(_status_code(result.code),
                                                             result.message)
            for result in response.results
        ]

    async def scale(
        self, kind: KindArg, name: str, namespace: str = "", replicas: int | None = None
    ) -> api_pb2.ScaleResponse:
        """Reads the replicas of a Deployment or ReplicaSet, and sets them when given."""
        resolved = resolve_kind(kind)
        request = api_pb2.ScaleRequest(
            kind=resolved.name, name=name, namespace=_namespace_for(resolved, namespace)
        )
        if replicas is not None:
            request.replicas = replicas
        return await self._call(self.stub.Scale, request)

    async def server_info(self) -> api_pb2.ServerInfo:
        return await self._call(self.stub.GetServerInfo, api_pb2.ServerInfoRequest())

    # -- helpers -------------------------------------------------------------------------------

    async def update_with_retry(
        self,
        kind: KindArg,
        name: str,
        namespace: str,
        mutate: Callable[[Message], bool | None],
        *,
        status: bool = False,
        attempts: int = 10,
    ) -> Message:
        """Read-modify-write: gets the object, lets `mutate` change it in place, writes it.

        `mutate` returns False to write nothing (the object is returned as read).
        On Conflict the whole cycle repeats with a fresh read, up to `attempts` times.
        With status=True the write is UpdateStatus.
        """
        for attempt in range(attempts):
            current = await self.get(kind, name, namespace)
            changed = copy.deepcopy(current)
            if mutate(changed) is False:
                return current
            try:
                if status:
                    return await self.update_status(changed)
                return await self.update(changed)
            except errors.Conflict:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")


def _same_kind(sent: M, answer: any_pb2.Any) -> M:
    """The object the server answered a write of `sent` with: always of `sent`'s kind
    (Create, Update and UpdateStatus return the object as stored)."""
    return cast(M, kinds.unpack(answer))


def _namespace_for(kind: kinds.Kind, namespace: str) -> str:
    if not kind.namespaced:
        return ""
    return namespace or "default"


_STATUS_BY_VALUE = {status.value[0]: status for status in grpc.StatusCode}


def _status_code(value: int) -> grpc.StatusCode:
    return _STATUS_BY_VALUE.get(value, grpc.StatusCode.UNKNOWN)
