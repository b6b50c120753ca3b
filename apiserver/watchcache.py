"""The watch cache: one etcd watch per kind, fanned out in memory.

Each kind's cache lists its prefix once, then follows one etcd watch, keeping
the current objects and a bounded history of recent events. Client watches
are served from that history and from the live stream, so a thousand client
watches cost one etcd watch. Lists can be served from the current objects once
the cache has caught up with etcd's revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

import grpc
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message

from apiserver import codec
from apiserver.storage import Storage, prefix_end
from corral.api import FieldSelector, Kind, Selector, errors, metadata
from corral.api.v1 import api_pb2

log = logging.getLogger("corral.apiserver.watchcache")

ADDED, MODIFIED, DELETED, BOOKMARK = "ADDED", "MODIFIED", "DELETED", "BOOKMARK"


class Compacted(errors.Expired):
    """etcd no longer has the revisions a watch asked for."""

    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"etcd compacted its history up to revision {compact_revision}")
        self.compact_revision = compact_revision


@dataclass(slots=True)
class Entry:
    """An object as the cache holds it: decoded for filtering, raw for sending."""

    obj: Message
    raw: bytes
    revision: int

    @property
    def labels(self) -> Mapping[str, str]:
        return metadata(self.obj).labels

    @property
    def namespace(self) -> str:
        return metadata(self.obj).namespace


@dataclass(slots=True)
class Change:
    """A change of one object: new is None for deletes, old None for creates."""

    revision: int
    key: bytes
    new: Entry | None
    old: Entry | None
    # The wire events for this change, by type, built once for all watchers.
    _events: dict[str, api_pb2.WatchEvent] = field(default_factory=dict)

    def event(self, kind: Kind, type_: str) -> api_pb2.WatchEvent:
        built = self._events.get(type_)
        if built is None:
            # A watcher sees a deleted object, or one that stopped matching it,
            # go with its last state.
            entry = self.new if type_ != DELETED else (self.new or self.old)
            assert entry is not None
            built = api_pb2.WatchEvent(
                type=type_,
                object=codec.to_any(kind, entry.raw, self.revision),
                resource_version=str(self.revision),
            )
            self._events[type_] = built
        return built


@dataclass(frozen=True)
class Filter:
    """What a client watch or list asks for."""

    namespace: str = ""
    labels: Selector | None = None
    fields: FieldSelector | None = None

    def matches(self, entry: Entry) -> bool:
        if self.namespace and entry.namespace != self.namespace:
            return False
        if self.labels is not None and not self.labels.matches(entry.labels):
            return False
        return self.fields is None or self.fields.matches(entry.obj)


@dataclass(eq=False)
class Watcher:
    """One client watch: a filter, a start revision and a queue of events.

    A watcher that falls too far behind is closed; its client re-watches from
    the last revision it saw, which costs nothing but the re-watch.
    """

    kind: Kind
    filter: Filter
    after: int
    bookmarks: bool
    max_queue: int
    queue: asyncio.Queue[api_pb2.WatchEvent | errors.ApiError] = field(
        default_factory=asyncio.Queue
    )
    closed: bool = False

    def offer(self, change: Change) -> None:
        if self.closed or change.revision <= self.after:
            return
        was = change.old is not None and self.filter.matches(change.old)
        now = change.new is not None and self.filter.matches(change.new)
        if now:
            self._put(change.event(self.kind, MODIFIED if was else ADDED))
        elif was:
            self._put(change.event(self.kind, DELETED))

    def bookmark(self, revision: int) -> None:
        if self.bookmarks and not self.closed and revision >= self.after:
            self._put(api_pb2.WatchEvent(type=BOOKMARK, resource_version=str(revision)))

    def close(self, error: errors.ApiError) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(error)

    def _put(self, event: api_pb2.WatchEvent) -> None:
        if self.queue.qsize() >= self.max_queue:
            self.close(errors.Unavailable("watch fell too far behind; watch again"))
        else:
            self.queue.put_nowait(event)

    async def batches(self, most: int = 1000) -> AsyncIterator[list[api_pb2.WatchEvent]]:
        """The events in batches: whatever waits when the stream is ready, so
        a busy watcher gets fewer, larger messages."""
        while True:
            batch: list[api_pb2.WatchEvent] = []
            item = await self.queue.get()
            while True:
                if isinstance(item, errors.ApiError):
                    if batch:
                        yield batch
                    raise item
                batch.append(item)
                if len(batch) >= most or self.queue.empty():
                    break
                item = self.queue.get_nowait()
            yield batch


class KindCache:
    """The cache of one kind; run() keeps it in step with etcd."""

    def __init__(
        self,
        kind: Kind,
        storage: Storage,
        *,
        history: int = 20_000,
        bookmark_interval: float = 5.0,
        max_watcher_queue: int = 50_000,
    ) -> None:
        self.kind = kind
        self.storage = storage
        self.prefix = codec.kind_prefix(kind)
        self.objects: dict[bytes, Entry] = {}
        # Every event after self.floor is in history (or was never there).
        self.history: deque[Change] = deque(maxlen=history)
        self.floor = 0
        self.revision = 0
        self.watchers: set[Watcher] = set()
        self.ready = asyncio.Event()
        self.bookmark_interval = bookmark_interval
        self.max_watcher_queue = max_watcher_queue
        self._advanced = asyncio.Event()
        self.sync_key = codec.sync_key(kind)
        self._watching = False
        # Revisions back from a fresh list that are replayed into history.
        self.replay_window = history
        self._replay_from = 0
        self.on_change: list[Callable[[Change], None]] = []

    # ------------------------------------------------------------ reading

    def snapshot(self, flt: Filter) -> list[any_pb2.Any]:
        """The matching objects now, sorted by key, in wire form."""
        return [
            codec.to_any(self.kind, entry.raw, entry.revision)
            for _, entry in sorted(self.objects.items())
            if flt.matches(entry)
        ]

    def get(self, key: bytes) -> Entry | None:
        return self.objects.get(key)

    async def wait_for(self, revision: int, timeout: float) -> bool:
        """Waits until the cache has seen every event up to revision.

        A write to the kind's sync key makes the watch deliver an event after
        revision; once it arrives, everything before it has too."""
        if self.revision >= revision:
            return True
        if self._watching:
            await self.storage.put(self.sync_key, b"")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.revision < revision:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._advanced.wait(), remaining)
        return True

    # ------------------------------------------------------------ watching

    def watch(self, flt: Filter, after: int | None, bookmarks: bool) -> Watcher:
        """A watcher for events after revision `after` (None: from now).

        Replaying history and joining the live stream happen without an await
        in between, so no event falls between them.
        """
        if after is not None and after < self.floor:
            raise errors.Expired(
                f"resourceVersion {after} is too old for {self.kind.plural} "
                f"(oldest available: {self.floor}); list again"
            )
        start = self.revision if after is None else after
        watcher = Watcher(self.kind, flt, start, bookmarks, self.max_watcher_queue)
        for change in self.history:
            if change.revision > start:
                watcher.offer(change)
        self.watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)

    # ------------------------------------------------------- following etcd

    async def run(self) -> None:
        """Lists, then follows etcd for ever; reconnects with backoff."""
        delay = 0.1
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                await self._follow()
            except Compacted as error:
                if self._replay_from:
                    # The replay window was compacted: replay less, from the
                    # oldest revision etcd still has.
                    self._replay_from = error.compact_revision
                    continue
                log.warning("event=watch_expired kind=%s reason=%r", self.kind.name, str(error))
                need_list = True
                delay = 0.1
            except errors.Expired as error:
                log.warning("event=watch_expired kind=%s reason=%r", self.kind.name, str(error))
                need_list = True
                delay = 0.1
            except errors.ApiError as error:
                log.warning(
                    "event=etcd_watch_lost kind=%s revision=%d retry_in=%.1fs reason=%r",
                    self.kind.name,
                    self.revision,
                    delay,
                    str(error),
                )
                await asyncio.sleep(delay * (1 + random.random() / 2))
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.1

    async def _list(self) -> None:
        """Loads every object at one revision. After a compaction, the watchers
        cannot be told what they missed, so they are sent to relist."""
        self.ready.clear()
        objects: dict[bytes, Entry] = {}
        start, end = codec.object_range(self.kind)
        items, more, revision = await self.storage.range(start, end, limit=2000)
        while True:
            for item in items:
                obj = codec.decode(self.kind, item.value, item.mod_revision)
                objects[item.key] = Entry(obj, item.value, item.mod_revision)
            if not more:
                break
            items, more, _ = await self.storage.range(
                items[-1].key + b"\0", end, limit=2000, revision=revision
            )
        for watcher in list(self.watchers):
            watcher.close(errors.Expired("the API server's cache was rebuilt; list again"))
        self.watchers.clear()
        self.objects = objects
        self.history.clear()
        self.floor = revision
        self.revision = 0
        self._advance(revision)
        # Rebuild the recent history from etcd too, so that clients that
        # watched an earlier API server (or this one before a relist) resume
        # where they were instead of relisting.
        self._replay_from = max(1, revision - self.replay_window)
        log.info(
            "event=cache_listed kind=%s objects=%d revision=%d",
            self.kind.name,
            len(objects),
            revision,
        )

    async def _follow(self) -> None:
        """Follows one etcd watch until it fails.

        While replaying (right after a list), events up to the revision
        already applied only rebuild history. The replay is complete when the
        sync key written after the watch started comes back through it.
        """
        replay_from = self._replay_from
        applied_until = self.revision
        replayed_by = 0  # the sync key's revision that ends the replay
        if replay_from:
            self.history.clear()
        requests: asyncio.Queue[rpc_pb2.WatchRequest] = asyncio.Queue()
        requests.put_nowait(
            rpc_pb2.WatchRequest(
                create_request=rpc_pb2.WatchCreateRequest(
                    key=self.prefix,
                    range_end=prefix_end(self.prefix),
                    start_revision=replay_from or applied_until + 1,
                    prev_kv=bool(replay_from),
                )
            )
        )

        async def request_stream() -> AsyncIterator[rpc_pb2.WatchRequest]:
            while True:
                yield await requests.get()

        call = rpc_pb2_grpc.WatchStub(self.storage._channel()).Watch(request_stream())
        bookmarks = asyncio.create_task(self._bookmark_loop())
        try:
            async for response in call:
                if response.compact_revision:
                    raise Compacted(response.compact_revision)
                if response.canceled:
                    raise errors.Unavailable(f"etcd cancelled the watch: {response.cancel_reason}")
                if response.created:
                    self._watching = True
                    if replay_from:
                        replayed_by = await self.storage.put(self.sync_key, b"")
                    continue
                for event in response.events:
                    revision = event.kv.mod_revision
                    if event.kv.key == self.sync_key:
                        if replay_from and revision >= replayed_by:
                            self.floor = replay_from - 1
                            self._replay_from = replay_from = 0
                            self.ready.set()
                        self._advance(revision)
                    elif revision > applied_until:
                        self._apply(event)
                    elif replay_from:
                        self._remember(event)
            raise errors.Unavailable("etcd closed the watch stream")
        except grpc.aio.AioRpcError as error:
            raise errors.Unavailable(f"etcd watch failed: {error.details()}") from None
        finally:
            self._watching = False
            bookmarks.cancel()
            call.cancel()

    async def _bookmark_loop(self) -> None:
        """Tells watchers that asked for bookmarks how far the cache has got."""
        while True:
            await asyncio.sleep(self.bookmark_interval)
            if not self._replay_from:
                for watcher in list(self.watchers):
                    watcher.bookmark(self.revision)

    def _remember(self, event: Any) -> None:
        """Adds an event from before the list to history only."""
        revision = event.kv.mod_revision
        old = None
        if event.HasField("prev_kv") and event.prev_kv.value:
            prev = event.prev_kv
            old = Entry(
                codec.decode(self.kind, prev.value, prev.mod_revision),
                prev.value,
                prev.mod_revision,
            )
        new = None
        if event.type != event.DELETE:
            new = Entry(codec.decode(self.kind, event.kv.value, revision), event.kv.value, revision)
        self._record(Change(revision, event.kv.key, new, old))

    def _record(self, change: Change) -> None:
        if len(self.history) == self.history.maxlen:
            self.floor = self.history[0].revision
        self.history.append(change)

    def _apply(self, event: Any) -> None:
        key, revision = event.kv.key, event.kv.mod_revision
        old = self.objects.get(key)
        if event.type == event.DELETE:
            if old is None:
                return self._advance(revision)
            del self.objects[key]
            new = None
        else:
            obj = codec.decode(self.kind, event.kv.value, revision)
            new = Entry(obj, event.kv.value, revision)
            self.objects[key] = new
        change = Change(revision, key, new, old)
        self._record(change)
        for watcher in list(self.watchers):
            watcher.offer(change)
            if watcher.closed:
                self.watchers.discard(watcher)
        for callback in self.on_change:
            callback(change)
        self._advance(revision)

    def _advance(self, revision: int) -> None:
        if revision > self.revision:
            self.revision = revision
            self._advanced.set()
            self._advanced = asyncio.Event()


class CacheOptions(TypedDict, total=False):
    """KindCache's tuning, passed through WatchCache to every kind's cache."""

    history: int
    bookmark_interval: float
    max_watcher_queue: int


class WatchCache:
    """The caches of every kind, started together."""

    def __init__(
        self, kinds: tuple[Kind, ...], storage: Storage, **options: Unpack[CacheOptions]
    ) -> None:
        self.caches = {k.name: KindCache(k, storage, **options) for k in kinds}
        self._tasks: list[asyncio.Task[None]] = []

    def __getitem__(self, kind: Kind) -> KindCache:
        return self.caches[kind.name]

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(c.run(), name=f"cache-{n}") for n, c in self.caches.items()
        ]

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(
            asyncio.gather(*(c.ready.wait() for c in self.caches.values())), timeout
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for cache in self.caches.values():
            for watcher in list(cache.watchers):
                watcher.close(errors.Unavailable("the API server is shutting down"))

    @property
    def watcher_count(self) -> int:
        return sum(len(c.watchers) for c in self.caches.values())
