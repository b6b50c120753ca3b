"""corral-dns against a real API server: real DNS queries over UDP and TCP on loopback,
and forwarding to a stub upstream the test starts (never the machine's resolvers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from clusterdns.records import ClusterRecords
from clusterdns.server import Resolver, serve
from clusterdns.service import ClusterDns, Options
from corral.api.v1 import core_pb2, discovery_pb2
from corral.client.client import Client
from tests.apiserver_process import ApiServerProcess
from tests.integration.controller_harness import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]


@contextlib.asynccontextmanager
async def stub_upstream() -> AsyncIterator[int]:
    """A DNS server on loopback that knows web.shop.svc.upstream.test (and nothing else)."""
    svc = core_pb2.Service()
    svc.metadata.name, svc.metadata.namespace = "web", "shop"
    svc.spec.cluster_ip = "192.0.2.7"
    known = ClusterRecords.build("upstream.test", [svc], [])
    stop, port = await serve(Resolver(lambda: known, []), "127.0.0.1", 0)
    try:
        yield port
    finally:
        stop()


@contextlib.asynccontextmanager
async def cluster_dns(server: str, upstream_port: int) -> AsyncIterator[int]:
    dns_server = ClusterDns(Options(server=server, listen_host="127.0.0.1", listen_port=0,
                                    upstreams=[("127.0.0.1", upstream_port)],
                                    upstream_timeout=0.5))
    task = asyncio.ensure_future(dns_server.run())
    try:
        await eventually(lambda: _port(dns_server, task), what="corral-dns to serve")
        yield dns_server.port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _port(dns_server: ClusterDns, task: asyncio.Future[None]) -> int:
    if task.done():
        task.result()
    return dns_server.port


async def ask(port: int, name: str, qtype: str = "A", *, tcp: bool = False
              ) -> dns.message.Message:
    query = dns.message.make_query(name, qtype)
    if tcp:
        return await dns.asyncquery.tcp(query, "127.0.0.1", port=port, timeout=3)
    return await dns.asyncquery.udp(query, "127.0.0.1", port=port, timeout=3)


def addresses(response: dns.message.Message) -> list[str]:
    return sorted(r.to_text() for rrset in response.answer for r in rrset)


async def test_services_resolve_by_name_and_other_names_are_forwarded(
        apiserver: ApiServerProcess, client: Client, namespace: str) -> None:
    web = core_pb2.Service()
    web.metadata.name, web.metadata.namespace = "web", namespace
    web.spec.selector["app"] = "web"
    web.spec.ports.add(name="http", port=80)
    web = await client.create(web)
    db = core_pb2.Service()
    db.metadata.name, db.metadata.namespace = "db", namespace
    db.spec.cluster_ip = "None"
    db.spec.selector["app"] = "db"
    db.spec.ports.add(port=5432)
    await client.create(db)
    endpoint_slice = discovery_pb2.EndpointSlice(address_type="IPv4")
    endpoint_slice.metadata.name, endpoint_slice.metadata.namespace = "db-1", namespace
    endpoint_slice.metadata.labels["kubernetes.io/service-name"] = "db"
    endpoint_slice.endpoints.add(addresses=["10.1.0.1"]).conditions.ready = True
    endpoint_slice.endpoints.add(addresses=["10.1.0.2"]).conditions.ready = False
    await client.create(endpoint_slice)

    async with stub_upstream() as upstream, cluster_dns(apiserver.address, upstream) as port:
        fqdn = f"web.{namespace}.svc.cluster.local"

        async def web_resolves() -> list[str]:
            return addresses(await ask(port, fqdn))

        assert await eventually(web_resolves, what="web") == [web.spec.cluster_ip]
        assert addresses(await ask(port, fqdn, tcp=True)) == [web.spec.cluster_ip]
        assert addresses(await ask(port, f"db.{namespace}.svc.cluster.local")) == ["10.1.0.1"]
        assert addresses(await ask(port, f"_http._tcp.{fqdn}", "SRV")) == [f"0 100 80 {fqdn}."]
        assert addresses(await ask(port, f"10-1-0-9.{namespace}.pod.cluster.local")) == [
            "10.1.0.9"]
        missing = await ask(port, f"nope.{namespace}.svc.cluster.local")
        assert missing.rcode() == dns.rcode.NXDOMAIN

        # A new Service resolves once the informer has it: no restart, no API call per query.
        later = core_pb2.Service()
        later.metadata.name, later.metadata.namespace = "later", namespace
        later.spec.ports.add(port=8080)
        later = await client.create(later)

        async def later_resolves() -> list[str]:
            return addresses(await ask(port, f"later.{namespace}.svc.cluster.local"))

        assert await eventually(later_resolves, what="later") == [later.spec.cluster_ip]

        forwarded = await ask(port, "web.shop.svc.upstream.test")
        assert addresses(forwarded) == ["192.0.2.7"]

    # With the upstream gone, a forwarded name is SERVFAIL after the timeout, not a hang.
    async with stub_upstream() as upstream:
        pass
    async with cluster_dns(apiserver.address, upstream) as port:
        failed = await ask(port, "web.shop.svc.upstream.test")
        assert failed.rcode() == dns.rcode.SERVFAIL
