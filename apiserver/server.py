"""Wires the API server together: etcd storage, the watch cache, the gRPC
service with health and reflection, and the default namespaces."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from apiserver.allocation import (
    DEFAULT_SERVICE_CLUSTER_IP_RANGE,
    DEFAULT_SERVICE_NODE_PORT_RANGE,
    Ranges,
)
from apiserver.metrics import METRICS
from apiserver.service import ApiService
from apiserver.storage import Storage
from apiserver.watchcache import WatchCache
from corral.api import errors, kinds
from corral.api.v1 import api_pb2, api_pb2_grpc, core_pb2

log = logging.getLogger("corral.apiserver")

# Namespaces that exist from the first start on.
# corral-node-lease holds the agents' heartbeat Leases, one per node.
INITIAL_NAMESPACES = ("default", "corral-system", "corral-node-lease")
SERVICE_NAME = api_pb2.DESCRIPTOR.services_by_name["Api"].full_name


class ApiServer:
    def __init__(
        self,
        listen: str,
        etcd_endpoints: Sequence[str],
        *,
        bookmark_interval: float = 5.0,
        history: int = 20_000,
        ranges: Ranges | None = None,
    ) -> None:
        self.listen = listen
        self.storage = Storage(etcd_endpoints)
        self.cache = WatchCache(
            kinds.KINDS, self.storage, bookmark_interval=bookmark_interval, history=history
        )
        self.service = ApiService(self.storage, self.cache, METRICS, ranges or Ranges.parse(
            DEFAULT_SERVICE_CLUSTER_IP_RANGE, DEFAULT_SERVICE_NODE_PORT_RANGE))
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 512 * 1024 * 1024),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 5000),
                ("grpc.so_reuseport", 0),
            ]
        )
        api_pb2_grpc.add_ApiServicer_to_server(self.service, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )
        self.port = 0
        self._bootstrap: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Starts serving; returns the port. Readiness follows once etcd answers."""
        self.port = self.server.add_insecure_port(self.listen)
        if not self.port:
            raise OSError(f"cannot listen on {self.listen}")
        await self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        self.cache.start()
        await self.server.start()
        self._bootstrap = asyncio.create_task(self._become_ready())
        log.info(
            "event=listening address=%s etcd=%s", self.listen, ",".join(self.storage.endpoints)
        )
        return self.port

    async def _become_ready(self) -> None:
        await self.cache.wait_ready()
        delay = 0.2
        while True:
            try:
                await ensure_namespaces(self.service)
                break
            except errors.Unavailable as error:
                log.warning("event=bootstrap_retry reason=%r", str(error))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        await self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        log.info("event=ready")

    async def wait_ready(self, timeout: float | None = None) -> None:
        assert self._bootstrap is not None, "start() first"
        await asyncio.wait_for(asyncio.shield(self._bootstrap), timeout)

    async def stop(self, grace: float | None = 1.0) -> None:
        await self.health.enter_graceful_shutdown()
        if self._bootstrap is not None:
            self._bootstrap.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._bootstrap
        await self.cache.stop()
        await self.server.stop(grace)
        await self.storage.close()


async def ensure_namespaces(service: ApiService) -> None:
    for name in INITIAL_NAMESPACES:
        namespace = core_pb2.Namespace()
        namespace.metadata.name = name
        with contextlib.suppress(errors.AlreadyExists):
            await service.create_object(namespace)
