"""Leader election through a real API server: one leader, and a takeover when it dies."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from corral.client import Client
from corral.leaderelection import LeaderElector
from corral.v1 import coordination_pb2

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="function")]


class Candidate:
    def __init__(self, client: Client, lease: str, identity: str,
                 release_on_cancel: bool = True) -> None:
        self.elector = LeaderElector(
            client, lease, identity, lease_duration=2, renew_deadline=1.5, retry_period=0.25,
            release_on_cancel=release_on_cancel,
        )
        self.leading = asyncio.Event()
        self.task = asyncio.create_task(self.elector.run(self._lead))

    async def _lead(self) -> None:
        self.leading.set()
        await asyncio.Event().wait()

    async def die(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_one_of_two_leads_and_the_other_takes_over_when_it_dies(client: Client) -> None:
    lease_name = f"test-{uuid.uuid4().hex[:8]}"
    a = Candidate(client, lease_name, "a", release_on_cancel=False)
    b = Candidate(client, lease_name, "b", release_on_cancel=False)
    done, _ = await asyncio.wait(
        [asyncio.create_task(a.leading.wait()), asyncio.create_task(b.leading.wait())],
        timeout=10, return_when=asyncio.FIRST_COMPLETED,
    )
    assert done, "nobody became leader"
    await asyncio.sleep(1.0)  # several renewals
    assert a.elector.is_leader != b.elector.is_leader
    leader, follower = (a, b) if a.elector.is_leader else (b, a)
    assert not follower.leading.is_set()

    lease = await client.get(coordination_pb2.Lease, lease_name, "corral-system")
    assert lease.spec.holder_identity == leader.elector.identity
    assert lease.spec.lease_duration_seconds == 2

    loop = asyncio.get_running_loop()
    died = loop.time()
    await leader.die()  # without releasing: the lease must expire
    await asyncio.wait_for(follower.leading.wait(), 10)
    took = loop.time() - died
    assert took < 2 + 0.25 + 1.0, f"takeover took {took:.1f}s"

    lease = await client.get(coordination_pb2.Lease, lease_name, "corral-system")
    assert lease.spec.holder_identity == follower.elector.identity
    assert lease.spec.lease_transitions == 1
    await follower.die()
    released = await client.get(coordination_pb2.Lease, lease_name, "corral-system")
    assert released.spec.holder_identity == follower.elector.identity  # release_on_cancel=False


async def test_a_graceful_stop_releases_the_lease_for_an_immediate_takeover(
    client: Client,
) -> None:
    lease_name = f"test-{uuid.uuid4().hex[:8]}"
    first = Candidate(client, lease_name, "first")
    await asyncio.wait_for(first.leading.wait(), 10)
    second = Candidate(client, lease_name, "second")
    await asyncio.sleep(0.5)
    assert not second.leading.is_set()
    await first.die()
    await asyncio.wait_for(second.leading.wait(), 1.0)
    await second.die()
    lease = await client.get(coordination_pb2.Lease, lease_name, "corral-system")
    assert lease.spec.holder_identity == ""
    assert lease.spec.lease_transitions == 1
