"""Informers: a local, read-only cache of one kind kept current by list + watch.

An Informer lists its kind once (page by page), then watches from the list's
resourceVersion. A dropped watch is resumed from the last revision it saw, so
nothing is missed or seen twice; when that revision has been compacted away
(Expired) it lists again and tells its handlers the difference as adds,
updates and deletes, so they always see a consistent story.

Objects in the cache and those handed to handlers are shared, not copied (a
protobuf copy of 30,000 pods costs real time): never mutate them. To change
one, copy it (`copy.deepcopy` or `Message.CopyFrom`), change the copy, write it.

Handlers run one at a time, in event order, after the cache already holds the
change. They should be quick (typically: put a key on a work queue).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, cast, overload

from google.protobuf.message import Message

from corral.api import errors, index_by_namespace, kinds, metadata, object_key
from corral.client.client import Client, KindArg, M, WatchEvent, resolve_kind

IndexFunc = Callable[[Message], list[str]]
# Handlers may be plain functions or coroutine functions.
AddHandler = Callable[[M], Awaitable[None] | None]
UpdateHandler = Callable[[M, M], Awaitable[None] | None]
DeleteHandler = Callable[[M], Awaitable[None] | None]

NAMESPACE_INDEX = "namespace"

_log = logging.getLogger("corral.informer")


# -- the informer --------------------------------------------------------------------------------


@dataclass
class _Handler:
    on_add: Callable[..., Any] | None
    on_update: Callable[..., Any] | None
    on_delete: Callable[..., Any] | None


@dataclass
class _Notification:
    # add, update, delete, replay (new handler: add everything), resync, synced
    op: str
    old: Message | None = None
    new: Message | None = None
    handler: _Handler | None = None


@dataclass
class _Index:
    func: IndexFunc
    keys_by_value: dict[str, set[str]]
    values_by_key: dict[str, list[str]]


def _revision(resource_version: str) -> int | None:
    return int(resource_version) if resource_version.isdigit() else None


class Informer(Generic[M]):
    """The cache of one kind; `Informer(client, core_pb2.Pod)` is typed Informer[Pod]."""

    @overload
    def __init__(
        self, client: Client, kind: type[M], namespace: str = "", *, label_selector: str = "",
        field_selector: str = "", resync_period: float = 0.0, page_size: int = 500,
        max_backoff: float = 5.0, logger: logging.Logger | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self: Informer[Any], client: Client, kind: str | kinds.Kind, namespace: str = "", *,
        label_selector: str = "", field_selector: str = "", resync_period: float = 0.0,
        page_size: int = 500, max_backoff: float = 5.0, logger: logging.Logger | None = None,
    ) -> None: ...

    def __init__(
        self,
        client: Client,
        kind: KindArg,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        resync_period: float = 0.0,
        page_size: int = 500,
        max_backoff: float = 5.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.kind = resolve_kind(kind)
        self.namespace = namespace if self.kind.namespaced else ""
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_period = resync_period
        self.page_size = page_size
        self.max_backoff = max_backoff
        self.log = logger or _log
        self._items: dict[str, M] = {}
        self._indexes: dict[str, _Index] = {}
        self._handlers: list[_Handler] = []
        self._notifications: asyncio.Queue[_Notification] | None = None
        self._synced = asyncio.Event()
        self._stop = asyncio.Event()
        self._started = False
        # The revision the cache reflects; watches resume after it.
        self.last_resource_version = ""
        self.add_index(NAMESPACE_INDEX, index_by_namespace)

    def __repr__(self) -> str:
        return f"Informer({self.describe()})"

    def describe(self) -> str:
        parts = [f"kind={self.kind.name}"]
        if self.namespace:
            parts.append(f"namespace={self.namespace}")
        if self.label_selector:
            parts.append(f"labels={self.label_selector!r}")
        if self.field_selector:
            parts.append(f"fields={self.field_selector!r}")
        return " ".join(parts)

    # -- reading the cache ---------------------------------------------------------------------

    def get(self, key: str) -> M | None:
        """The cached object with this key (`namespace/name` or `name`), or None. Don't mutate."""
        return self._items.get(key)

    def get_by_name(self, name: str, namespace: str = "") -> M | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> builtins.list[M]:
        """Every cached object. Don't mutate them."""
        return list(self._items.values())

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def by_index(self, index: str, value: str) -> builtins.list[M]:
        """The cached objects whose index function returned `value`. Don't mutate them."""
        keys = self._index(index).keys_by_value.get(value, ())
        return [self._items[key] for key in keys]

    def keys_by_index(self, index: str, value: str) -> builtins.list[str]:
        return list(self._index(index).keys_by_value.get(value, ()))

    def index_values(self, index: str) -> builtins.list[str]:
        """Every value the index holds objects for (e.g. every node with pods)."""
        return list(self._index(index).keys_by_value)

    def _index(self, name: str) -> _Index:
        try:
            return self._indexes[name]
        except KeyError:
            raise KeyError(
                f"informer {self.describe()} has no index {name!r}; "
                f"indexes: {', '.join(sorted(self._indexes))}"
            ) from None

    # -- configuring ---------------------------------------------------------------------------

    def add_index(self, name: str, func: IndexFunc) -> None:
        """Adds an index (at any time: objects already cached are indexed now)."""
        if name in self._indexes:
            raise ValueError(f"informer {self.describe()} already has an index {name!r}")
        index = _Index(func, {}, {})
        self._indexes[name] = index
        for key, obj in self._items.items():
            self._index_one(index, key, obj)

    def add_handler(
        self,
        on_add: AddHandler[M] | None = None,
        on_update: UpdateHandler[M] | None = None,
        on_delete: DeleteHandler[M] | None = None,
    ) -> None:
        """Registers callbacks (plain functions or coroutine functions).

        on_update(old, new) also fires every resync_period with old is new. A handler
        added after the informer started first gets on_add for every cached object.
        """
        handler = _Handler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if self._started and self._notifications is not None:
            self._handlers.remove(handler)
            self._notifications.put_nowait(_Notification("replay", handler=handler))

    # -- state ---------------------------------------------------------------------------------

    @property
    def has_synced(self) -> bool:
        """True once the first list is in the cache and its handlers have been called."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Waits for has_synced; False if `timeout` seconds passed first."""
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def stop(self) -> None:
        """Makes run() return (also when called before run() started); an informer runs once."""
        self._stop.set()

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Lists, watches and calls handlers until stop() (or cancellation)."""
        if self._started:
            raise RuntimeError(f"informer {self.describe()} is already running")
        self._started = True
        self._notifications = asyncio.Queue()
        tasks = [
            asyncio.create_task(self._list_and_watch(), name=f"informer-{self.kind.name}"),
            asyncio.create_task(self._dispatch(), name=f"informer-{self.kind.name}-handlers"),
        ]
        if self.resync_period > 0:
            tasks.append(asyncio.create_task(self._resync_loop()))
        stop_wait = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stop_wait], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                # Only a bug ends the loops early: let it surface.
                if task is not stop_wait and not task.cancelled():
                    task.result()
        finally:
            for task in [*tasks, stop_wait]:
                task.cancel()
            await asyncio.gather(*tasks, stop_wait, return_exceptions=True)
            self._started = False

    async def _list_and_watch(self) -> None:
        need_list = True
        failures = 0
        while True:
            try:
                if need_list:
                    await self._relist()
                    need_list = False
                    failures = 0
                async for event in self.client.watch(
                    self.kind,
                    self.namespace,
                    label_selector=self.label_selector,
                    field_selector=self.field_selector,
                    resource_version=self.last_resource_version,
                    allow_bookmarks=True,
                ):
                    failures = 0
                    self._apply(event)
                self.log.debug("event=watch_resumed %s rv=%s",
                               self.describe(), self.last_resource_version)
            except errors.Expired as error:
                self.log.info("event=watch_expired_relisting %s rv=%s error=%s",
                              self.describe(), self.last_resource_version, error)
                need_list = True
                continue
            except errors.ApiError as error:
                self.log.warning(
                    "event=%s_failed %s rv=%s retries=%d error=%s: %s",
                    "list" if need_list else "watch", self.describe(),
                    self.last_resource_version, failures, type(error).__name__, error,
                )
            failures += 1
            delay = min(self.max_backoff, 0.1 * 2 ** min(failures, 10))
            await asyncio.sleep(random.uniform(delay / 2, delay))

    async def _relist(self) -> None:
        listed = await self.client.list_all(
            self.kind,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            page_size=self.page_size,
        )
        self._replace(listed.items, listed.resource_version)
        if not self._synced.is_set():
            self._notify(_Notification("synced"))

    def _replace(self, items: Iterable[Message], resource_version: str) -> None:
        """Makes the cache equal to a fresh list, notifying the differences."""
        seen: set[str] = set()
        for obj in items:
            key = object_key(obj)
            seen.add(key)
            old = self._items.get(key)
            if old is None:
                self._store(key, obj)
                self._notify(_Notification("add", new=obj))
            elif _rv(old) != _rv(obj):
                self._store(key, obj)
                self._notify(_Notification("update", old=old, new=obj))
        for key in [key for key in self._items if key not in seen]:
            old = self._remove(key)
            self._notify(_Notification("delete", old=old))
        self.last_resource_version = resource_version

    def _apply(self, event: WatchEvent) -> None:
        """Applies one watch event to the cache, ignoring revisions already seen."""
        if event.type == "BOOKMARK":
            self._advance(event.resource_version)
            return
        obj = event.object
        if obj is None:
            self.log.warning("event=watch_event_without_object %s type=%s rv=%s",
                             self.describe(), event.type, event.resource_version)
            return
        event_rv = event.resource_version or _rv(obj)
        if self._is_old(event_rv):
            return
        key = object_key(obj)
        old = self._items.get(key)
        if event.type in ("ADDED", "MODIFIED"):
            if old is not None and _rv(old) == _rv(obj):
                pass  # a duplicate of what we have
            elif old is None:
                self._store(key, obj)
                self._notify(_Notification("add", new=obj))
            else:
                self._store(key, obj)
                self._notify(_Notification("update", old=old, new=obj))
        elif event.type == "DELETED":
            if old is not None:
                self._remove(key)
                self._notify(_Notification("delete", old=obj))
        else:
            self.log.warning("event=watch_event_type_unknown type=%s %s key=%s",
                             event.type, self.describe(), key)
        self._advance(event_rv)

    def _is_old(self, resource_version: str) -> bool:
        new, last = _revision(resource_version), _revision(self.last_resource_version)
        return new is not None and last is not None and new <= last

    def _advance(self, resource_version: str) -> None:
        if resource_version and not self._is_old(resource_version):
            self.last_resource_version = resource_version

    # -- cache and indexes ---------------------------------------------------------------------

    def _store(self, key: str, obj: Message) -> None:
        self._items[key] = cast(M, obj)
        for index in self._indexes.values():
            self._index_one(index, key, obj)

    def _remove(self, key: str) -> M:
        for index in self._indexes.values():
            self._drop_from_index(index, key, index.values_by_key.pop(key, ()))
        return self._items.pop(key)

    def _index_one(self, index: _Index, key: str, obj: Message) -> None:
        values = index.func(obj)
        old_values = index.values_by_key.get(key)
        if old_values == values:
            return  # most updates (status, annotations) leave an index as it was
        if old_values:
            self._drop_from_index(index, key, old_values)
        if not values:
            index.values_by_key.pop(key, None)
            return
        index.values_by_key[key] = values
        for value in values:
            keys = index.keys_by_value.get(value)
            if keys is None:
                index.keys_by_value[value] = {key}
            else:
                keys.add(key)

    @staticmethod
    def _drop_from_index(index: _Index, key: str, values: Iterable[str]) -> None:
        for value in values:
            keys = index.keys_by_value.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index.keys_by_value[value]

    # -- handlers ------------------------------------------------------------------------------

    def _notify(self, notification: _Notification) -> None:
        if self._notifications is not None:
            self._notifications.put_nowait(notification)

    async def _dispatch(self) -> None:
        assert self._notifications is not None
        while True:
            notification = await self._notifications.get()
            op = notification.op
            if op == "synced":
                self._synced.set()
            elif op == "replay":
                assert notification.handler is not None
                self._handlers.append(notification.handler)
                for obj in list(self._items.values()):
                    await self._call(notification.handler.on_add, obj)
            elif op == "resync":
                for obj in list(self._items.values()):
                    for handler in self._handlers:
                        await self._call(handler.on_update, obj, obj)
            else:
                for handler in list(self._handlers):
                    if op == "add":
                        await self._call(handler.on_add, notification.new)
                    elif op == "update":
                        await self._call(handler.on_update, notification.old, notification.new)
                    elif op == "delete":
                        await self._call(handler.on_delete, notification.old)

    async def _call(self, func: Callable[..., Any] | None, *args: Any) -> None:
        if func is None:
            return
        try:
            result = func(*args)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            key = object_key(args[-1]) if args else ""
            self.log.exception("event=handler_failed %s key=%s handler=%s",
                               self.describe(), key, getattr(func, "__qualname__", func))

    async def _resync_loop(self) -> None:
        await self._synced.wait()
        while True:
            await asyncio.sleep(self.resync_period)
            self._notify(_Notification("resync"))


def _rv(obj: Message) -> str:
    return metadata(obj).resource_version


# -- shared informers ----------------------------------------------------------------------------


class SharedInformers:
    """One informer per (kind, namespace, selectors) for all controllers of a process.

        informers = SharedInformers(client)
        pods = informers.informer("Pod")
        pods.add_handler(on_add=...)
        informers.start()
        await informers.wait_for_sync()
    """

    def __init__(
        self,
        client: Client,
        *,
        resync_period: float = 0.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.resync_period = resync_period
        self.log = logger or _log
        self._informers: dict[tuple[str, str, str, str], Informer[Any]] = {}
        self._tasks: dict[tuple[str, str, str, str], asyncio.Task[None]] = {}

    @overload
    def informer(
        self, kind: type[M], namespace: str = "", *, label_selector: str = "",
        field_selector: str = "",
    ) -> Informer[M]: ...
    @overload
    def informer(
        self, kind: str | kinds.Kind, namespace: str = "", *, label_selector: str = "",
        field_selector: str = "",
    ) -> Informer[Any]: ...

    def informer(
        self,
        kind: KindArg,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> Informer[Any]:
        """The shared informer for these arguments, made on first request."""
        resolved = resolve_kind(kind)
        key = (resolved.name, namespace if resolved.namespaced else "", label_selector,
               field_selector)
        informer = self._informers.get(key)
        if informer is None:
            informer = Informer(
                self.client, resolved.name, namespace,
                label_selector=label_selector, field_selector=field_selector,
                resync_period=self.resync_period, logger=self.log,
            )
            self._informers[key] = informer
        return informer

    def informers(self) -> list[Informer[Any]]:
        return list(self._informers.values())

    def start(self) -> None:
        """Runs every informer not running yet (call again after requesting more)."""
        for key, informer in self._informers.items():
            task = self._tasks.get(key)
            if task is None or task.done():
                self._tasks[key] = asyncio.create_task(
                    informer.run(), name=f"informer-{informer.describe()}"
                )

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Waits until every informer has synced; False if `timeout` passed first."""
        waits = [informer.wait_for_sync() for informer in self._informers.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        for informer in self._informers.values():
            informer.stop()
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
