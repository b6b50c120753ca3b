"""What every controller here shares: the work-queue loop, owner references,
adopting and releasing dependents, time stamps and the Event recorder interface."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import prometheus_client
from google.protobuf.message import Message

from corral.api import (
    EventType,
    Selector,
    controller_ref,
    errors,
    is_deleting,
    metadata,
    object_key,
    owner_reference,
)
from corral.client import Client, WorkQueue, run_workers

CONTROLLER_UID_INDEX = "controller-uid"
OWNER_UID_INDEX = "owner-uid"
NODE_INDEX = "node"

# The kind a controller claims (pods for a ReplicaSet, ReplicaSets for a Deployment).
Dependent = TypeVar("Dependent", bound=Message)


SYNCS = prometheus_client.Counter(
    "corral_controller_syncs", "Syncs by controller and result (ok, error).",
    ["controller", "result"],
)
SYNC_SECONDS = prometheus_client.Histogram(
    "corral_controller_sync_duration_seconds", "How long one sync took.", ["controller"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10),
)
QUEUE_DEPTH = prometheus_client.Gauge(
    "corral_controller_queue_depth", "Keys waiting in a controller's work queue.", ["controller"],
)


class RetryLater(errors.ApiError):
    """A sync that did part of its work and must run again (with backoff)."""


class EventRecorder(Protocol):
    """Records an Event about an object (deduplicated, counted). Never raises, never waits."""

    def event(self, obj: Message, type_: EventType, reason: str, message: str) -> None: ...


class Controller:
    """A work queue of keys and a level-triggered sync(key), run by `workers` workers."""

    name = "controller"

    def __init__(self, client: Client, *, workers: int = 2,
                 logger: logging.Logger | None = None) -> None:
        self.client = client
        self.workers = workers
        self.log = logger or logging.getLogger(f"corral.controller.{self.name}")
        self.queue = WorkQueue(self.name, base_delay=0.05, max_delay=30.0)

    async def sync(self, key: str) -> None:
        raise NotImplementedError

    def enqueue(self, obj: Message) -> None:
        self.queue.add(object_key(obj))

    async def run(self) -> None:
        """Runs the workers until cancelled (the queue is shut down on the way out)."""
        try:
            await run_workers(self.queue, self._measured_sync, self.workers, self.log)
        finally:
            self.queue.shutdown()

    async def _measured_sync(self, key: str) -> None:
        QUEUE_DEPTH.labels(self.name).set(len(self.queue))
        started = time.monotonic()
        try:
            await self.sync(key)
        except Exception:
            SYNCS.labels(self.name, "error").inc()
            raise
        finally:
            SYNC_SECONDS.labels(self.name).observe(time.monotonic() - started)
        SYNCS.labels(self.name, "ok").inc()


def ensure_index(informer: Any, name: str, func: Callable[[Message], list[str]]) -> None:
    """Adds an index unless another controller already did (informers are shared)."""
    with contextlib.suppress(ValueError):
        informer.add_index(name, func)


# -- time -------------------------------------------------------------------------------------


def now_seconds() -> float:
    """Now, in whole seconds: condition times are kept at second resolution (as in
    Kubernetes), so a condition read back compares equal to the one written."""
    return float(int(time.time()))


async def claim(
    client: Client,
    owner: Message,
    candidates: Sequence[Dependent],
    selector: Selector,
    log: logging.Logger,
) -> list[Dependent]:
    """The candidates `owner` controls after adopting matching orphans and releasing
    owned ones that no longer match (Kubernetes' ControllerRefManager).

    Writes go through Update with the cached resourceVersion, so acting on a stale
    cache fails with Conflict instead of overwriting someone else's change.
    """
    owner_meta = metadata(owner)
    owner_key = object_key(owner)
    deleting = is_deleting(owner)
    claimed: list[Dependent] = []
    for candidate in candidates:
        ref = controller_ref(candidate)
        matches = selector.matches(metadata(candidate).labels)
        if ref is not None:
            if ref.uid != owner_meta.uid:
                continue  # someone else's
            if matches or deleting:
                claimed.append(candidate)
                continue
            released = await _release(client, candidate, owner_meta.uid)
            if released:
                log.info("event=released object=%s owner=%s reason=labels-no-longer-match",
                         object_key(candidate), owner_key)
            continue
        if not matches or deleting or is_deleting(candidate):
            continue
        adopted = await _adopt(client, candidate, owner)
        if adopted is not None:
            log.info("event=adopted object=%s owner=%s", object_key(candidate), owner_key)
            claimed.append(adopted)
    return claimed


async def _adopt(client: Client, candidate: Dependent, owner: Message) -> Dependent | None:
    changed = copy.deepcopy(candidate)
    metadata(changed).owner_references.append(owner_reference(owner))
    try:
        return await client.update(changed)
    except errors.NotFound:
        return None


async def _release(client: Client, candidate: Message, owner_uid: str) -> bool:
    changed = copy.deepcopy(candidate)
    refs = metadata(changed).owner_references
    kept = [ref for ref in refs if ref.uid != owner_uid]
    del refs[:]
    refs.extend(kept)
    try:
        await client.update(changed)
    except errors.NotFound:
        return False
    return True


async def gather_errors(coros: Iterable[Any]) -> list[BaseException]:
    """Runs the coroutines together; the exceptions they raised."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    return [result for result in results if isinstance(result, BaseException)]
