"""Events: short notes on objects ("Scheduled", "FailedScheduling", "Preempted"...) that
`corral describe` shows, written by services in the background.

`EventRecorder.event(obj, type, reason, message)` never blocks and never fails: it puts
the event on a bounded queue that `run()` writes out. Like Kubernetes' recorder it
- deduplicates: the same (object, type, reason, message) again updates the existing
  Event's count and lastTimestamp instead of creating another;
- rate-limits: a token bucket per object (burst 25, then one per 5 minutes) keeps one
  object in a loop from flooding the API, and a global bucket (`qps`, `burst`) bounds
  what a busy service adds to the API server's load. Events over either limit, or
  beyond a full queue, are dropped and counted (`dropped`): events are best-effort.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import Message

from corral.api import NORMAL, WARNING, EventType, errors, kinds, metadata
from corral.api.v1 import core_pb2, meta_pb2
from corral.client.client import Client

# NORMAL and WARNING are the API's event types (corral.api.vocabulary), kept importable from
# here, where the recorder's callers have always found them.
__all__ = ["NORMAL", "WARNING", "EventRecorder", "TokenBucket"]

_log = logging.getLogger("corral.events")


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float], now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.updated = now

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class _Pending:
    key: tuple[str, ...]
    involved: core_pb2.ObjectReference
    type: EventType
    reason: str
    message: str
    at: float  # wall clock seconds


class EventRecorder:
    def __init__(
        self,
        client: Client,
        component: str,
        *,
        host: str = "",
        qps: float = 20.0,
        burst: int = 100,
        per_object_burst: int = 25,
        per_object_refill_seconds: float = 300.0,
        max_pending: int = 1000,
        remembered: int = 4096,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.clock = clock
        self.log = logger or _log
        self._global = TokenBucket(qps, burst, clock, clock())
        self._per_object_burst = per_object_burst
        self._per_object_rate = 1.0 / per_object_refill_seconds
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        # (object, type, reason, message) → the Event last written for it.
        self._written: OrderedDict[tuple[str, ...], core_pb2.Event] = OrderedDict()
        self._remembered = remembered
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(max_pending)
        self.dropped = 0

    def event(self, obj: Message, type_: EventType, reason: str, message: str) -> None:
        """Records an event about `obj` (any corral object) in the background."""
        meta = metadata(obj)
        kind = kinds.of_message(obj)
        object_id = f"{kind.name}/{meta.namespace}/{meta.name}/{meta.uid}"
        if not self._object_bucket(object_id).take() or not self._global.take():
            self.dropped += 1
            return
        involved = core_pb2.ObjectReference(
            kind=kind.name, namespace=meta.namespace, name=meta.name, uid=meta.uid,
            api_version=kind.api_version, resource_version=meta.resource_version,
        )
        pending = _Pending((object_id, type_, reason, message), involved, type_, reason,
                           message, time.time())
        try:
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            self.dropped += 1

    def _object_bucket(self, object_id: str) -> TokenBucket:
        bucket = self._buckets.get(object_id)
        if bucket is None:
            bucket = TokenBucket(self._per_object_rate, self._per_object_burst, self.clock,
                                 self.clock())
            self._buckets[object_id] = bucket
            if len(self._buckets) > self._remembered:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(object_id)
        return bucket

    async def run(self) -> None:
        """Writes queued events until cancelled."""
        while True:
            pending = await self._queue.get()
            try:
                await self._write(pending)
            except errors.ApiError as error:
                self.log.warning(
                    "event=event_write_failed object=%s/%s reason=%s error=%s: %s",
                    pending.involved.namespace, pending.involved.name, pending.reason,
                    type(error).__name__, error,
                )

    async def flush(self, timeout: float = 5.0) -> None:
        """Waits (up to `timeout`) until every queued event was written; for tests/shutdown."""
        deadline = self.clock() + timeout
        while not self._queue.empty() and self.clock() < deadline:
            await asyncio.sleep(0.01)

    async def _write(self, pending: _Pending) -> None:
        previous = self._written.get(pending.key)
        if previous is not None:
            updated = core_pb2.Event()
            updated.CopyFrom(previous)
            updated.count += 1
            updated.last_timestamp.FromNanoseconds(int(pending.at * 1e9))
            with contextlib.suppress(errors.NotFound, errors.Conflict):
                self._remember(pending.key, await self.client.update(updated))
                return
        event = core_pb2.Event(
            metadata=meta_pb2.ObjectMeta(
                name=f"{pending.involved.name}.{secrets.token_hex(8)}",
                namespace=pending.involved.namespace or "default",
            ),
            involved_object=pending.involved,
            reason=pending.reason,
            message=pending.message,
            type=pending.type,
            count=1,
            source=core_pb2.EventSource(component=self.component, host=self.host),
            reporting_component=self.component,
            reporting_instance=self.host,
        )
        event.first_timestamp.FromNanoseconds(int(pending.at * 1e9))
        event.last_timestamp.CopyFrom(event.first_timestamp)
        self._remember(pending.key, await self.client.create(event))

    def _remember(self, key: tuple[str, ...], event: core_pb2.Event) -> None:
        self._written[key] = event
        self._written.move_to_end(key)
        if len(self._written) > self._remembered:
            self._written.popitem(last=False)
