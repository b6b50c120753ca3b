"""The benchmark's shared helpers and settings checks (no Docker)."""

from __future__ import annotations

import math
import os

import pytest

from bench.api import Settings, settings_problem, split
from bench.common import (
    PhaseResult,
    cpu_seconds,
    format_table,
    peak_rss_mb,
    percentile,
    rss_mb,
)


def test_percentile_interpolates_between_nearest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile([7.0], 99) == 7.0


def test_percentile_of_nothing_is_nan_and_q_outside_0_100_is_refused() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match=r"q must be within 0\.\.100, got 101"):
        percentile([1.0], 101)


def test_unmeasured_values_become_null_in_json() -> None:
    row = PhaseResult(key="rss", name="peak RSS", ops=None, seconds=0.0, server_rss_mb=12.345)
    as_json = row.to_json()
    assert as_json["ops_per_s"] is None and as_json["p99_ms"] is None
    assert as_json["server_rss_mb"] == 12.35


def test_ops_per_second_divides_ops_by_seconds() -> None:
    assert PhaseResult(key="k", name="n", ops=500, seconds=0.25).ops_per_s == 2000


def test_table_aligns_columns_under_their_headers() -> None:
    table = format_table(("phase", "ops", "target", "result"),
                         [["create", "5,000", "-", "pass"], ["get", "12", "x", "FAIL"]])
    header, rule, first, second = table.splitlines()
    assert len(rule.split()) == 4
    assert first.index("5,000") + len("5,000") == header.index("ops") + len("ops")
    assert second.startswith("get ")


def test_split_spreads_a_total_as_evenly_as_integers_allow() -> None:
    assert split(5, 2) == [3, 2]
    assert split(50, 2) == [25, 25]
    assert sum(split(7, 3)) == 7


def test_settings_problems_name_the_flag() -> None:
    assert settings_problem(Settings()) is None
    assert settings_problem(Settings(pods=0)) == "--pods must be at least 1, got 0"
    assert settings_problem(Settings(watch_rate=0)) == "--watch-rate must be positive, got 0"
    assert "--concurrency (1) must be at least --clients (2)" in str(
        settings_problem(Settings(concurrency=1, clients=2)))


def test_own_process_memory_and_cpu_are_readable() -> None:
    pid = os.getpid()
    assert rss_mb(pid) > 0 and peak_rss_mb(pid) >= rss_mb(pid)
    assert cpu_seconds(pid) > 0
    assert math.isnan(rss_mb(2**22 + 7)) and math.isnan(cpu_seconds(2**22 + 7))
