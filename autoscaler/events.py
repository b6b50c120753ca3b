"""Events about autoscaler decisions (SuccessfulRescale, TriggeredScaleUp, ...).

`Recorder.event` has the shape of the EventRecorder every corral controller
takes (see controller/base.py): it never raises and never waits; the write
happens in a background task. A repeat of the same (object, type, reason,
message) within an hour bumps the count of the existing Event instead of
making a new one, as Kubernetes' recorder does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Protocol

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from corral import errors, kinds
from corral.client import Client, object_key
from corral.v1 import core_pb2

# How long a repeat of an event counts up the existing one.
_DEDUP_SECONDS = 3600.0

_log = logging.getLogger("corral.autoscaler.events")


class EventRecorder(Protocol):
    def event(self, obj: Message, type_: str, reason: str, message: str) -> None: ...


class Recorder:
    def __init__(self, client: Client, component: str, host: str | None = None) -> None:
        self.client = client
        self.component = component
        self.host = host or os.uname().nodename
        # (involved key, type, reason, message) → (event namespace/name, first seen)
        self._seen: dict[tuple[str, str, str, str], tuple[str, str, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def event(self, obj: Message, type_: str, reason: str, message: str) -> None:
        _log.info("event=%s object=%s type=%s message=%r", reason, object_key(obj), type_, message)
        try:
            task = asyncio.get_running_loop().create_task(
                self._write(obj, type_, reason, message)
            )
        except RuntimeError:
            return  # no loop (a unit test calling sync code): the log line is the record
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Waits for the writes in flight (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _write(self, obj: Message, type_: str, reason: str, message: str) -> None:
        meta = obj.metadata  # type: ignore[attr-defined]
        kind = kinds.of_message(obj)
        namespace = meta.namespace or "default"
        now = time.time()
        stamp = Timestamp()
        stamp.FromNanoseconds(int(now * 1e9))
        dedup_key = (object_key(obj), type_, reason, message)
        seen = self._seen.get(dedup_key)
        try:
            if seen is not None and now - seen[2] < _DEDUP_SECONDS:
                def bump(event: Message) -> None:
                    event.count += 1  # type: ignore[attr-defined]
                    event.last_timestamp.CopyFrom(stamp)  # type: ignore[attr-defined]

                await self.client.update_with_retry("Event", seen[1], seen[0], bump)
                return
        except errors.NotFound:
            pass  # expired or deleted: write a new one
        except errors.ApiError as error:
            _log.warning("event write failed reason=%s object=%s error=%s",
                         reason, object_key(obj), error)
            return
        event = core_pb2.Event(
            reason=reason, message=message, type=type_, count=1,
            reporting_component=self.component, reporting_instance=self.host,
        )
        event.metadata.namespace = namespace
        event.metadata.name = f"{meta.name}.{time.time_ns():x}"
        involved = event.involved_object
        involved.kind = kind.name
        involved.api_version = kind.api_version
        involved.namespace = meta.namespace
        involved.name = meta.name
        involved.uid = meta.uid
        involved.resource_version = meta.resource_version
        event.source.component = self.component
        event.source.host = self.host
        event.first_timestamp.CopyFrom(stamp)
        event.last_timestamp.CopyFrom(stamp)
        try:
            await self.client.create(event)
        except errors.ApiError as error:
            _log.warning("event write failed reason=%s object=%s error=%s",
                         reason, object_key(obj), error)
            return
        self._seen[dedup_key] = (namespace, event.metadata.name, now)
        if len(self._seen) > 4096:
            cutoff = now - _DEDUP_SECONDS
            self._seen = {k: v for k, v in self._seen.items() if v[2] > cutoff}
