"""Leader election against the in-memory fake API server (no etcd)."""

import asyncio

import pytest

from corral.client import Client
from corral.leaderelection import LeaderElector, lease_expired
from corral.v1 import coordination_pb2
from tests.unit import fake_api

fake_server = fake_api.fake_server


def elector(client: Client, identity: str, **kwargs) -> LeaderElector:
    options = {"lease_duration": 2, "renew_deadline": 1, "retry_period": 0.1, **kwargs}
    return LeaderElector(client, "test-lease", identity, **options)


class Leadership:
    """Runs one elector and records whether and when it led."""

    def __init__(self, elector: LeaderElector) -> None:
        self.elector = elector
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self.task = asyncio.create_task(elector.run(self._lead, self._stop))

    async def _lead(self) -> None:
        self.started.set()
        await asyncio.Event().wait()

    def _stop(self) -> None:
        self.stopped.set()

    async def cancel(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def lease(client: Client) -> coordination_pb2.Lease:
    return await client.get(coordination_pb2.Lease, "test-lease", "corral-system")


@pytest.mark.asyncio
async def test_only_one_of_two_candidates_leads(fake_server):
    async with Client(fake_server.address) as client:
        a, b = Leadership(elector(client, "a")), Leadership(elector(client, "b"))
        await asyncio.wait_for(
            asyncio.wait([asyncio.create_task(a.started.wait()),
                          asyncio.create_task(b.started.wait())],
                         return_when=asyncio.FIRST_COMPLETED), 5)
        await asyncio.sleep(0.5)  # several renew periods
        assert a.elector.is_leader != b.elector.is_leader
        assert a.started.is_set() != b.started.is_set()
        leader = "a" if a.elector.is_leader else "b"
        assert (await lease(client)).spec.holder_identity == leader
        await a.cancel()
        await b.cancel()


@pytest.mark.asyncio
async def test_a_dead_leaders_lease_is_taken_over_after_it_expires(fake_server):
    async with Client(fake_server.address) as client:
        first = Leadership(elector(client, "first", release_on_cancel=False))
        await asyncio.wait_for(first.started.wait(), 5)
        second = Leadership(elector(client, "second"))
        await asyncio.sleep(0.3)
        assert not second.started.is_set()
        loop = asyncio.get_running_loop()
        died = loop.time()
        await first.cancel()  # dies without releasing
        await asyncio.wait_for(second.started.wait(), 5)
        took = loop.time() - died
        assert 1.0 < took < 2 + 0.5
        held = await lease(client)
        assert held.spec.holder_identity == "second"
        assert held.spec.lease_transitions == 1
        await second.cancel()


@pytest.mark.asyncio
async def test_a_released_lease_is_taken_over_at_once(fake_server):
    async with Client(fake_server.address) as client:
        first = Leadership(elector(client, "first"))
        await asyncio.wait_for(first.started.wait(), 5)
        second = Leadership(elector(client, "second"))
        await asyncio.sleep(0.2)
        await first.cancel()
        assert first.stopped.is_set()
        assert not first.elector.is_leader
        await asyncio.wait_for(second.started.wait(), 0.5)
        await second.cancel()
        assert (await lease(client)).spec.holder_identity == ""


@pytest.mark.asyncio
async def test_a_leader_that_cannot_renew_stops_leading_within_the_renew_deadline(fake_server):
    async with Client(fake_server.address, retries=0) as client:
        only = Leadership(elector(client, "only"))
        await asyncio.wait_for(only.started.wait(), 5)
        fake_server.api.unavailable_calls = 1000
        await asyncio.wait_for(only.stopped.wait(), 1 + 0.5)
        await asyncio.wait_for(only.task, 1)
        assert not only.elector.is_leader


@pytest.mark.asyncio
async def test_run_returns_when_the_leading_work_finishes_and_releases(fake_server):
    async with Client(fake_server.address) as client:
        stopped: list[bool] = []

        async def work() -> None:
            await asyncio.sleep(0.05)

        async def on_stopped() -> None:
            stopped.append(True)

        await asyncio.wait_for(elector(client, "a").run(work, on_stopped), 5)
        assert stopped == [True]
        assert (await lease(client)).spec.holder_identity == ""


def test_elector_rejects_inconsistent_timings():
    with pytest.raises(ValueError, match="lease_duration > renew_deadline > retry_period"):
        LeaderElector(Client("x:1"), "l", "me", lease_duration=5, renew_deadline=10)
    with pytest.raises(ValueError, match="identity"):
        LeaderElector(Client("x:1"), "l", "")


def test_lease_expires_lease_duration_after_the_last_renewal():
    lease = coordination_pb2.Lease()
    assert lease_expired(lease, 0)
    lease.spec.renew_time.FromSeconds(100)
    lease.spec.lease_duration_seconds = 15
    assert not lease_expired(lease, 114.9)
    assert lease_expired(lease, 115.1)
