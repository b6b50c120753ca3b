"""A tiny in-memory corral.v1.Api server for testing the client, informer and leader
election without etcd: revisions, optimistic concurrency, paginated lists, watches
with history, compaction (watching from a compacted revision ends OUT_OF_RANGE),
and a switch to fail calls with UNAVAILABLE. No selectors, no validation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest_asyncio

from corral import kinds
from corral.v1 import api_pb2, api_pb2_grpc


class FakeApi(api_pb2_grpc.ApiServicer):
    def __init__(self) -> None:
        self.revision = 1
        self.compacted = 0
        self.objects: dict[tuple[str, str, str], Any] = {}
        self.history: list[api_pb2.WatchEvent] = []
        self.changed = asyncio.Condition()
        self.unavailable_calls = 0
        self.calls: list[str] = []

    async def _gate(self, name: str, context: grpc.aio.ServicerContext) -> None:
        self.calls.append(name)
        if self.unavailable_calls > 0:
            self.unavailable_calls -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "etcd is unavailable")

    async def _record(self, type_: str, obj) -> None:
        async with self.changed:
            self.history.append(api_pb2.WatchEvent(
                type=type_, object=kinds.pack(obj), resource_version=str(self.revision)))
            self.changed.notify_all()

    def _next_revision(self) -> str:
        self.revision += 1
        return str(self.revision)

    def compact(self) -> None:
        self.compacted = self.revision
        self.history = [e for e in self.history if int(e.resource_version) > self.compacted]

    async def Create(self, request, context):
        await self._gate("Create", context)
        obj: Any = kinds.unpack(request.object)
        kind = kinds.of_message(obj)
        key = (kind.name, obj.metadata.namespace, obj.metadata.name)
        if key in self.objects:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS,
                                f"{kind.name} {obj.metadata.name} already exists")
        obj.metadata.uid = str(uuid.uuid4())
        obj.metadata.resource_version = self._next_revision()
        self.objects[key] = obj
        await self._record("ADDED", obj)
        return api_pb2.ObjectResponse(object=kinds.pack(obj))

    async def Get(self, request, context):
        await self._gate("Get", context)
        obj: Any = self.objects.get((request.kind, request.namespace, request.name))
        if obj is None:
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"{request.kind} {request.namespace}/{request.name} not found")
        return api_pb2.ObjectResponse(object=kinds.pack(obj))

    async def List(self, request, context):
        await self._gate("List", context)
        keys = sorted(k for k in self.objects if k[0] == request.kind
                      and (not request.namespace or k[1] == request.namespace))
        start = int(getattr(request, "continue") or 0)
        end = start + request.limit if request.limit else len(keys)
        return api_pb2.ListResponse(
            items=[kinds.pack(self.objects[k]) for k in keys[start:end]],
            resource_version=str(self.revision),
            **{"continue": str(end) if end < len(keys) else ""},
        )

    async def Update(self, request, context):
        await self._gate("Update", context)
        obj: Any = kinds.unpack(request.object)
        kind = kinds.of_message(obj)
        key = (kind.name, obj.metadata.namespace, obj.metadata.name)
        stored: Any = self.objects.get(key)
        if stored is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"{kind.name} {key[2]} not found")
        if obj.metadata.resource_version != stored.metadata.resource_version:
            await context.abort(grpc.StatusCode.ABORTED, f"{kind.name} {key[2]} was modified")
        obj.metadata.uid = stored.metadata.uid
        obj.metadata.resource_version = self._next_revision()
        self.objects[key] = obj
        await self._record("MODIFIED", obj)
        return api_pb2.ObjectResponse(object=kinds.pack(obj))

    UpdateStatus = Update

    async def Delete(self, request, context):
        await self._gate("Delete", context)
        key = (request.kind, request.namespace, request.name)
        obj: Any = self.objects.pop(key, None)
        if obj is None:
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"{request.kind} {request.namespace}/{request.name} not found")
        obj.metadata.resource_version = self._next_revision()
        await self._record("DELETED", obj)
        return api_pb2.ObjectResponse(object=kinds.pack(obj))

    async def Watch(self, request, context):
        await self._gate("Watch", context)
        if request.resource_version:
            after = int(request.resource_version)
            if after < self.compacted:
                await context.abort(grpc.StatusCode.OUT_OF_RANGE,
                                    f"resourceVersion {after} is compacted")
        else:
            after = self.revision
        while True:
            async with self.changed:
                newer = [e for e in self.history if int(e.resource_version) > after]
                if not newer:
                    await self.changed.wait()
                    continue
            after = int(newer[-1].resource_version)
            for event in newer:
                if kinds.unpack(event.object).DESCRIPTOR.name == request.kind:
                    yield event

    async def Bind(self, request, context):
        await self._gate("Bind", context)
        results = []
        for binding in request.bindings:
            pod = self.objects.get(("Pod", binding.namespace, binding.name))
            if pod is None:
                results.append(api_pb2.BindResult(
                    code=grpc.StatusCode.NOT_FOUND.value[0],
                    message=f"pod {binding.name} not found"))
                continue
            pod.spec.node_name = binding.node_name
            pod.metadata.resource_version = self._next_revision()
            await self._record("MODIFIED", pod)
            results.append(api_pb2.BindResult(resource_version=pod.metadata.resource_version))
        return api_pb2.BindResponse(results=results)

    async def GetServerInfo(self, request, context):
        await self._gate("GetServerInfo", context)
        return api_pb2.ServerInfo(version="fake", revision=str(self.revision))


class FakeServer:
    """Runs a FakeApi on a free localhost port; stop() and start() again on the same port."""

    def __init__(self) -> None:
        self.api = FakeApi()
        self.port = 0
        self.server: grpc.aio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = grpc.aio.server()
        api_pb2_grpc.add_ApiServicer_to_server(self.api, self.server)
        self.port = self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(grace=None)
            self.server = None


@pytest_asyncio.fixture
async def fake_server():
    """Import into a test module to get a running FakeServer."""
    server = FakeServer()
    await server.start()
    yield server
    await server.stop()
