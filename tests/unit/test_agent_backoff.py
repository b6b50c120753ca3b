"""Restart back-off: at once, then base doubling to the cap, reset after a long run."""

from __future__ import annotations

import pytest

from agent.backoff import Backoff


def test_first_failure_restarts_at_once_then_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base=10, cap=40, reset_after=600)
    delays = []
    now = 1000.0
    for i in range(6):
        ready_at = backoff.failed("pod/app", f"c{i}", now, ran_for=1)
        delays.append(ready_at - now)
        now = ready_at + 1
    assert delays == [0, 10, 20, 40, 40, 40]


def test_the_same_failure_asked_about_twice_counts_once() -> None:
    backoff = Backoff(base=10, cap=300)
    backoff.failed("k", "c0", 0)
    first = backoff.failed("k", "c1", 5)
    assert backoff.failed("k", "c1", 7) == first == 15


def test_a_long_run_resets_the_back_off() -> None:
    backoff = Backoff(base=10, cap=300, reset_after=600)
    backoff.failed("k", "c0", 0)
    backoff.failed("k", "c1", 10)
    assert backoff.failed("k", "c2", 1000, ran_for=700) == 1000


def test_forget_prefix_drops_every_container_of_a_pod() -> None:
    backoff = Backoff(base=1, cap=8)
    backoff.failed("uid1/a", "x", 0)
    backoff.failed("uid1/a", "y", 0)
    backoff.failed("uid2/a", "x", 0)
    backoff.forget_prefix("uid1/")
    assert backoff.delay("uid1/a") == 0
    assert backoff.failed("uid2/a", "y", 0) == 1


def test_bad_settings_are_refused_with_the_values() -> None:
    with pytest.raises(ValueError, match="base=0"):
        Backoff(base=0)
