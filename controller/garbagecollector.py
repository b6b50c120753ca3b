"""The garbage collector: deletion that follows ownerReferences.

- Background (the default): the owner goes at once; its dependents then point at
  an owner that no longer exists, and the collector deletes them.
- Foreground: the owner stays (deletionTimestamp + the foregroundDeletion
  finalizer) while the collector deletes its dependents, and loses the finalizer
  (and so goes) once no dependent that blocks it is left.
- Orphan: the owner stays (with the orphan finalizer) until the collector has
  removed the ownerReferences to it from every dependent; then it goes, they stay.

One queue of `Kind:namespace/name` keys; sync looks at one object either as a
dependent (are all its owners gone?) or as an owner being deleted with one of
the two finalizers. An owner missing from the cache is confirmed with a GET
before anything is deleted, so a cache that lags cannot cost a live object.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence

from google.protobuf.message import Message

from controller.base import OWNER_UID_INDEX, Controller, EventRecorder, RetryLater, ensure_index
from corral.api import errors, index_by_owner_uid, is_deleting, kinds, metadata, object_key
from corral.api.v1 import meta_pb2
from corral.client import Client, Informer, SharedInformers

FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"

# The kinds whose objects may be owners or dependents. Events, Leases and metrics
# samples are left out: nothing owns them, and watching them would cost a lot.
DEFAULT_KINDS = (
    "Deployment", "ReplicaSet", "Pod", "Service", "ConfigMap", "Secret",
    "HorizontalPodAutoscaler", "Ingress", "EndpointSlice",
)

# Owners confirmed gone, by uid (uids are never reused, so this never goes stale).
ABSENT_OWNER_CACHE_SIZE = 10_000


def gc_key(kind: str, obj: Message) -> str:
    return f"{kind}:{object_key(obj)}"


def parse_gc_key(key: str) -> tuple[str, str]:
    """(kind, cache key)."""
    kind, _, rest = key.partition(":")
    return kind, rest


class GarbageCollector(Controller):
    name = "garbagecollector"

    def __init__(
        self,
        client: Client,
        informers: SharedInformers,
        recorder: EventRecorder,
        *,
        kind_names: Sequence[str] = DEFAULT_KINDS,
        workers: int = 4,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(client, workers=workers, logger=logger)
        self.recorder = recorder
        self.informers: dict[str, Informer[Message]] = {}
        self._absent: OrderedDict[str, None] = OrderedDict()
        for name in kind_names:
            informer = informers.informer(kinds.by_name(name))
            ensure_index(informer, OWNER_UID_INDEX, index_by_owner_uid)
            self.informers[name] = informer
            self._watch(name, informer)

    # -- event handlers -------------------------------------------------------------------

    def _watch(self, kind: str, informer: Informer[Message]) -> None:
        def on_add(obj: Message) -> None:
            self._changed(kind, obj)

        def on_update(old: Message, new: Message) -> None:
            self._updated(kind, old, new)

        def on_delete(obj: Message) -> None:
            self._deleted(kind, obj)

        informer.add_handler(on_add=on_add, on_update=on_update, on_delete=on_delete)

    def _changed(self, kind: str, obj: Message) -> None:
        meta = metadata(obj)
        finalizers = set(meta.finalizers)
        if meta.owner_references or (
            is_deleting(obj) and finalizers & {FOREGROUND_FINALIZER, ORPHAN_FINALIZER}
        ):
            self.queue.add(gc_key(kind, obj))

    def _updated(self, kind: str, old: Message, new: Message) -> None:
        if metadata(old).resource_version == metadata(new).resource_version:
            return
        self._changed(kind, new)

    def _deleted(self, kind: str, obj: Message) -> None:
        meta = metadata(obj)
        self._absent[meta.uid] = None
        while len(self._absent) > ABSENT_OWNER_CACHE_SIZE:
            self._absent.popitem(last=False)
        # Its dependents have lost an owner; its owners may be waiting for it.
        for dependent_kind, dependent in self._dependents(meta.uid):
            self.queue.add(gc_key(dependent_kind, dependent))
        for ref in meta.owner_references:
            owner = self._cached_owner(ref, meta.namespace)
            if owner is not None:
                self.queue.add(gc_key(ref.kind, owner))

    # -- lookups --------------------------------------------------------------------------

    def _dependents(self, owner_uid: str) -> list[tuple[str, Message]]:
        return [
            (kind, obj)
            for kind, informer in self.informers.items()
            for obj in informer.by_index(OWNER_UID_INDEX, owner_uid)
        ]

    def _cached_owner(self, ref: meta_pb2.OwnerReference, namespace: str) -> Message | None:
        informer = self.informers.get(ref.kind)
        if informer is None:
            return None
        owner_namespace = namespace if informer.kind.namespaced else ""
        owner = informer.get_by_name(ref.name, owner_namespace)
        if owner is None or metadata(owner).uid != ref.uid:
            return None
        return owner

    async def _owner(self, ref: meta_pb2.OwnerReference, namespace: str) -> Message | None:
        """The owner `ref` points at, or None when it is confirmed gone. Raises when it
        cannot be told (an unknown kind is treated as present: never delete on a guess)."""
        if ref.uid in self._absent:
            return None
        cached = self._cached_owner(ref, namespace)
        if cached is not None:
            return cached
        try:
            kind = kinds.by_name(ref.kind)
        except kinds.UnknownKind:
            self.log.warning("event=owner_kind_unknown kind=%s name=%s", ref.kind, ref.name)
            return meta_pb2.ObjectMeta()  # a stand-in that counts as present
        try:
            live = await self.client.get(kind, ref.name, namespace if kind.namespaced else "")
        except errors.NotFound:
            self._absent[ref.uid] = None
            return None
        if metadata(live).uid != ref.uid:
            self._absent[ref.uid] = None
            return None
        return live

    # -- sync -----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        kind, cache_key = parse_gc_key(key)
        informer = self.informers.get(kind)
        if informer is None:
            return
        obj = informer.get(cache_key)
        if obj is None:
            return
        meta = metadata(obj)
        if is_deleting(obj):
            if ORPHAN_FINALIZER in meta.finalizers:
                await self._orphan_dependents(kind, obj)
            elif FOREGROUND_FINALIZER in meta.finalizers:
                await self._delete_dependents(kind, obj)
            return
        if meta.owner_references:
            await self._check_owners(kind, obj)

    async def _check_owners(self, kind: str, obj: Message) -> None:
        meta = metadata(obj)
        solid: list[meta_pb2.OwnerReference] = []
        dangling: list[meta_pb2.OwnerReference] = []
        waiting: list[meta_pb2.OwnerReference] = []
        for ref in meta.owner_references:
            owner = await self._owner(ref, meta.namespace)
            if owner is None:
                dangling.append(ref)
            elif is_deleting(owner) and FOREGROUND_FINALIZER in metadata(owner).finalizers:
                waiting.append(ref)
            else:
                solid.append(ref)
        if solid:
            if dangling:
                # Someone still owns it: only forget the owners that are gone.
                gone = {ref.uid for ref in dangling}
                await self._edit_refs(kind, obj, lambda ref: None if ref.uid in gone else ref)
            return
        if not dangling and not waiting:
            return
        policy = "Foreground" if waiting else "Background"
        self.log.info("event=dependent_deleting object=%s kind=%s policy=%s owners=%s",
                      object_key(obj), kind, policy,
                      ",".join(f"{r.kind}/{r.name}" for r in meta.owner_references))
        with contextlib.suppress(errors.NotFound, errors.Conflict):
            await self.client.delete(kind, meta.name, meta.namespace, uid=meta.uid,
                                     propagation_policy=policy)

    async def _delete_dependents(self, kind: str, owner: Message) -> None:
        """Foreground: delete the dependents; drop the finalizer when none blocks."""
        meta = metadata(owner)
        blocking = 0
        for dependent_kind, dependent in self._dependents(meta.uid):
            dep_meta = metadata(dependent)
            ref = next(r for r in dep_meta.owner_references if r.uid == meta.uid)
            if ref.block_owner_deletion:
                blocking += 1
            if is_deleting(dependent):
                continue
            self.log.info("event=dependent_deleting_foreground owner=%s object=%s kind=%s",
                          gc_key(kind, owner), object_key(dependent), dependent_kind)
            with contextlib.suppress(errors.NotFound, errors.Conflict):
                await self.client.delete(dependent_kind, dep_meta.name, dep_meta.namespace,
                                         uid=dep_meta.uid, propagation_policy="Foreground")
        if blocking:
            return  # each dependent's deletion enqueues this owner again
        await self._remove_finalizer(kind, owner, FOREGROUND_FINALIZER)

    async def _orphan_dependents(self, kind: str, owner: Message) -> None:
        meta = metadata(owner)
        failures = 0
        for dependent_kind, dependent in self._dependents(meta.uid):
            try:
                await self._edit_refs(dependent_kind, dependent,
                                      lambda ref: None if ref.uid == meta.uid else ref)
            except errors.ApiError as error:
                failures += 1
                self.log.warning("event=orphan_failed object=%s owner=%s error=%s",
                                 object_key(dependent), gc_key(kind, owner), error)
        if failures:
            raise RetryLater(f"{gc_key(kind, owner)}: {failures} dependents not orphaned yet")
        await self._remove_finalizer(kind, owner, ORPHAN_FINALIZER)

    async def _edit_refs(
        self, kind: str, obj: Message,
        edit: Callable[[meta_pb2.OwnerReference], meta_pb2.OwnerReference | None],
    ) -> None:
        """Rewrites obj's ownerReferences through `edit(ref) -> ref | None` (read-modify-write)."""
        meta = metadata(obj)

        def mutate(fresh: Message) -> bool:
            refs = metadata(fresh).owner_references
            kept = [copy.deepcopy(r) for r in refs if edit(r) is not None]
            if len(kept) == len(refs):
                return False
            del refs[:]
            refs.extend(kept)
            return True

        with contextlib.suppress(errors.NotFound):
            await self.client.update_with_retry(kind, meta.name, meta.namespace, mutate)

    async def _remove_finalizer(self, kind: str, obj: Message, finalizer: str) -> None:
        meta = metadata(obj)

        def mutate(fresh: Message) -> bool:
            fresh_meta = metadata(fresh)
            if fresh_meta.uid != meta.uid or finalizer not in fresh_meta.finalizers:
                return False
            fresh_meta.finalizers.remove(finalizer)
            return True

        try:
            await self.client.update_with_retry(kind, meta.name, meta.namespace, mutate)
        except errors.NotFound:
            return
        self.log.info("event=finalizer_removed object=%s kind=%s finalizer=%s",
                      object_key(obj), kind, finalizer)
