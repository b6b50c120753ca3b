"""corral-proxy with real nftables and real containers: a container reaches another
through a Service's cluster IP, a Service without ready endpoints refuses at once, and
cleaning up leaves no table and no route behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import docker
import pytest

from corral.api.v1 import core_pb2, discovery_pb2
from corral.client.client import Client
from corral.images import TEST_IMAGE
from proxy.ruleset import table_name
from proxy.service import Options, Proxy, cleanup
from tests.integration.controller_harness import eventually

pytestmark = [
    pytest.mark.integration, pytest.mark.asyncio,
    pytest.mark.skipif(shutil.which("nft") is None or os.geteuid() != 0,
                       reason="needs nft and root"),
]

CIDR = "10.96.0.0/16"  # the API server's default range, so allocated IPs fall in it


@pytest.fixture
def containers() -> Iterator[tuple[str, docker.models.containers.Container]]:
    """A backend serving HTTP on 8080 and a client, on a network of the test's own."""
    engine = docker.from_env()
    tag = uuid.uuid4().hex[:8]
    network = engine.networks.create(f"corral-proxy-test-{tag}", driver="bridge")
    started = []
    try:
        backend = engine.containers.run(
            TEST_IMAGE, ["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && "
                              "exec httpd -f -p 8080 -h /www"],
            name=f"corral-proxy-backend-{tag}", network=network.name, detach=True)
        started.append(backend)
        client = engine.containers.run(TEST_IMAGE, ["sleep", "600"],
                                       name=f"corral-proxy-client-{tag}",
                                       network=network.name, detach=True)
        started.append(client)
        backend.reload()
        ip = backend.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        yield ip, client
    finally:
        for container in started:
            container.remove(force=True)
        network.remove()


@contextlib.asynccontextmanager
async def running_proxy(server: str, cluster: str) -> AsyncIterator[Proxy]:
    proxy = Proxy(Options(server=server, cluster=cluster, service_cidr=CIDR))
    task = asyncio.ensure_future(proxy.run())
    try:
        async def synced() -> bool:
            if task.done():
                task.result()
            return proxy.synced > 0

        await eventually(synced, what="the first sync")
        yield proxy
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await cleanup(cluster, CIDR)
        await proxy.client.close()


def fetch(client: docker.models.containers.Container, address: str, port: int
          ) -> tuple[int, str, float]:
    """An HTTP GET with nc (busybox-static's wget crashes); exit code, output, seconds."""
    started = time.monotonic()
    request = "printf 'GET / HTTP/1.0\\r\\n\\r\\n'"
    code, output = client.exec_run(["sh", "-c", f"{request} | nc -w 5 {address} {port}"])
    return code, output.decode(), time.monotonic() - started


async def test_a_cluster_ip_reaches_a_ready_endpoint_and_refuses_without_one(
        apiserver, client: Client, namespace: str, containers) -> None:
    backend_ip, client_container = containers
    svc = core_pb2.Service()
    svc.metadata.name, svc.metadata.namespace = "web", namespace
    svc.spec.selector["app"] = "web"
    svc.spec.ports.add(name="http", port=80, target_port="8080")
    svc = await client.create(svc)
    endpoint_slice = discovery_pb2.EndpointSlice(address_type="IPv4")
    endpoint_slice.metadata.name, endpoint_slice.metadata.namespace = "web-1", namespace
    endpoint_slice.metadata.labels["kubernetes.io/service-name"] = "web"
    endpoint_slice.ports.add(name="http", port=8080, protocol="TCP")
    endpoint_slice.endpoints.add(addresses=[backend_ip]).conditions.ready = True
    endpoint_slice = await client.create(endpoint_slice)
    cluster = f"t{uuid.uuid4().hex[:6]}"

    async with running_proxy(apiserver.address, cluster):
        async def served() -> str | None:
            code, output, _ = await asyncio.to_thread(fetch, client_container,
                                                      svc.spec.cluster_ip, 80)
            return output if code == 0 and output else None

        assert (await eventually(served, what="the Service to answer")).endswith("\r\n\r\nhello\n")
        assert subprocess.run(["nft", "list", "table", "ip", table_name(cluster)],
                              capture_output=True).returncode == 0

        endpoint_slice.endpoints[0].conditions.ready = False
        await client.update(endpoint_slice)

        async def refused() -> float | None:
            code, output, seconds = await asyncio.to_thread(fetch, client_container,
                                                            svc.spec.cluster_ip, 80)
            return seconds if code != 0 and "refused" in output else None

        assert await eventually(refused, what="no endpoints to refuse") < 1.0

    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert table_name(cluster) not in tables
    routes = subprocess.run(["ip", "route", "show", "table", "local", CIDR],
                            capture_output=True, text=True).stdout
    assert routes.strip() == ""
