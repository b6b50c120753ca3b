"""The namespace controller: deleting a Namespace deletes everything in it.

The API server keeps a deleted Namespace (phase Terminating) while its
spec.finalizers holds "kubernetes". sync(name) deletes every object in it, and
once a fresh list finds nothing left (objects with finalizers, such as pods whose
agent is stopping their containers, take their time), removes "kubernetes", so
the API server lets the Namespace go.
"""

from __future__ import annotations

import contextlib
import logging

from controller.base import Controller, EventRecorder
from corral.api import errors, is_deleting, kinds, metadata
from corral.api.v1 import core_pb2
from corral.client import Client, Informer, SharedInformers

NAMESPACE_FINALIZER = "kubernetes"
# How often a terminating namespace is looked at again while objects remain.
RECHECK_SECONDS = 1.0


class NamespaceController(Controller):
    name = "namespace"

    def __init__(
        self,
        client: Client,
        informers: SharedInformers,
        recorder: EventRecorder,
        *,
        workers: int = 2,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(client, workers=workers, logger=logger)
        self.recorder = recorder
        self.namespaces: Informer[core_pb2.Namespace] = informers.informer(core_pb2.Namespace)
        self.namespaces.add_handler(on_add=self.enqueue,
                                    on_update=lambda old, new: self.enqueue(new))

    async def sync(self, key: str) -> None:
        ns = self.namespaces.get(key)
        if ns is None or not is_deleting(ns) or NAMESPACE_FINALIZER not in ns.spec.finalizers:
            return
        remaining = await self._delete_contents(key)
        if remaining:
            self.log.info("event=namespace_terminating namespace=%s remaining=%s", key,
                          ",".join(f"{kind}={count}" for kind, count in sorted(remaining.items())))
            self.queue.add_after(key, RECHECK_SECONDS)
            return

        def drop_finalizer(fresh: object) -> bool:
            assert isinstance(fresh, core_pb2.Namespace)
            if NAMESPACE_FINALIZER not in fresh.spec.finalizers:
                return False
            fresh.spec.finalizers.remove(NAMESPACE_FINALIZER)
            return True

        try:
            await self.client.update_with_retry(core_pb2.Namespace, key, "", drop_finalizer)
        except errors.NotFound:
            return
        self.log.info("event=namespace_emptied namespace=%s", key)

    async def _delete_contents(self, namespace: str) -> dict[str, int]:
        """Deletes what is in the namespace; how many objects of each kind remain."""
        remaining: dict[str, int] = {}
        for kind in kinds.KINDS:
            if not kind.namespaced:
                continue
            listed = await self.client.list_all(kind, namespace)
            if not listed.items:
                continue
            remaining[kind.name] = len(listed.items)
            for obj in listed.items:
                if is_deleting(obj):
                    continue
                meta = metadata(obj)
                with contextlib.suppress(errors.NotFound, errors.Conflict):
                    await self.client.delete(kind, meta.name, namespace, uid=meta.uid)
        return remaining
