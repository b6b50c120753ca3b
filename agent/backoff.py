"""Restart and image-pull back-off, as Kubernetes does it (pure: the caller passes the time).

The first failure of a container is retried at once; after that each retry
waits twice as long as the one before, from `base` (10 s) up to `cap` (5 min).
A container that ran for `reset_after` (10 min) before it failed starts over
from nothing. Failures are identified (the exited container's id), so asking
about the same failure twice does not double the delay.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BASE = 10.0
DEFAULT_CAP = 300.0
DEFAULT_RESET_AFTER = 600.0


@dataclass
class _Entry:
    failure_id: str
    # The delay before retrying after this failure.
    delay: float
    # When the failure happened.
    since: float


class Backoff:
    def __init__(
        self,
        base: float = DEFAULT_BASE,
        cap: float = DEFAULT_CAP,
        reset_after: float = DEFAULT_RESET_AFTER,
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"back-off needs 0 < base <= cap, got base={base} cap={cap}")
        self.base = base
        self.cap = cap
        self.reset_after = reset_after
        self._entries: dict[str, _Entry] = {}

    def failed(self, key: str, failure_id: str, at: float, ran_for: float = 0.0) -> float:
        """Records a failure of `key` (once per failure_id); returns when it may be retried."""
        entry = self._entries.get(key)
        if entry is not None and entry.failure_id == failure_id:
            return entry.since + entry.delay
        if entry is None or ran_for >= self.reset_after:
            # Kubernetes restarts a first crash at once, then backs off.
            delay = 0.0
        elif entry.delay == 0:
            delay = self.base
        else:
            delay = min(entry.delay * 2, self.cap)
        self._entries[key] = _Entry(failure_id, delay, at)
        return at + delay

    def delay(self, key: str) -> float:
        """The delay of the last recorded failure (0 if none)."""
        entry = self._entries.get(key)
        return entry.delay if entry is not None else 0.0

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        """Forgets every key starting with prefix (all containers of a pod)."""
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]
