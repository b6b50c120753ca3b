"""corral/client/events.py's EventRecorder (used by the scheduler): dedup, counts, rate limits."""

from __future__ import annotations

import asyncio
import copy
from typing import TypeVar

import pytest
from google.protobuf.message import Message

from corral.api import errors
from corral.api.v1 import core_pb2
from corral.client import WARNING, Client, EventRecorder
from scheduler.testing import make_pod

M = TypeVar("M", bound=Message)


class RecordingClient(Client):
    """A Client that keeps Events in memory; the recorder only creates and updates, so it
    never opens a connection."""

    def __init__(self) -> None:
        super().__init__("in-memory")
        self.events: dict[str, core_pb2.Event] = {}
        self.writes = 0

    async def create(self, obj: M, *, dry_run: bool = False) -> M:
        assert isinstance(obj, core_pb2.Event)
        self.writes += 1
        if obj.metadata.name in self.events:
            raise errors.AlreadyExists(obj.metadata.name)
        stored = copy.deepcopy(obj)
        stored.metadata.resource_version = "1"
        self.events[obj.metadata.name] = stored
        return stored

    async def update(self, obj: M, *, dry_run: bool = False) -> M:
        assert isinstance(obj, core_pb2.Event)
        self.writes += 1
        stored = copy.deepcopy(obj)
        stored.metadata.resource_version = str(int(obj.metadata.resource_version) + 1)
        self.events[obj.metadata.name] = stored
        return stored


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def drain(recorder: EventRecorder) -> None:
    task = asyncio.create_task(recorder.run())
    await recorder.flush(1)
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.asyncio
async def test_repeated_event_updates_one_event_with_a_count() -> None:
    client = RecordingClient()
    recorder = EventRecorder(client, "corral-scheduler", clock=Clock())
    pod = make_pod("web-1")
    for _ in range(3):
        recorder.event(pod, WARNING, "FailedScheduling", "0/1 nodes are available: ...")
        await drain(recorder)
    recorder.event(pod, WARNING, "FailedScheduling", "another message")
    await drain(recorder)
    counts = sorted((e.message, e.count) for e in client.events.values())
    assert counts == [("0/1 nodes are available: ...", 3), ("another message", 1)]
    event = next(iter(client.events.values()))
    assert event.involved_object.name == "web-1"
    assert event.involved_object.kind == "Pod"
    assert event.source.component == "corral-scheduler"
    assert event.metadata.namespace == "default"


@pytest.mark.asyncio
async def test_one_object_cannot_flood_and_its_budget_refills_slowly() -> None:
    client = RecordingClient()
    clock = Clock()
    recorder = EventRecorder(client, "c", per_object_burst=5, per_object_refill_seconds=60,
                             clock=clock)
    pod = make_pod("loop")
    for i in range(20):
        recorder.event(pod, WARNING, "Failed", f"attempt {i}")
    await drain(recorder)
    assert (client.writes, recorder.dropped) == (5, 15)
    clock.now += 60
    recorder.event(pod, WARNING, "Failed", "later")
    recorder.event(pod, WARNING, "Failed", "later still")
    await drain(recorder)
    assert (client.writes, recorder.dropped) == (6, 16)


@pytest.mark.asyncio
async def test_global_rate_limit_bounds_events_across_objects() -> None:
    client = RecordingClient()
    recorder = EventRecorder(client, "c", qps=1, burst=10, clock=Clock())
    for i in range(50):
        recorder.event(make_pod(f"p{i}"), "Normal", "Scheduled", "ok")
    await drain(recorder)
    assert client.writes == 10
    assert recorder.dropped == 40
