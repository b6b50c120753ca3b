"""Cluster IPs and node ports, allocated by the API server and claimed in etcd with the
Service: unique under concurrency, across two API servers and across restarts."""

from __future__ import annotations

import asyncio

import pytest

from corral.api import errors
from corral.api.v1 import core_pb2
from corral.client.client import Client
from tests.apiserver_process import ApiServerProcess
from tests.etcd_container import EtcdContainer

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="function")]


def web(name: str, namespace: str, *, cluster_ip: str = "", type_: str = "",
        node_port: int = 0) -> core_pb2.Service:
    svc = core_pb2.Service()
    svc.metadata.name, svc.metadata.namespace = name, namespace
    svc.spec.selector["app"] = name
    svc.spec.cluster_ip = cluster_ip
    if type_:
        svc.spec.type = type_
    svc.spec.ports.add(port=80, target_port="8080", node_port=node_port)
    return svc


async def test_a_service_gets_a_cluster_ip_that_an_update_keeps_and_may_not_change(
        client: Client, namespace: str) -> None:
    created = await client.create(web("web", namespace))
    ip = created.spec.cluster_ip
    assert ip.startswith("10.96.") and list(created.spec.cluster_ips) == [ip]
    created.spec.cluster_ip = ""
    del created.spec.cluster_ips[:]
    created.spec.selector["tier"] = "front"
    updated = await client.update(created)
    assert updated.spec.cluster_ip == ip
    updated.spec.cluster_ip = "10.96.250.250"
    with pytest.raises(errors.Invalid, match=r"spec\.clusterIP.*immutable"):
        await client.update(updated)


async def test_a_requested_address_is_honoured_if_free_else_refused_naming_the_holder(
        client: Client, namespace: str) -> None:
    first = await client.create(web("first", namespace, cluster_ip="10.96.200.10"))
    assert first.spec.cluster_ip == "10.96.200.10"
    with pytest.raises(errors.Invalid,
                       match=f"10.96.200.10 is already allocated to service {namespace}/first"):
        await client.create(web("second", namespace, cluster_ip="10.96.200.10"))
    with pytest.raises(errors.Invalid, match="not in the service cluster IP range"):
        await client.create(web("third", namespace, cluster_ip="192.168.1.1"))
    await client.delete("Service", "first", namespace)
    again = await client.create(web("second", namespace, cluster_ip="10.96.200.10"))
    assert again.spec.cluster_ip == "10.96.200.10"  # a deleted Service's address is free


async def test_headless_and_external_name_services_get_no_address(
        client: Client, namespace: str) -> None:
    headless = await client.create(web("db", namespace, cluster_ip="None"))
    assert (headless.spec.cluster_ip, list(headless.spec.cluster_ips)) == ("None", ["None"])
    alias = core_pb2.Service()
    alias.metadata.name, alias.metadata.namespace = "search", namespace
    alias.spec.type, alias.spec.external_name = "ExternalName", "search.example"
    assert (await client.create(alias)).spec.cluster_ip == ""


async def test_node_ports_are_allocated_and_a_duplicate_is_refused_naming_the_holder(
        client: Client, namespace: str) -> None:
    picked = await client.create(web("web", namespace, type_="NodePort"))
    assert 30000 <= picked.spec.ports[0].node_port <= 32767
    await client.create(web("fixed", namespace, type_="NodePort", node_port=31999))
    with pytest.raises(errors.Invalid,
                       match=f"port 31999/TCP is already allocated to service {namespace}/fixed"):
        await client.create(web("clash", namespace, type_="NodePort", node_port=31999))
    picked.spec.ports[0].node_port = 0  # re-applying without the port keeps it
    assert (await client.update(picked)).spec.ports[0].node_port > 0


async def test_sctp_is_refused_with_the_port_named(client: Client, namespace: str) -> None:
    svc = web("sctp", namespace)
    svc.spec.ports[0].protocol = "SCTP"
    with pytest.raises(errors.Invalid, match=r"spec.ports\[0\].protocol.*SCTP is not supported"):
        await client.create(svc)


async def test_two_hundred_concurrent_creates_through_two_api_servers_get_distinct_addresses(
        private_etcd: EtcdContainer, private_apiserver: ApiServerProcess) -> None:
    with ApiServerProcess(private_etcd.endpoint) as second:
        async with Client(private_apiserver.address) as one, Client(second.address) as two:
            created = await asyncio.gather(*(
                (one if i % 2 else two).create(web(f"s{i}", "default")) for i in range(200)
            ))
            addresses = {svc.spec.cluster_ip for svc in created}
            assert len(addresses) == 200
    private_apiserver.restart()
    async with Client(private_apiserver.address) as client:
        listed = await client.list("Service", "default")
        kept = {svc.spec.cluster_ip for svc in listed.items if svc.metadata.name.startswith("s")}
        assert kept == addresses
        # After the restart no address is handed out twice either.
        fresh = await client.create(web("after-restart", "default"))
        assert fresh.spec.cluster_ip not in addresses
