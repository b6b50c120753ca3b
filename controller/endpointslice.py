"""The endpoint-slice controller: keeps each selecting Service's EndpointSlices equal to
what controller/endpoints.py says it should have.

Keys are Services. A pod's change enqueues the Services of its namespace whose selector
matches it before or after the change; a slice's change enqueues its Service (so a slice
edited or deleted by hand is put back). A deleted Service's slices go with it (they are
owned by it: the garbage collector deletes them).
"""

from __future__ import annotations

import contextlib
import logging

from controller.base import Controller, EventRecorder, ensure_index
from controller.endpoints import ZONE_LABEL, desired_slices, differs, selects
from corral.api import discovery, errors, index_by_label, object_key, selector_from_labels
from corral.api.v1 import core_pb2, discovery_pb2
from corral.client import Client, Informer, SharedInformers

LABELS_INDEX = "labels"
NAMESPACE_INDEX = "namespace"


class EndpointSliceController(Controller):
    name = "endpointslice"

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
        self.services: Informer[core_pb2.Service] = informers.informer(core_pb2.Service)
        self.pods: Informer[core_pb2.Pod] = informers.informer(core_pb2.Pod)
        self.nodes: Informer[core_pb2.Node] = informers.informer(core_pb2.Node)
        self.slices: Informer[discovery_pb2.EndpointSlice] = informers.informer(
            discovery_pb2.EndpointSlice)
        ensure_index(self.slices, LABELS_INDEX, index_by_label)
        self.services.add_handler(on_add=self.enqueue,
                                  on_update=lambda old, new: self.enqueue(new))
        self.pods.add_handler(on_add=self._pod_changed,
                              on_update=self._pod_changed,
                              on_delete=self._pod_changed)
        self.slices.add_handler(on_update=lambda old, new: self._slice_changed(new),
                                on_delete=self._slice_changed)

    def _pod_changed(self, *pods: core_pb2.Pod) -> None:
        namespace = pods[-1].metadata.namespace
        for service in self.services.by_index(NAMESPACE_INDEX, namespace):
            selector = selector_from_labels(service.spec.selector)
            if selects(service) and any(selector.matches(p.metadata.labels) for p in pods):
                self.enqueue(service)

    def _slice_changed(self, endpoint_slice: discovery_pb2.EndpointSlice) -> None:
        labels = endpoint_slice.metadata.labels
        service = labels.get(discovery.SERVICE_NAME_LABEL)
        if labels.get(discovery.MANAGED_BY_LABEL) == discovery.MANAGED_BY_CONTROLLER and service:
            self.queue.add(f"{endpoint_slice.metadata.namespace}/{service}")

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        existing = {
            s.metadata.name: s
            for s in self.slices.by_index(LABELS_INDEX, f"{discovery.SERVICE_NAME_LABEL}={name}")
            if s.metadata.namespace == namespace
            and s.metadata.labels.get(discovery.MANAGED_BY_LABEL) == discovery.MANAGED_BY_CONTROLLER
        }
        service = self.services.get(key)
        if service is None:
            return  # its slices are owned by it: the garbage collector removes them
        wanted = []
        if selects(service):
            zones = {n.metadata.name: n.metadata.labels.get(ZONE_LABEL, "")
                     for n in self.nodes.list()}
            pods = self.pods.by_index(NAMESPACE_INDEX, namespace)
            wanted = desired_slices(service, pods, zones)
        for endpoint_slice in wanted:
            current = existing.pop(endpoint_slice.metadata.name, None)
            if current is None:
                with contextlib.suppress(errors.AlreadyExists):  # the cache is behind
                    await self.client.create(endpoint_slice)
                self.log.info("event=slice_created service=%s slice=%s endpoints=%d", key,
                              endpoint_slice.metadata.name, len(endpoint_slice.endpoints))
            elif differs(current, endpoint_slice):
                endpoint_slice.metadata.resource_version = current.metadata.resource_version
                endpoint_slice.metadata.uid = current.metadata.uid
                await self.client.update(endpoint_slice)  # a Conflict retries the key
                self.log.info("event=slice_updated service=%s slice=%s endpoints=%d", key,
                              endpoint_slice.metadata.name, len(endpoint_slice.endpoints))
        for stale in existing.values():
            with contextlib.suppress(errors.NotFound):
                await self.client.delete(discovery_pb2.EndpointSlice, stale.metadata.name,
                                         namespace, uid=stale.metadata.uid)
            self.log.info("event=slice_deleted service=%s slice=%s", key, object_key(stale))
