"""Informer behaviour that needs no API server; the rest is in
tests/integration/test_informer.py, against a real one."""

import asyncio

import pytest

from corral.api.meta import split_key
from corral.client.client import Client
from corral.client.informer import Informer


@pytest.mark.asyncio
async def test_wait_for_sync_times_out_when_the_server_cannot_be_reached():
    async with Client("127.0.0.1:1", retries=0) as client:  # nothing listens on port 1
        informer = Informer(client, "Pod", max_backoff=0.1)
        runner = asyncio.create_task(informer.run())
        assert await informer.wait_for_sync(0.3) is False
        assert not informer.has_synced
        informer.stop()
        await runner


def test_split_key_gives_namespace_and_name():
    assert split_key("default/web") == ("default", "web")
    assert split_key("node-1") == ("", "node-1")
