"""Read-modify-write against etcd: retry a compare-and-swap that lost a race.

Every write compares the revision it read (apiserver/storage.py), so a
handler that reads an object, changes it and writes it back (Delete, Bind,
Scale) may find that someone else wrote in between. Such a handler runs its
read-check-write as one `attempt` through `retry_on_conflict`: the first
attempt may read the watch cache (a stale copy costs a retry, not an error),
the others read etcd; an attempt that lost the race is run again with a fresh
read, up to WRITE_ATTEMPTS times, and then the object "kept changing".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from corral.api import errors

Result = TypeVar("Result")

# Writes that lose a race with another writer are retried this often.
WRITE_ATTEMPTS = 5


class WriteConflict(errors.Conflict):
    """The compare-and-swap failed: the object changed (or went) since it was read.
    A Conflict to a client that wrote once; a reason to read again in a retry loop."""


class ReadAgain(Exception):
    """A check failed on a cached read, which may only be behind: read etcd and try again.
    Raised by an attempt that was told it may read the cache."""


async def retry_on_conflict(
    attempt: Callable[[bool], Awaitable[Result]],
    *,
    kept_changing: str,
    attempts: int = WRITE_ATTEMPTS,
) -> Result:
    """Runs `attempt(cached)` until it neither loses a race (WriteConflict) nor asks for
    a fresh read (ReadAgain); `cached` is True for the first attempt only. After
    `attempts` tries, Conflict with the message `kept_changing`."""
    for number in range(attempts):
        try:
            return await attempt(number == 0)
        except (WriteConflict, ReadAgain):
            continue
    raise errors.Conflict(kept_changing)
