"""Expectations: what a controller has asked the API server for and not yet seen in
its cache (Kubernetes' ControllerExpectations).

A ReplicaSet that created 3 pods must not count again until its informer has shown
it those 3 pods, or a stale cache would make it create 3 more. So before writing it
records "expect 3 creations"; the pod informer's handlers count them down; sync
manages replicas only once nothing is outstanding. Expectations expire after a
timeout, so a lost watch event cannot block a controller forever.

Deletions are tracked by pod key, so the same deletion seen twice (the
deletionTimestamp being set, then the object going) is counted once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Expected:
    creations: int = 0
    deletions: set[str] = field(default_factory=set)
    since: float = 0.0


class Expectations:
    def __init__(
        self, timeout: float = EXPECTATIONS_TIMEOUT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.timeout = timeout
        self.clock = clock
        self._by_key: dict[str, _Expected] = {}

    def satisfied(self, key: str) -> bool:
        """True when nothing is outstanding for `key` (or what was expired)."""
        expected = self._by_key.get(key)
        if expected is None:
            return True
        if expected.creations <= 0 and not expected.deletions:
            return True
        return self.clock() - expected.since > self.timeout

    def expect_creations(self, key: str, count: int) -> None:
        """Replaces what `key` expects with `count` creations."""
        self._by_key[key] = _Expected(creations=count, since=self.clock())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        """Replaces what `key` expects with the deletion of these pods."""
        self._by_key[key] = _Expected(deletions=set(pod_keys), since=self.clock())

    def creation_observed(self, key: str) -> None:
        expected = self._by_key.get(key)
        if expected is not None and expected.creations > 0:
            expected.creations -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        expected = self._by_key.get(key)
        if expected is not None:
            expected.deletions.discard(pod_key)

    def lower_creations(self, key: str, count: int) -> None:
        """Creations that were skipped or failed: they will never be observed."""
        expected = self._by_key.get(key)
        if expected is not None:
            expected.creations = max(expected.creations - count, 0)

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)

    def outstanding(self, key: str) -> tuple[int, int]:
        """(creations, deletions) still expected for `key`."""
        expected = self._by_key.get(key)
        if expected is None:
            return 0, 0
        return max(expected.creations, 0), len(expected.deletions)
