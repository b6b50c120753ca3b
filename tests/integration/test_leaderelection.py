"""Leader election through a real API server: one leader, a takeover when it dies or lets
go, and a leader that stops leading when it cannot reach the server."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from corral.api.v1 import coordination_pb2
from corral.client.client import Client
from corral.client.leaderelection import LeaderElector
from tests.apiserver_process import ApiServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="function")]


class Candidate:
    """Runs one elector whose leading work waits for ever; records when it starts and stops."""

    def __init__(self, client: Client, lease: str, identity: str,
                 release_on_cancel: bool = True) -> None:
        self.elector = LeaderElector(
            client, lease, identity, lease_duration=2, renew_deadline=1.5, retry_period=0.25,
            release_on_cancel=release_on_cancel,
        )
        self.leading = asyncio.Event()
        self.stopped = asyncio.Event()
        self.task = asyncio.create_task(self.elector.run(self._lead, self.stopped.set))

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
    # Not before the lease expires (it was renewed at most a retry period before the death),
    # and soon after.
    assert 2 - 0.25 - 0.1 < took < 2 + 0.25 + 1.0, f"takeover took {took:.1f}s"

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
    assert first.stopped.is_set() and not first.elector.is_leader
    await asyncio.wait_for(second.leading.wait(), 1.0)
    await second.die()
    lease = await client.get(coordination_pb2.Lease, lease_name, "corral-system")
    assert lease.spec.holder_identity == ""
    assert lease.spec.lease_transitions == 1


async def test_a_leader_that_cannot_renew_stops_leading_within_the_renew_deadline(
    private_apiserver: ApiServerProcess,
) -> None:
    async with Client(private_apiserver.address, retries=0) as client:
        only = Candidate(client, "test-lease", "only")
        await asyncio.wait_for(only.leading.wait(), 10)
        # Its last renewal happened before the server went away.
        await asyncio.to_thread(private_apiserver.stop)
        await asyncio.wait_for(only.stopped.wait(), 1.5 + 0.25 + 0.5)
        await asyncio.wait_for(only.task, 1)  # run() returns: leadership was lost
        assert not only.elector.is_leader


async def test_run_returns_when_the_leading_work_finishes_and_releases_the_lease(
    client: Client,
) -> None:
    lease_name = f"test-{uuid.uuid4().hex[:8]}"
    elector = LeaderElector(
        client, lease_name, "a", lease_duration=2, renew_deadline=1.5, retry_period=0.25
    )
    stopped: list[bool] = []

    async def work() -> None:
        await asyncio.sleep(0.05)

    async def on_stopped() -> None:
        stopped.append(elector.is_leader)

    await asyncio.wait_for(elector.run(work, on_stopped), 10)
    assert stopped == [False]
    lease = await client.get(coordination_pb2.Lease, lease_name, "corral-system")
    assert lease.spec.holder_identity == ""
