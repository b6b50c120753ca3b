import asyncio
import logging

import pytest

from corral.api import errors
from corral.client.workqueue import ExponentialBackoff, ShutDown, WorkQueue, run_workers


@pytest.mark.asyncio
async def test_keys_come_out_first_in_first_out():
    queue = WorkQueue()
    for key in ("a", "b", "c"):
        queue.add(key)
    assert [await queue.get() for _ in range(3)] == ["a", "b", "c"]


@pytest.mark.asyncio
async def test_duplicate_adds_while_waiting_collapse_into_one():
    queue = WorkQueue()
    queue.add("a")
    queue.add("b")
    queue.add("a")
    assert len(queue) == 2
    assert queue.len() == 2
    assert await queue.get() == "a"
    assert await queue.get() == "b"
    assert len(queue) == 0


@pytest.mark.asyncio
async def test_key_readded_while_processing_is_not_handed_to_another_worker_until_done():
    queue = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    assert len(queue) == 0
    second_get = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    assert not second_get.done()
    queue.done(key)
    assert await asyncio.wait_for(second_get, 1) == "a"


@pytest.mark.asyncio
async def test_key_done_without_readd_is_not_queued_again():
    queue = WorkQueue()
    queue.add("a")
    queue.done(await queue.get())
    assert len(queue) == 0


@pytest.mark.asyncio
async def test_many_workers_never_process_one_key_concurrently():
    queue = WorkQueue()
    in_progress: set[str] = set()
    overlaps: list[str] = []
    processed: list[str] = []

    async def sync(key: str) -> None:
        if key in in_progress:
            overlaps.append(key)
        in_progress.add(key)
        await asyncio.sleep(0.002)
        in_progress.discard(key)
        processed.append(key)

    runner = asyncio.create_task(run_workers(queue, sync, 8, logging.getLogger("test")))
    for round_ in range(20):
        for key in ("a", "b", "c"):
            queue.add(key)
        await asyncio.sleep(0.001 * (round_ % 3))
    await asyncio.sleep(0.1)
    queue.shutdown()
    await asyncio.wait_for(runner, 2)
    assert overlaps == []
    assert {"a", "b", "c"} <= set(processed)


@pytest.mark.asyncio
async def test_add_after_delivers_keys_in_due_order():
    queue = WorkQueue()
    queue.add_after("late", 0.06)
    queue.add_after("early", 0.02)
    queue.add_after("now", 0)
    assert await asyncio.wait_for(queue.get(), 1) == "now"
    assert len(queue) == 0
    assert await asyncio.wait_for(queue.get(), 1) == "early"
    assert await asyncio.wait_for(queue.get(), 1) == "late"


@pytest.mark.asyncio
async def test_add_after_keeps_the_earliest_of_several_delays_for_one_key():
    queue = WorkQueue()
    queue.add_after("a", 10)
    queue.add_after("a", 0.01)
    queue.add_after("a", 5)
    assert await asyncio.wait_for(queue.get(), 1) == "a"
    queue.done("a")
    await asyncio.sleep(0.05)
    assert len(queue) == 0


def test_backoff_doubles_per_failure_up_to_the_cap_and_resets_on_forget():
    backoff = ExponentialBackoff(base_delay=0.005, max_delay=1.0)
    delays = [backoff.when("k") for _ in range(10)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == 1.0
    assert max(delays) == 1.0
    assert backoff.when("other") == 0.005
    backoff.forget("k")
    assert backoff.when("k") == 0.005


def test_backoff_survives_very_many_failures():
    backoff = ExponentialBackoff(base_delay=0.005, max_delay=1000.0)
    for _ in range(2000):
        delay = backoff.when("k")
    assert delay == 1000.0


def test_backoff_rejects_a_cap_below_the_base():
    with pytest.raises(ValueError, match="base_delay"):
        ExponentialBackoff(base_delay=2, max_delay=1)


@pytest.mark.asyncio
async def test_rate_limited_adds_wait_longer_each_time_until_forgotten():
    queue = WorkQueue(base_delay=0.02, max_delay=1.0)
    loop = asyncio.get_running_loop()
    waits = []
    for _ in range(3):
        start = loop.time()
        queue.add_rate_limited("k")
        key = await asyncio.wait_for(queue.get(), 2)
        waits.append(loop.time() - start)
        queue.done(key)
    assert queue.num_requeues("k") == 3
    assert waits[0] >= 0.015 and waits[1] >= 0.035 and waits[2] >= 0.075
    queue.forget("k")
    assert queue.num_requeues("k") == 0


@pytest.mark.asyncio
async def test_shutdown_wakes_waiting_getters_and_ignores_later_adds():
    queue = WorkQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.add_after("delayed", 0.01)
    queue.shutdown()
    with pytest.raises(ShutDown):
        await asyncio.wait_for(getter, 1)
    queue.add("a")
    assert len(queue) == 0
    with pytest.raises(ShutDown):
        await queue.get()
    await asyncio.sleep(0.03)
    assert len(queue) == 0


@pytest.mark.asyncio
async def test_cancelled_getter_does_not_swallow_a_key():
    queue = WorkQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    first.cancel()
    queue.add("a")
    assert await asyncio.wait_for(second, 1) == "a"


@pytest.mark.asyncio
async def test_run_workers_retries_a_failing_key_with_backoff_and_forgets_on_success(caplog):
    queue = WorkQueue("pods", base_delay=0.001, max_delay=0.01)
    attempts: dict[str, int] = {}

    async def sync(key: str) -> None:
        attempts[key] = attempts.get(key, 0) + 1
        if attempts[key] == 1:
            raise errors.Conflict(f"pods {key} was modified")
        if attempts[key] == 2:
            raise RuntimeError("boom")

    runner = asyncio.create_task(run_workers(queue, sync, 2, logging.getLogger("ctl")))
    queue.add("default/web")
    for _ in range(100):
        await asyncio.sleep(0.01)
        if attempts.get("default/web") == 3:
            break
    queue.shutdown()
    await asyncio.wait_for(runner, 2)
    assert attempts == {"default/web": 3}
    assert queue.num_requeues("default/web") == 0
    failures = [r.getMessage() for r in caplog.records if "event=sync_failed" in r.getMessage()]
    assert len(failures) == 2
    assert all("key=default/web" in message for message in failures)
    assert "Conflict" in failures[0]


@pytest.mark.asyncio
async def test_run_workers_rejects_zero_workers():
    with pytest.raises(ValueError, match="at least 1 worker"):
        await run_workers(WorkQueue(), lambda key: asyncio.sleep(0), 0, logging.getLogger())
