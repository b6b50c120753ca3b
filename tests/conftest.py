"""Fixtures that start real components: etcd in a container, the API server
as a process. Session-wide ones are shared (tests use their own namespaces or
names); tests that restart or compact etcd take the per-test ones."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from corral.api.v1 import core_pb2
from corral.client.client import Client
from tests.apiserver_process import ApiServerProcess
from tests.etcd_container import EtcdContainer


@pytest.fixture(scope="session")
def etcd() -> Iterator[EtcdContainer]:
    with EtcdContainer() as container:
        yield container


@pytest.fixture(scope="session")
def apiserver(etcd: EtcdContainer) -> Iterator[ApiServerProcess]:
    with ApiServerProcess(etcd.endpoint) as server:
        yield server


@pytest.fixture
def private_etcd() -> Iterator[EtcdContainer]:
    """An etcd of the test's own, for tests that stop or compact it."""
    with EtcdContainer() as container:
        yield container


@pytest.fixture
def private_apiserver(private_etcd: EtcdContainer) -> Iterator[ApiServerProcess]:
    with ApiServerProcess(private_etcd.endpoint) as server:
        yield server


@pytest_asyncio.fixture
async def client(apiserver: ApiServerProcess) -> AsyncIterator[Client]:
    async with Client(apiserver.address) as api:
        yield api


@pytest_asyncio.fixture
async def namespace(client: Client) -> AsyncIterator[str]:
    """A fresh namespace for one test."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    ns = core_pb2.Namespace()
    ns.metadata.name = name
    await client.create(ns)
    yield name
