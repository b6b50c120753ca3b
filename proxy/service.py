"""corral-proxy's loop: watch Services and EndpointSlices, and after any change replace
the cluster's nftables table in one `nft -f` transaction (proxy/ruleset.py renders it).

Before anything else the service range is routed to this host (`local` route), so a
packet to a cluster IP that has no rule yet is answered here and never leaves the
machine. Changes that arrive while a sync runs are folded into the next one.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from dataclasses import dataclass
from typing import Any

import prometheus_client

from corral.api.v1 import core_pb2, discovery_pb2
from corral.client import Client, SharedInformers
from proxy.ruleset import render, service_ports, table_name

_log = logging.getLogger("corral.proxy")

SYNCS = prometheus_client.Counter("corral_proxy_syncs", "Rule syncs by result.", ["result"])
SYNC_SECONDS = prometheus_client.Histogram(
    "corral_proxy_sync_duration_seconds", "Render and `nft -f` of one sync.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
RULES = prometheus_client.Gauge("corral_proxy_service_ports", "Service ports programmed.")
LAST_SYNC = prometheus_client.Gauge("corral_proxy_last_sync_timestamp_seconds",
                                    "When the rules were last replaced.")


class ProxyError(Exception):
    """nftables or routing cannot be used here; the message says what to fix."""


@dataclass(frozen=True)
class Options:
    server: str
    cluster: str = "corral"
    service_cidr: str = "10.96.0.0/16"
    # The least time between two syncs: a burst of changes costs one sync.
    min_sync_interval: float = 0.05


async def _run(*argv: str, stdin: str | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate(stdin.encode() if stdin is not None else None)
    if process.returncode != 0:
        raise ProxyError(f"`{' '.join(argv)}` failed: {err.decode().strip()}")
    return out.decode()


async def check_nftables() -> None:
    if shutil.which("nft") is None:
        raise ProxyError("nft is not installed (Debian: apt-get install nftables)")
    try:
        await _run("nft", "list", "tables")
    except ProxyError as error:
        raise ProxyError(f"nftables is not usable here (run as root with NET_ADMIN): "
                         f"{error}") from None


async def route_service_range(cidr: str) -> None:
    """Cluster IPs are this host's: unmatched packets to them stay here."""
    await _run("ip", "route", "replace", "local", cidr, "dev", "lo", "table", "local")


async def cleanup(cluster: str, cidr: str) -> None:
    """Removes the cluster's table and the service range's route (what `make down`
    and `corral-proxy --cleanup` do); absent ones are fine."""
    tables = await _run("nft", "list", "tables")
    if f"table ip {table_name(cluster)}" in tables.splitlines():
        await _run("nft", "delete", "table", "ip", table_name(cluster))
    routes = await _run("ip", "route", "show", "table", "local", cidr)
    if routes.strip():
        await _run("ip", "route", "del", "local", cidr, "dev", "lo", "table", "local")


class Proxy:
    def __init__(self, options: Options, client: Client | None = None) -> None:
        self.options = options
        self.client = client or Client(options.server)
        self.informers = SharedInformers(self.client)
        self.services = self.informers.informer(core_pb2.Service)
        self.slices = self.informers.informer(discovery_pb2.EndpointSlice)
        self._changed = asyncio.Event()
        for informer in (self.services, self.slices):
            informer.add_handler(on_add=self._mark, on_update=self._mark, on_delete=self._mark)
        self.synced = 0  # syncs done, for tests and metrics

    def _mark(self, *_: Any) -> None:
        self._changed.set()

    async def sync(self) -> None:
        started = time.monotonic()
        ports = service_ports(self.services.list(), self.slices.list())
        try:
            await _run("nft", "-f", "-", stdin=render(self.options.cluster, ports))
        except ProxyError:
            SYNCS.labels("error").inc()
            raise
        SYNCS.labels("ok").inc()
        SYNC_SECONDS.observe(time.monotonic() - started)
        RULES.set(len(ports))
        LAST_SYNC.set(time.time())
        self.synced += 1
        _log.info("event=synced cluster=%s service_ports=%d seconds=%.3f",
                  self.options.cluster, len(ports), time.monotonic() - started)

    async def run(self) -> None:
        await check_nftables()
        await route_service_range(self.options.service_cidr)
        self.informers.start()
        try:
            await self.informers.wait_for_sync()
            self._changed.set()
            while True:
                await self._changed.wait()
                self._changed.clear()
                try:
                    await self.sync()
                except ProxyError as error:
                    _log.warning("event=sync_failed error=%s", error)
                    self._changed.set()  # try again after the pause
                await asyncio.sleep(self.options.min_sync_interval)
        finally:
            await self.informers.stop()
