"""Events the controllers record about objects, deduplicated with counts.

The controllers call `recorder.event(obj, type, reason, message)`, which never
waits and never fails; a background task writes them. The same (object, type,
reason, message) seen again bumps the count and lastTimestamp of the Event it
wrote before instead of making another, as Kubernetes' event correlator does.

(Written for the controller manager while no shared recorder existed in
corral/; it should move to corral/events.py once one does.)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import socket
import time
from collections import OrderedDict

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from corral import errors, kinds
from corral.client import Client, object_key
from corral.v1 import core_pb2

# How many distinct events are remembered for deduplication.
CACHE_SIZE = 4096
# Events waiting to be written beyond this are dropped (with a log line): a
# controller must never block on telling people what it did.
MAX_PENDING = 10_000

_DedupKey = tuple[str, str, str, str, str, str]


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(time.time_ns())
    return stamp


class EventRecorder:
    def __init__(self, client: Client, component: str, *, host: str | None = None,
                 logger: logging.Logger | None = None) -> None:
        self.client = client
        self.component = component
        self.host = host if host is not None else socket.gethostname()
        self.log = logger or logging.getLogger("corral.controller.events")
        self._pending: asyncio.Queue[tuple[Message, str, str, str]] = asyncio.Queue(MAX_PENDING)
        # dedup key -> (namespace, name) of the Event written for it
        self._written: OrderedDict[_DedupKey, tuple[str, str]] = OrderedDict()

    def event(self, obj: Message, type_: str, reason: str, message: str) -> None:
        self.log.info("event=%s object=%s type=%s message=%r", reason, object_key(obj), type_,
                      message)
        try:
            self._pending.put_nowait((copy.deepcopy(obj), type_, reason, message))
        except asyncio.QueueFull:
            self.log.warning("event dropped (too many pending) reason=%s object=%s", reason,
                             object_key(obj))

    async def run(self) -> None:
        """Writes recorded events until cancelled."""
        while True:
            obj, type_, reason, message = await self._pending.get()
            try:
                await self._write(obj, type_, reason, message)
            except errors.ApiError as error:
                self.log.warning("could not write event reason=%s object=%s error=%s", reason,
                                 object_key(obj), error)

    async def flush(self, timeout: float = 5.0) -> None:
        """Waits (up to timeout) until everything recorded so far was written."""
        deadline = time.monotonic() + timeout
        while not self._pending.empty() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def _write(self, obj: Message, type_: str, reason: str, message: str) -> None:
        kind = kinds.of_message(obj)
        meta = obj.metadata  # type: ignore[attr-defined]
        namespace = meta.namespace or "default"
        key: _DedupKey = (kind.name, meta.namespace, meta.name, meta.uid, type_ + reason, message)
        written = self._written.get(key)
        if written is not None:
            self._written.move_to_end(key)
            if await self._bump(*written):
                return
        event = core_pb2.Event(reason=reason, message=message, type=type_, count=1,
                               reporting_component=self.component, reporting_instance=self.host)
        event.metadata.namespace = namespace
        event.metadata.generate_name = f"{meta.name}."
        ref = event.involved_object
        ref.kind = kind.name
        ref.api_version = kind.api_version
        ref.name = meta.name
        ref.namespace = meta.namespace
        ref.uid = meta.uid
        ref.resource_version = meta.resource_version
        event.source.component = self.component
        event.source.host = self.host
        now = _now()
        event.first_timestamp.CopyFrom(now)
        event.last_timestamp.CopyFrom(now)
        created = await self.client.create(event)
        self._written[key] = (created.metadata.namespace, created.metadata.name)
        while len(self._written) > CACHE_SIZE:
            self._written.popitem(last=False)

    async def _bump(self, namespace: str, name: str) -> bool:
        """Counts one more occurrence on an Event written before; False if it is gone."""

        def more(fresh: Message) -> None:
            assert isinstance(fresh, core_pb2.Event)
            fresh.count += 1
            fresh.last_timestamp.CopyFrom(_now())

        with contextlib.suppress(errors.NotFound):
            await self.client.update_with_retry(core_pb2.Event, name, namespace, more)
            return True
        return False
