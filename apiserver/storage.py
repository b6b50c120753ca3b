"""Objects in etcd: one key per object, protobuf bytes, etcd revisions as
resourceVersions, and every write a transaction that compares the revision it
read, so no update is ever lost.

We use python3-etcd3's generated etcd stubs on a grpc.aio channel rather than
its blocking client: a blocking call would stall the API server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import grpc
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc

from corral.api import errors

log = logging.getLogger("corral.apiserver.storage")

PREFIX = b"/corral/"


@dataclass(frozen=True, slots=True)
class Stored:
    """An object's bytes as stored and the revision that last changed it."""

    key: bytes
    value: bytes
    mod_revision: int


@dataclass(frozen=True, slots=True)
class Change:
    """One event of an etcd watch: a put or a delete at a revision."""

    key: bytes
    value: bytes  # empty for deletes
    revision: int
    deleted: bool


def prefix_end(prefix: bytes) -> bytes:
    """The range end that covers every key starting with prefix."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


def _target(endpoint: str) -> str:
    """host:port from an endpoint URL (http://etcd:2379) or a bare address."""
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        return f"{parts.hostname}:{parts.port or 2379}"
    return endpoint


class Storage:
    """Async access to etcd's KV and Watch APIs.

    UNAVAILABLE from etcd becomes errors.Unavailable for the caller; the next
    call tries the next endpoint (gRPC itself reconnects with backoff).
    """

    def __init__(self, endpoints: Sequence[str], *, timeout: float = 5.0) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self.endpoints = [_target(e) for e in endpoints]
        self.timeout = timeout
        self._index = 0
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _channel(self) -> grpc.aio.Channel:
        target = self.endpoints[self._index % len(self.endpoints)]
        channel = self._channels.get(target)
        if channel is None:
            channel = grpc.aio.insecure_channel(
                target,
                options=[
                    ("grpc.max_receive_message_length", 512 * 1024 * 1024),
                    ("grpc.max_send_message_length", 16 * 1024 * 1024),
                    ("grpc.initial_reconnect_backoff_ms", 200),
                    ("grpc.max_reconnect_backoff_ms", 2000),
                ],
            )
            self._channels[target] = channel
        return channel

    def _kv(self) -> rpc_pb2_grpc.KVStub:
        return rpc_pb2_grpc.KVStub(self._channel())

    def _unavailable(self, error: grpc.aio.AioRpcError) -> errors.ApiError:
        target = self.endpoints[self._index % len(self.endpoints)]
        if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            self._index += 1  # the next call tries the next endpoint
            # Our own words, not gRPC's transport text: clients read "connection
            # refused" as "the API server is down", which this is not.
            why = (
                "it does not answer" if error.code() == grpc.StatusCode.UNAVAILABLE else "timed out"
            )
            return errors.Unavailable(f"etcd at {target} is unavailable ({why}); retry shortly")
        if error.code() == grpc.StatusCode.OUT_OF_RANGE:
            return errors.Expired(f"etcd: {error.details()}")
        return errors.Internal(f"etcd at {target} failed: {error.code().name} {error.details()}")

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()

    # ------------------------------------------------------------ reads

    async def get(self, key: bytes) -> Stored | None:
        try:
            response = await self._kv().Range(rpc_pb2.RangeRequest(key=key), timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise self._unavailable(error) from None
        if not response.kvs:
            return None
        kv = response.kvs[0]
        return Stored(kv.key, kv.value, kv.mod_revision)

    async def range(
        self, start: bytes, end: bytes, *, limit: int = 0, revision: int = 0
    ) -> tuple[list[Stored], bool, int]:
        """Keys in [start, end) at a revision (0: now): (items, more, revision)."""
        try:
            response = await self._kv().Range(
                rpc_pb2.RangeRequest(key=start, range_end=end, limit=limit, revision=revision),
                timeout=self.timeout * 6,
            )
        except grpc.aio.AioRpcError as error:
            raise self._unavailable(error) from None
        items = [Stored(kv.key, kv.value, kv.mod_revision) for kv in response.kvs]
        return items, response.more, response.header.revision

    async def revision(self) -> int:
        """The current revision of the whole store."""
        try:
            response = await self._kv().Range(
                rpc_pb2.RangeRequest(key=PREFIX, range_end=prefix_end(PREFIX), count_only=True),
                timeout=self.timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise self._unavailable(error) from None
        return int(response.header.revision)

    async def version(self) -> str:
        try:
            response = await rpc_pb2_grpc.MaintenanceStub(self._channel()).Status(
                rpc_pb2.StatusRequest(), timeout=self.timeout
            )
        except grpc.aio.AioRpcError as error:
            raise self._unavailable(error) from None
        return str(response.version)

    # ----------------------------------------------------------- writes

    async def _txn(self, request: rpc_pb2.TxnRequest) -> rpc_pb2.TxnResponse:
        try:
            return await self._kv().Txn(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise self._unavailable(error) from None

    async def create(
        self, key: bytes, value: bytes, claims: Mapping[bytes, bytes] | None = None
    ) -> int | None:
        """Writes a new key, and the claim keys with it (apiserver/allocation.py), all
        or nothing; the revision, or None when the key or a claim exists."""
        claims = claims or {}
        response = await self._txn(
            rpc_pb2.TxnRequest(
                compare=[_absent(k) for k in (key, *claims)],
                success=[_put(key, value), *(_put(k, v) for k, v in claims.items())],
            )
        )
        return int(response.header.revision) if response.succeeded else None

    async def put(self, key: bytes, value: bytes) -> int:
        """Writes key unconditionally; the new revision."""
        try:
            response = await self._kv().Put(
                rpc_pb2.PutRequest(key=key, value=value), timeout=self.timeout
            )
        except grpc.aio.AioRpcError as error:
            raise self._unavailable(error) from None
        return int(response.header.revision)

    async def update(
        self, key: bytes, value: bytes, mod_revision: int,
        claims: Mapping[bytes, bytes] | None = None, released: Iterable[bytes] = (),
    ) -> int | None:
        """Writes key if it is still at mod_revision, creating the new claim keys (which
        must be absent) and removing the released ones in the same transaction; the new
        revision, or None when someone else changed key or took a claim meanwhile."""
        claims = claims or {}
        response = await self._txn(
            rpc_pb2.TxnRequest(
                compare=[_unchanged_since(key, mod_revision), *(_absent(k) for k in claims)],
                success=[_put(key, value), *(_put(k, v) for k, v in claims.items()),
                         *(_delete(k) for k in released)],
            )
        )
        return int(response.header.revision) if response.succeeded else None

    async def delete(
        self, key: bytes, mod_revision: int, released: Iterable[bytes] = ()
    ) -> int | None:
        """Removes key if it is still at mod_revision, and the claim keys it held; the
        revision, or None."""
        response = await self._txn(
            rpc_pb2.TxnRequest(
                compare=[_unchanged_since(key, mod_revision)],
                success=[_delete(key), *(_delete(k) for k in released)],
            )
        )
        return int(response.header.revision) if response.succeeded else None

    # ------------------------------------------------------------ watch

    async def watch(self, prefix: bytes, start_revision: int) -> AsyncIterator[list[Change]]:
        """Batches of changes under prefix from start_revision on.

        Raises errors.Expired when start_revision was compacted and
        errors.Unavailable when etcd goes away; the caller resumes.
        """
        request = rpc_pb2.WatchRequest(
            create_request=rpc_pb2.WatchCreateRequest(
                key=prefix, range_end=prefix_end(prefix), start_revision=start_revision
            )
        )
        # The request stream must stay open: etcd cancels a watch whose
        # client half-closes.
        stop = asyncio.Event()

        async def requests() -> AsyncIterator[rpc_pb2.WatchRequest]:
            yield request
            await stop.wait()

        call = rpc_pb2_grpc.WatchStub(self._channel()).Watch(requests())
        try:
            async for response in call:
                if response.compact_revision:
                    raise errors.Expired(
                        f"revision {start_revision} was compacted "
                        f"(oldest kept: {response.compact_revision})"
                    )
                if response.canceled:
                    raise errors.Unavailable(f"etcd cancelled the watch: {response.cancel_reason}")
                if response.events:
                    yield [
                        Change(e.kv.key, e.kv.value, e.kv.mod_revision, e.type == e.DELETE)
                        for e in response.events
                    ]
            raise errors.Unavailable("etcd closed the watch stream")
        except grpc.aio.AioRpcError as error:
            raise self._unavailable(error) from None
        finally:
            stop.set()
            call.cancel()


def _absent(key: bytes) -> rpc_pb2.Compare:
    return rpc_pb2.Compare(key=key, target=rpc_pb2.Compare.CREATE,
                           result=rpc_pb2.Compare.EQUAL, create_revision=0)


def _put(key: bytes, value: bytes) -> rpc_pb2.RequestOp:
    return rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value))


def _delete(key: bytes) -> rpc_pb2.RequestOp:
    return rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(key=key))


def _unchanged_since(key: bytes, mod_revision: int) -> rpc_pb2.Compare:
    return rpc_pb2.Compare(
        key=key,
        target=rpc_pb2.Compare.MOD,
        result=rpc_pb2.Compare.EQUAL,
        mod_revision=mod_revision,
    )
