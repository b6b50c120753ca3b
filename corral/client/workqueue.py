"""A rate-limited queue of object keys for controllers, after client-go's workqueue.

Controllers put *keys* (`namespace/name`) here, never objects: the worker re-reads
the current state from an informer's cache, so a key queued ten times while it
waited is processed once, against the newest state.

Guarantees:
- a key waiting in the queue is there once (duplicates collapse);
- a key is never handed to two workers at once: re-added while a worker holds
  it, it waits until that worker calls `done(key)` and is then queued again;
- otherwise first in, first out.

Pure asyncio and single-threaded: call it from the event loop that runs the
workers (informer handlers do).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from corral.api import errors


class ShutDown(Exception):
    """The queue was shut down: workers should return."""


class ExponentialBackoff:
    """Per-key delays that double with each failure: base, 2*base, 4*base, ... up to cap."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError(
                f"backoff needs 0 < base_delay <= max_delay, got base_delay={base_delay} "
                f"max_delay={max_delay}"
            )
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        """The delay for this failure of `key`, counting it."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        # Past ~64 doublings every sane cap has been reached; avoids huge floats.
        if failures >= 64:
            return self.max_delay
        return min(self.base_delay * (2**failures), self.max_delay)

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)


class WorkQueue:
    def __init__(
        self,
        name: str = "",
        *,
        base_delay: float = 0.005,
        max_delay: float = 1000.0,
    ) -> None:
        self.name = name
        self._backoff = ExponentialBackoff(base_delay, max_delay)
        self._queue: deque[str] = deque()
        # Keys that need processing: those in _queue plus those re-added while processing.
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        # Keys waiting for add_after, with their due time and timer; only the earliest is kept.
        self._waiting: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False

    # -- adding --------------------------------------------------------------------------------

    def add(self, key: str) -> None:
        """Queues `key` unless it is already waiting; ignored after shutdown."""
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            # done(key) queues it again; a second worker must not get it meanwhile.
            return
        self._queue.append(key)
        self._wake_one_getter()

    def add_after(self, key: str, delay: float) -> None:
        """Queues `key` after `delay` seconds (now when delay <= 0).

        Of several pending delays for one key the earliest wins.
        """
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        pending = self._waiting.get(key)
        if pending is not None:
            if pending[0] <= due:
                return
            pending[1].cancel()
        handle = loop.call_at(due, self._add_waiting, key)
        self._waiting[key] = (due, handle)

    def _add_waiting(self, key: str) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: str) -> None:
        """Queues `key` after its backoff, which doubles each time until `forget(key)`."""
        self.add_after(key, self._backoff.when(key))

    def forget(self, key: str) -> None:
        """Resets the backoff of `key` (call after it was processed successfully)."""
        self._backoff.forget(key)

    def num_requeues(self, key: str) -> int:
        """How many times `key` was rate-limited since it was last forgotten."""
        return self._backoff.failures(key)

    # -- taking --------------------------------------------------------------------------------

    async def get(self) -> str:
        """The next key, waiting for one; raises ShutDown once the queue is shut down.

        The caller owns the key until it calls `done(key)`.
        """
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                if getter in self._getters:
                    self._getters.remove(getter)
                elif self._queue:
                    # We were woken and cancelled at once: pass the wake-up on.
                    self._wake_one_getter()
                raise
        if self._shutting_down:
            raise ShutDown(self.name)
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: str) -> None:
        """Marks `key` processed; if it was re-added meanwhile, it is queued again now."""
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._wake_one_getter()

    def _wake_one_getter(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    # -- lifecycle -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stops the queue: waiting and future `get()`s raise ShutDown, adds are ignored.

        Queued keys are dropped: controllers are level-triggered, so the next start's
        initial list brings every object back.
        """
        self._shutting_down = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def len(self) -> int:
        """How many keys wait to be handed out (not counting delayed or in-process keys)."""
        return len(self._queue)

    def __len__(self) -> int:
        return len(self._queue)


SyncFunc = Callable[[str], Awaitable[None]]


async def run_workers(
    queue: WorkQueue,
    sync: SyncFunc,
    workers: int,
    logger: logging.Logger,
) -> None:
    """Runs `workers` loops of get → sync(key) → done until the queue shuts down.

    A sync that raises is logged with the key and retried with the key's backoff;
    one that returns resets the backoff. Cancelling this cancels the workers.
    """
    if workers < 1:
        raise ValueError(f"run_workers needs at least 1 worker, got {workers}")
    tasks = [
        asyncio.create_task(_work(queue, sync, logger), name=f"{queue.name or 'queue'}-worker-{i}")
        for i in range(workers)
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _work(queue: WorkQueue, sync: SyncFunc, logger: logging.Logger) -> None:
    while True:
        try:
            key = await queue.get()
        except ShutDown:
            return
        try:
            await sync(key)
        except asyncio.CancelledError:
            queue.done(key)
            raise
        except errors.ApiError as error:
            # Expected trouble (a conflict, the server restarting): no traceback.
            retries = queue.num_requeues(key)
            logger.warning(
                "event=sync_failed queue=%s key=%s retries=%d error=%s: %s",
                queue.name, key, retries, type(error).__name__, error,
            )
            queue.add_rate_limited(key)
        except Exception:
            retries = queue.num_requeues(key)
            logger.exception("event=sync_failed queue=%s key=%s retries=%d",
                             queue.name, key, retries)
            queue.add_rate_limited(key)
        else:
            queue.forget(key)
        queue.done(key)
