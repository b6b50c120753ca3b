"""corral-dns's loop: informers on Services and EndpointSlices feed the record index the
resolver answers from; the DNS listeners run until cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clusterdns.records import DEFAULT_DOMAIN, ClusterRecords
from clusterdns.server import Resolver, Upstream, serve
from corral.api.v1 import core_pb2, discovery_pb2
from corral.client import Client, SharedInformers

_log = logging.getLogger("corral.dns")


@dataclass(frozen=True)
class Options:
    server: str
    listen_host: str = "0.0.0.0"
    listen_port: int = 53
    domain: str = DEFAULT_DOMAIN
    upstreams: Sequence[Upstream] = ()
    upstream_timeout: float = 2.0


class ClusterDns:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.client = Client(options.server)
        self.informers = SharedInformers(self.client)
        self.services = self.informers.informer(core_pb2.Service)
        self.slices = self.informers.informer(discovery_pb2.EndpointSlice)
        self._records = ClusterRecords(options.domain)
        self._stale = True
        for informer in (self.services, self.slices):
            informer.add_handler(on_add=self._changed, on_update=self._changed,
                                 on_delete=self._changed)
        self.resolver = Resolver(self.records, options.upstreams, options.upstream_timeout)
        self.port = 0

    def _changed(self, *_: Any) -> None:
        self._stale = True

    def records(self) -> ClusterRecords:
        """The index, rebuilt once after any change since the last query."""
        if self._stale:
            self._stale = False
            self._records = ClusterRecords.build(
                self.options.domain, self.services.list(), self.slices.list())
        return self._records

    async def run(self) -> None:
        self.informers.start()
        try:
            await self.informers.wait_for_sync()
            stop, self.port = await serve(self.resolver, self.options.listen_host,
                                          self.options.listen_port)
            _log.info("event=serving host=%s port=%d domain=%s upstreams=%s",
                      self.options.listen_host, self.port, self.options.domain,
                      ",".join(f"{h}:{p}" for h, p in self.options.upstreams) or "none")
            try:
                await _forever()
            finally:
                stop()
        finally:
            await self.informers.stop()
            await self.client.close()


async def _forever() -> None:
    await asyncio.Event().wait()  # until the runner cancels on SIGTERM/SIGINT
