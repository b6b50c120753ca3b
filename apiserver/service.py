"""The corral.v1.Api service: the same verbs for every kind, on etcd.

Writes go to etcd as transactions comparing the revision they read; reads of
single objects go to etcd; watches, and lists without pagination, are served
from the watch cache once it has caught up with etcd.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import importlib.metadata
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message

from apiserver import admission, codec
from apiserver.allocation import Allocator, Claims, Ranges, claims_of
from apiserver.metrics import Metrics
from apiserver.proxy import AgentProxy
from apiserver.retry import WRITE_ATTEMPTS, ReadAgain, WriteConflict, retry_on_conflict
from apiserver.storage import Storage, Stored
from apiserver.watchcache import Filter, WatchCache
from corral.api import (
    InvalidSelector,
    Kind,
    errors,
    from_label_selector,
    is_deleting,
    kinds,
    meta,
    parse_field_selector,
    parse_label_selector,
)
from corral.api.v1 import api_pb2, api_pb2_grpc, apps_pb2, core_pb2

log = logging.getLogger("corral.apiserver")

Request = TypeVar("Request")
Response = TypeVar("Response")
# Lists of more than this many items read etcd in pages of this size.
LIST_PAGE = 1000
# How long a list waits for the watch cache before reading etcd instead.
CACHE_WAIT_SECONDS = 1.0


@runtime_checkable
class _WithStatus(Protocol):
    """An object whose kind has a status (`Kind.has_status`)."""

    @property
    def status(self) -> Message: ...


def rpc(
    verb: str,
) -> Callable[[Callable[..., Awaitable[Response]]], Callable[..., Awaitable[Response]]]:
    """Turns corral errors into gRPC statuses and records the call's metrics."""

    def wrap(method: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(method)
        async def handler(
            self: ApiService, request: Any, context: grpc.aio.ServicerContext
        ) -> Response:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                return await method(self, request, context)
            except errors.ApiError as error:
                code = error.code
                await context.abort(error.code, error.message)
                raise  # abort raises; this keeps type checkers content
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as error:
                code = grpc.StatusCode.INTERNAL
                log.exception("event=internal_error verb=%s", verb)
                await context.abort(code, f"internal error in {verb}: {error!r}")
                raise
            finally:
                self.metrics.observe(
                    _kind_label(request), verb, code, time.perf_counter() - started
                )

        return handler

    return wrap


def _kind_label(request: Any) -> str:
    """The kind a request is about, as a metric label (never user-supplied text)."""
    if isinstance(request, api_pb2.BindRequest):
        return "Pod"
    name = getattr(request, "kind", "")
    if not name and hasattr(request, "object"):
        name = request.object.type_url.rpartition(".")[2]
    try:
        return kinds.lookup(name).name
    except kinds.UnknownKind:
        return "unknown"


class ApiService(api_pb2_grpc.ApiServicer):
    def __init__(
        self, storage: Storage, cache: WatchCache, metrics: Metrics, ranges: Ranges
    ) -> None:
        self.storage = storage
        self.cache = cache
        self.metrics = metrics
        # Services' cluster IPs and node ports, claimed in etcd with the Service.
        self.allocator = Allocator(storage, ranges)
        # Logs and Exec: streamed through the agent of the pod's node.
        self.proxy = AgentProxy(self._read)

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _kind(name: str) -> Kind:
        if not name:
            raise errors.Invalid("a kind is required", field="kind")
        try:
            return kinds.lookup(name)
        except kinds.UnknownKind as error:
            raise errors.Invalid(str(error), field="kind") from None

    @staticmethod
    def _unpack(wrapped: any_pb2.Any) -> tuple[Kind, Message]:
        if not wrapped.type_url:
            raise errors.Invalid("an object is required", field="object")
        try:
            obj = kinds.unpack(wrapped)
        except kinds.UnknownKind as error:
            raise errors.Invalid(str(error), field="object") from None
        except Exception as error:  # a corrupt payload from a client
            raise errors.Invalid(f"cannot decode the object: {error}", field="object") from None
        return kinds.of_message(obj), obj

    @staticmethod
    def _namespace(kind: Kind, namespace: str) -> str:
        if not kind.namespaced:
            return ""
        return namespace or "default"

    @staticmethod
    def _describe(kind: Kind, namespace: str, name: str) -> str:
        return f'{kind.name} "{namespace}/{name}"' if kind.namespaced else f'{kind.name} "{name}"'

    async def _read(self, kind: Kind, namespace: str, name: str) -> tuple[Stored, Message]:
        if not name:
            raise errors.Invalid("a name is required", field="metadata.name")
        stored = await self.storage.get(codec.object_key(kind, namespace, name))
        if stored is None:
            raise errors.NotFound(f"{self._describe(kind, namespace, name)} not found")
        return stored, codec.decode(kind, stored.value, stored.mod_revision)

    async def _read_for_write(
        self, kind: Kind, namespace: str, name: str, *, cached: bool = True, version: str = ""
    ) -> tuple[Stored, Message]:
        """The object to change, from the watch cache when it may do: a write
        compares the revision it read, so a stale copy costs a retry, not an
        error (callers read etcd when they retry, and before they refuse on a
        precondition). With `version`, only a cached copy at that version
        will do. The object is the caller's to change."""
        entry = self.cache[kind].get(codec.object_key(kind, namespace, name)) if name else None
        if entry is None or not cached or (version and version != str(entry.revision)):
            return await self._read(kind, namespace, name)
        obj = kind.message()
        obj.CopyFrom(entry.obj)
        return Stored(codec.object_key(kind, namespace, name), entry.raw, entry.revision), obj

    async def _check_namespace(self, kind: Kind, namespace: str) -> None:
        """Namespaced objects may only be created in an active namespace."""
        if not kind.namespaced:
            return
        ns_kind = kinds.by_name("Namespace")
        key = codec.object_key(ns_kind, "", namespace)
        entry = self.cache[ns_kind].get(key)
        if entry is not None:
            ns = entry.obj
        else:  # the cache may not have seen a namespace created just now
            stored = await self.storage.get(key)
            if stored is None:
                raise errors.Invalid(
                    f'namespace "{namespace}" does not exist', field="metadata.namespace"
                )
            ns = codec.decode(ns_kind, stored.value, stored.mod_revision)
        if is_deleting(ns):
            raise errors.Invalid(
                f'namespace "{namespace}" is being terminated; nothing new can be created in it',
                field="metadata.namespace",
            )

    async def _write(
        self, kind: Kind, stored: Stored, obj: Message,
        claims: Claims | None = None, released: frozenset[bytes] = frozenset(),
    ) -> tuple[any_pb2.Any, int]:
        """Stores obj over stored (compare-and-swap), taking the new claims and giving
        up the released ones with it, or removes it (and all it holds) when it is
        deleted and its finalizers are done; the result and its revision.
        WriteConflict when someone else changed it since it was read."""
        raw = codec.encode(obj)
        if is_deleting(obj) and admission.finalizers_done(kind, obj):
            revision = await self.storage.delete(
                stored.key, stored.mod_revision, released=_held(obj) | released
            )
        elif raw == stored.value:
            revision = stored.mod_revision  # nothing changed: no write, no new version
        else:
            admission.check_size(kind, raw)
            revision = await self.storage.update(
                stored.key, raw, stored.mod_revision, claims=claims, released=released
            )
        if revision is None:
            raise self._conflict(kind, obj)
        return codec.to_any(kind, raw, revision), revision

    def _conflict(self, kind: Kind, obj: Message) -> WriteConflict:
        metadata = meta.metadata(obj)
        where = self._describe(kind, metadata.namespace, metadata.name)
        return WriteConflict(
            f"{where} was changed by someone else "
            "(its resourceVersion moved on): read it again and retry"
        )

    # -------------------------------------------------------------- verbs

    @rpc("Create")
    async def Create(self, request: api_pb2.CreateRequest, context: Any) -> api_pb2.ObjectResponse:
        _, obj = self._unpack(request.object)
        return api_pb2.ObjectResponse(object=await self.create_object(obj, dry_run=request.dry_run))

    async def create_object(self, obj: Message, *, dry_run: bool = False) -> any_pb2.Any:
        kind = kinds.of_message(obj)
        metadata = meta.metadata(obj)
        metadata.namespace = self._namespace(kind, metadata.namespace)
        generate = not metadata.name and bool(metadata.generate_name)
        # A generated name that is taken already: generate another.
        # A Service whose picked address or port someone took meanwhile: pick again.
        allocates = isinstance(obj, core_pb2.Service)
        retry = generate or allocates
        # What was asked for, to start again from if a picked address is taken (Services
        # only: other kinds' creates, the hot path, copy nothing).
        requested = obj.SerializeToString(deterministic=True) if allocates else b""
        for _ in range(WRITE_ATTEMPTS if retry else 1):
            if generate:
                metadata.name = ""
            admission.prepare_create(kind, obj)
            await self._check_namespace(kind, metadata.namespace)
            claims: Claims = {}
            if isinstance(obj, core_pb2.Service):
                claims = await self.allocator.allocate(obj, None)
            raw = codec.encode(obj)
            admission.check_size(kind, raw)
            if dry_run:
                return codec.to_any(kind, raw, 0)
            key = codec.object_key(kind, metadata.namespace, metadata.name)
            revision = await self.storage.create(key, raw, claims)
            if revision is not None:
                return codec.to_any(kind, raw, revision)
            if not generate and (not claims or await self.storage.get(key) is not None):
                break
            if claims:  # start again from what was asked for, not from what was picked
                name = metadata.name
                obj.ParseFromString(requested)
                metadata = meta.metadata(obj)
                metadata.namespace = self._namespace(kind, metadata.namespace)
                metadata.name = "" if generate else name
        raise errors.AlreadyExists(
            f"{self._describe(kind, metadata.namespace, metadata.name)} already exists"
        )

    @rpc("Get")
    async def Get(self, request: api_pb2.GetRequest, context: Any) -> api_pb2.ObjectResponse:
        kind = self._kind(request.kind)
        namespace = self._namespace(kind, request.namespace)
        stored, _ = await self._read(kind, namespace, request.name)
        return api_pb2.ObjectResponse(object=codec.to_any(kind, stored.value, stored.mod_revision))

    @rpc("Update")
    async def Update(self, request: api_pb2.UpdateRequest, context: Any) -> api_pb2.ObjectResponse:
        return await self._update(request, status=False)

    @rpc("UpdateStatus")
    async def UpdateStatus(
        self, request: api_pb2.UpdateRequest, context: Any
    ) -> api_pb2.ObjectResponse:
        return await self._update(request, status=True)

    async def _update(
        self, request: api_pb2.UpdateRequest, *, status: bool
    ) -> api_pb2.ObjectResponse:
        kind, obj = self._unpack(request.object)
        if status and not kind.has_status:
            raise errors.Invalid(f"{kind.name} has no status", field="status")
        metadata = meta.metadata(obj)
        namespace = self._namespace(kind, metadata.namespace)
        if metadata.resource_version:
            stored, old = await self._read_for_write(
                kind, namespace, metadata.name, version=metadata.resource_version
            )
        else:  # an unconditional update must not lose to a stale cache
            stored, old = await self._read(kind, namespace, metadata.name)
        if metadata.resource_version and metadata.resource_version != str(stored.mod_revision):
            raise errors.Conflict(
                f"{self._describe(kind, namespace, metadata.name)}: resourceVersion "
                f"{metadata.resource_version} is stale (now {stored.mod_revision}): "
                "read it again and retry"
            )
        if status:
            new = kind.message()
            new.CopyFrom(old)
            _copy_status(obj, new)
        else:
            new = obj
            metadata.namespace = namespace
            if kind.has_status:
                _copy_status(old, new)
        claims: Claims = {}
        if isinstance(new, core_pb2.Service) and isinstance(old, core_pb2.Service):
            claims = await self.allocator.allocate(new, old)
        admission.prepare_update(kind, old, new)
        if request.dry_run:
            return api_pb2.ObjectResponse(
                object=codec.to_any(kind, codec.encode(new), stored.mod_revision)
            )
        written, _ = await self._write(
            kind, stored, new, claims=claims, released=_held(old) - _held(new)
        )
        return api_pb2.ObjectResponse(object=written)

    @rpc("Delete")
    async def Delete(self, request: api_pb2.DeleteRequest, context: Any) -> api_pb2.ObjectResponse:
        kind = self._kind(request.kind)
        if request.propagation_policy not in admission.PROPAGATION_POLICIES:
            raise errors.Invalid(
                f'"{request.propagation_policy}" is not a propagation policy '
                "(use Background, Foreground or Orphan)",
                field="propagationPolicy",
            )
        if request.HasField("grace_period_seconds") and request.grace_period_seconds < 0:
            raise errors.Invalid("must be 0 or more", field="gracePeriodSeconds")
        namespace = self._namespace(kind, request.namespace)
        grace = request.grace_period_seconds if request.HasField("grace_period_seconds") else None
        where = self._describe(kind, namespace, request.name)

        async def attempt(cached: bool) -> api_pb2.ObjectResponse:
            stored, obj = await self._read_for_write(kind, namespace, request.name, cached=cached)
            metadata = meta.metadata(obj)
            preconditions_hold = (not request.uid or request.uid == metadata.uid) and (
                not request.resource_version or request.resource_version == str(stored.mod_revision)
            )
            if cached and not preconditions_hold:
                raise ReadAgain  # perhaps only the cache is behind: ask etcd
            if request.uid and request.uid != metadata.uid:
                raise errors.Conflict(
                    f"{where} has uid {metadata.uid}, not {request.uid}: it was replaced"
                )
            if request.resource_version and request.resource_version != str(stored.mod_revision):
                raise errors.Conflict(
                    f"{where}: resourceVersion "
                    f"{request.resource_version} is stale (now {stored.mod_revision})"
                )
            graceful = (
                bool(metadata.finalizers)
                or request.propagation_policy in ("Foreground", "Orphan")
                or kind.name == "Namespace"
            )
            if graceful:
                admission.mark_deleted(kind, obj, grace, request.propagation_policy)
            if request.dry_run:
                return api_pb2.ObjectResponse(
                    object=codec.to_any(kind, codec.encode(obj), stored.mod_revision)
                )
            if graceful:
                written, _ = await self._write(kind, stored, obj)
                return api_pb2.ObjectResponse(object=written)
            revision = await self.storage.delete(
                stored.key, stored.mod_revision, released=_held(obj)
            )
            if revision is None:
                raise self._conflict(kind, obj)
            return api_pb2.ObjectResponse(object=codec.to_any(kind, stored.value, revision))

        return await retry_on_conflict(attempt, kept_changing=f"{where} kept changing; try again")

    @rpc("List")
    async def List(self, request: api_pb2.ListRequest, context: Any) -> api_pb2.ListResponse:
        kind = self._kind(request.kind)
        flt = self._filter(kind, request.namespace, request.label_selector, request.field_selector)
        if request.limit < 0:
            raise errors.Invalid("must be 0 or more", field="limit")
        token = getattr(request, "continue")  # a Python keyword
        if not request.limit and not token:
            cache = self.cache[kind]
            await cache.ready.wait()
            revision = await self.storage.revision()
            if await cache.wait_for(revision, CACHE_WAIT_SECONDS):
                return api_pb2.ListResponse(
                    items=cache.snapshot(flt), resource_version=str(cache.revision)
                )
        return await self._list_from_etcd(kind, flt, request.limit, token)

    async def _list_from_etcd(
        self, kind: Kind, flt: Filter, limit: int, token: str
    ) -> api_pb2.ListResponse:
        prefix = codec.kind_prefix(kind, flt.namespace)
        (start, end), revision = codec.object_range(kind, flt.namespace), 0
        if token:
            revision, start = _decode_continue(token, prefix)
        items: list[any_pb2.Any] = []
        more = True
        last_key = b""
        while more and (not limit or len(items) < limit):
            page = max(limit - len(items), 1) if limit else LIST_PAGE
            if flt.labels or flt.fields:
                page = max(page, 100)  # filtered lists read ahead
            try:
                stored, more, header = await self.storage.range(
                    start, end, limit=page, revision=revision
                )
            except errors.Expired:
                raise errors.Expired(
                    f"the list's resourceVersion {revision} was compacted; "
                    "list again from the start"
                ) from None
            revision = revision or header
            for item in stored:
                last_key = item.key
                entry_obj = codec.decode(kind, item.value, item.mod_revision)
                if _matches(flt, entry_obj):
                    items.append(codec.to_any(kind, item.value, item.mod_revision))
                    if limit and len(items) >= limit:
                        more = more or item is not stored[-1]
                        break
            if stored:
                start = last_key + b"\0"
        token = _encode_continue(revision, last_key + b"\0") if more and last_key else ""
        return api_pb2.ListResponse(
            items=items, resource_version=str(revision), **{"continue": token}
        )

    def _filter(self, kind: Kind, namespace: str, labels: str, fields: str) -> Filter:
        try:
            label_selector = parse_label_selector(labels) if labels else None
        except InvalidSelector as error:
            raise errors.Invalid(str(error), field="labelSelector") from None
        try:
            field_selector = parse_field_selector(fields, kind.message) if fields else None
        except InvalidSelector as error:
            raise errors.Invalid(str(error), field="fieldSelector") from None
        return Filter(namespace if kind.namespaced else "", label_selector, field_selector)

    async def Watch(
        self, request: api_pb2.WatchRequest, context: Any
    ) -> AsyncIterator[api_pb2.WatchEvents]:
        try:
            kind = self._kind(request.kind)
            flt = self._filter(
                kind, request.namespace, request.label_selector, request.field_selector
            )
            after: int | None = None
            if request.resource_version not in ("", "0"):
                try:
                    after = int(request.resource_version)
                except ValueError:
                    raise errors.Invalid(
                        f'"{request.resource_version}" is not a resourceVersion',
                        field="resourceVersion",
                    ) from None
            cache = self.cache[kind]
            await cache.ready.wait()
            watcher = cache.watch(flt, after, request.allow_bookmarks)
        except errors.ApiError as error:
            self.metrics.observe(request.kind, "Watch", error.code, 0.0)
            await context.abort(error.code, error.message)
            return
        self.metrics.watchers.labels(kind.name).inc()
        try:
            async for batch in watcher.batches():
                yield api_pb2.WatchEvents(events=batch)
        except errors.ApiError as error:
            await context.abort(error.code, error.message)
        finally:
            cache.unwatch(watcher)
            self.metrics.watchers.labels(kind.name).dec()

    @rpc("Bind")
    async def Bind(self, request: api_pb2.BindRequest, context: Any) -> api_pb2.BindResponse:
        results = await asyncio.gather(*(self._bind(b) for b in request.bindings))
        return api_pb2.BindResponse(results=results)

    async def _bind(self, binding: api_pb2.Binding) -> api_pb2.BindResult:
        kind = kinds.by_name("Pod")
        namespace = binding.namespace or "default"
        try:
            if not binding.node_name:
                raise errors.Invalid("a node name is required", field="nodeName")
            where = self._describe(kind, namespace, binding.name)

            async def attempt(cached: bool) -> api_pb2.BindResult:
                stored, pod = await self._read_for_write(
                    kind, namespace, binding.name, cached=cached
                )
                assert isinstance(pod, core_pb2.Pod)
                if cached and binding.uid and binding.uid != pod.metadata.uid:
                    raise ReadAgain  # perhaps only the cache is behind: ask etcd
                if binding.uid and binding.uid != pod.metadata.uid:
                    raise errors.Conflict(f"{where} has uid {pod.metadata.uid}, not {binding.uid}")
                if pod.spec.node_name:
                    raise errors.FailedPrecondition(
                        f"{where} is already bound to node {pod.spec.node_name}"
                    )
                if is_deleting(pod):
                    raise errors.FailedPrecondition(f"{where} is being deleted")
                pod.spec.node_name = binding.node_name
                _set_condition(pod, "PodScheduled", "True")
                _, revision = await self._write(kind, stored, pod)
                return api_pb2.BindResult(code=0, resource_version=str(revision))

            return await retry_on_conflict(
                attempt, kept_changing=f"{where} kept changing while binding; try again"
            )
        except errors.ApiError as error:
            return api_pb2.BindResult(code=error.code.value[0], message=error.message)

    @rpc("Scale")
    async def Scale(self, request: api_pb2.ScaleRequest, context: Any) -> api_pb2.ScaleResponse:
        kind = self._kind(request.kind)
        if not kind.scalable:
            raise errors.Invalid(
                f"{kind.name} cannot be scaled (Deployment and ReplicaSet can)", field="kind"
            )
        if request.HasField("replicas") and request.replicas < 0:
            raise errors.Invalid("must be 0 or more", field="spec.replicas")
        namespace = self._namespace(kind, request.namespace)

        async def attempt(cached: bool) -> api_pb2.ScaleResponse:
            # A read alone must be current; a change may start from the cache.
            stored, obj = await self._read_for_write(
                kind, namespace, request.name, cached=cached and request.HasField("replicas")
            )
            # The scalable kinds (Kind.scalable), which share the replica fields.
            assert isinstance(obj, apps_pb2.Deployment | apps_pb2.ReplicaSet)
            revision = stored.mod_revision
            if request.HasField("replicas") and obj.spec.replicas != request.replicas:
                obj.spec.replicas = request.replicas
                obj.metadata.generation += 1
                _, revision = await self._write(kind, stored, obj)
            return api_pb2.ScaleResponse(
                replicas=obj.spec.replicas,
                status_replicas=obj.status.replicas,
                selector=str(from_label_selector(obj.spec.selector)),
                resource_version=str(revision),
            )

        where = self._describe(kind, namespace, request.name)
        return await retry_on_conflict(attempt, kept_changing=f"{where} kept changing; try again")

    async def Logs(
        self, request: api_pb2.LogsRequest, context: Any
    ) -> AsyncIterator[api_pb2.LogChunk]:
        """A container's log, from the agent of the pod's node (apiserver/proxy.py)."""
        async for chunk in self.proxy.logs(request, context):
            yield chunk

    async def Exec(
        self, request_iterator: AsyncIterator[api_pb2.ExecInput], context: Any
    ) -> AsyncIterator[api_pb2.ExecOutput]:
        """A command in a pod's container, through the agent of its node (apiserver/proxy.py)."""
        async for output in self.proxy.exec(request_iterator, context):
            yield output

    @rpc("GetServerInfo")
    async def GetServerInfo(
        self, request: api_pb2.ServerInfoRequest, context: Any
    ) -> api_pb2.ServerInfo:
        return api_pb2.ServerInfo(
            version=_version(),
            etcd_version=await self.storage.version(),
            revision=str(await self.storage.revision()),
        )


def _held(obj: Message) -> frozenset[bytes]:
    """The claim keys (apiserver/allocation.py) an object holds: a Service's cluster IP and
    node ports; nothing for other kinds."""
    return frozenset(claims_of(obj)) if isinstance(obj, core_pb2.Service) else frozenset()


def _matches(flt: Filter, obj: Message) -> bool:
    metadata = meta.metadata(obj)
    if flt.namespace and metadata.namespace != flt.namespace:
        return False
    if flt.labels is not None and not flt.labels.matches(metadata.labels):
        return False
    return flt.fields is None or flt.fields.matches(obj)


def _copy_status(source: Message, target: Message) -> None:
    """Sets target's status to source's (two objects of one kind that has a status)."""
    assert isinstance(source, _WithStatus) and isinstance(target, _WithStatus)
    target.status.CopyFrom(source.status)


def _set_condition(pod: core_pb2.Pod, type_: str, status: str) -> None:
    for condition in pod.status.conditions:
        if condition.type == type_:
            if condition.status != status:
                condition.status = status
                condition.last_transition_time.CopyFrom(admission.now())
            return
    pod.status.conditions.add(type=type_, status=status).last_transition_time.CopyFrom(
        admission.now()
    )


def _encode_continue(revision: int, start: bytes) -> str:
    token = {"rv": revision, "start": base64.b64encode(start).decode()}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def _decode_continue(token: str, prefix: bytes) -> tuple[int, bytes]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        revision, start = int(data["rv"]), base64.b64decode(data["start"])
    except (ValueError, KeyError, TypeError):
        raise errors.Invalid("not a continue token from this server", field="continue") from None
    if not start.startswith(prefix):
        raise errors.Invalid("the continue token belongs to another list", field="continue")
    return revision, start


def _version() -> str:
    try:
        return importlib.metadata.version("corral")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+unknown"
