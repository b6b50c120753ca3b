"""The API server's one compare-and-swap retry loop (apiserver/retry.py)."""

from __future__ import annotations

import pytest

from apiserver.retry import WRITE_ATTEMPTS, ReadAgain, WriteConflict, retry_on_conflict
from corral.api import errors

pytestmark = pytest.mark.asyncio(loop_scope="function")


async def test_lost_races_are_retried_and_only_the_first_attempt_may_read_the_cache() -> None:
    seen: list[bool] = []

    async def attempt(cached: bool) -> str:
        seen.append(cached)
        if len(seen) == 1:
            raise ReadAgain
        if len(seen) == 2:
            raise WriteConflict("someone else wrote")
        return "written"

    assert await retry_on_conflict(attempt, kept_changing="kept changing") == "written"
    assert seen == [True, False, False]


async def test_a_conflict_that_is_not_a_lost_race_reaches_the_caller_at_once() -> None:
    calls = 0

    async def attempt(cached: bool) -> None:
        nonlocal calls
        calls += 1
        raise errors.Conflict("has uid a, not b: it was replaced")

    with pytest.raises(errors.Conflict, match="it was replaced"):
        await retry_on_conflict(attempt, kept_changing="kept changing")
    assert calls == 1


async def test_gives_up_with_conflict_after_write_attempts() -> None:
    calls = 0

    async def attempt(cached: bool) -> None:
        nonlocal calls
        calls += 1
        raise WriteConflict("someone else wrote")

    message = 'Pod "default/web" kept changing; try again'
    with pytest.raises(errors.Conflict) as raised:
        await retry_on_conflict(attempt, kept_changing=message)
    assert str(raised.value) == message
    assert type(raised.value) is errors.Conflict
    assert calls == WRITE_ATTEMPTS
