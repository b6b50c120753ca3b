"""What every controller here shares: the work-queue loop, owner references,
adopting and releasing dependents, time stamps and the Event recorder interface."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import prometheus_client
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from corral.api import errors, kinds
from corral.api.selectors import Selector
from corral.api.v1 import meta_pb2
from corral.client.client import Client, object_key
from corral.client.workqueue import WorkQueue, run_workers

CONTROLLER_UID_INDEX = "controller-uid"
OWNER_UID_INDEX = "owner-uid"
NODE_INDEX = "node"


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

    def event(self, obj: Message, type_: str, reason: str, message: str) -> None: ...


class LogOnlyRecorder:
    """A recorder that only logs: for tests of a controller on its own."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("corral.controller.events")
        self.recorded: list[tuple[str, str, str, str]] = []

    def event(self, obj: Message, type_: str, reason: str, message: str) -> None:
        key = object_key(obj)
        self.recorded.append((key, type_, reason, message))
        self.log.info("event=%s object=%s type=%s message=%r", reason, key, type_, message)


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


def to_timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromSeconds(int(seconds))
    return stamp


def seconds(stamp: Timestamp) -> float:
    return stamp.ToNanoseconds() / 1e9


# -- owner references ------------------------------------------------------------------------


def controller_ref(obj: Message) -> meta_pb2.OwnerReference | None:
    """The reference to the object's controlling owner, if any."""
    for ref in obj.metadata.owner_references:  # type: ignore[attr-defined]
        if ref.controller:
            return ref  # type: ignore[no-any-return]
    return None


def owner_reference(owner: Message) -> meta_pb2.OwnerReference:
    """A controlling reference to `owner` that blocks its foreground deletion."""
    kind = kinds.of_message(owner)
    meta = owner.metadata  # type: ignore[attr-defined]
    return meta_pb2.OwnerReference(
        api_version=kind.api_version, kind=kind.name, name=meta.name, uid=meta.uid,
        controller=True, block_owner_deletion=True,
    )


def is_deleting(obj: Message) -> bool:
    return obj.metadata.HasField("deletion_timestamp")  # type: ignore[attr-defined, no-any-return]


async def claim(
    client: Client,
    owner: Message,
    candidates: Sequence[Message],
    selector: Selector,
    log: logging.Logger,
) -> list[Message]:
    """The candidates `owner` controls after adopting matching orphans and releasing
    owned ones that no longer match (Kubernetes' ControllerRefManager).

    Writes go through Update with the cached resourceVersion, so acting on a stale
    cache fails with Conflict instead of overwriting someone else's change.
    """
    owner_meta = owner.metadata  # type: ignore[attr-defined]
    owner_key = object_key(owner)
    deleting = is_deleting(owner)
    claimed: list[Message] = []
    for candidate in candidates:
        ref = controller_ref(candidate)
        labels = candidate.metadata.labels  # type: ignore[attr-defined]
        matches = selector.matches(labels)
        if ref is not None:
            if ref.uid != owner_meta.uid:
                continue  # someone else's
            if matches or deleting:
                claimed.append(candidate)
                continue
            released = await _release(client, candidate, owner_meta.uid)
            if released:
                log.info("released object=%s owner=%s reason=labels-no-longer-match",
                         object_key(candidate), owner_key)
            continue
        if not matches or deleting or is_deleting(candidate):
            continue
        adopted = await _adopt(client, candidate, owner)
        if adopted is not None:
            log.info("adopted object=%s owner=%s", object_key(candidate), owner_key)
            claimed.append(adopted)
    return claimed


async def _adopt(client: Client, candidate: Message, owner: Message) -> Message | None:
    changed = copy.deepcopy(candidate)
    changed.metadata.owner_references.append(owner_reference(owner))  # type: ignore[attr-defined]
    try:
        return await client.update(changed)
    except errors.NotFound:
        return None


async def _release(client: Client, candidate: Message, owner_uid: str) -> bool:
    changed = copy.deepcopy(candidate)
    refs = changed.metadata.owner_references  # type: ignore[attr-defined]
    kept = [ref for ref in refs if ref.uid != owner_uid]
    del refs[:]
    refs.extend(kept)
    try:
        await client.update(changed)
    except errors.NotFound:
        return False
    return True


def index_by_controller_uid(obj: Message) -> list[str]:
    ref = controller_ref(obj)
    return [ref.uid] if ref is not None else []


def index_by_owner_uid(obj: Message) -> list[str]:
    return [ref.uid for ref in obj.metadata.owner_references]  # type: ignore[attr-defined]


def index_by_node(obj: Message) -> list[str]:
    node: str = obj.spec.node_name  # type: ignore[attr-defined]
    return [node] if node else []


async def gather_errors(coros: Iterable[Any]) -> list[BaseException]:
    """Runs the coroutines together; the exceptions they raised."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    return [result for result in results if isinstance(result, BaseException)]
