"""The API server benchmark runs end to end (with small numbers) and reports every phase.

Only the report's shape is checked, never its figures: timings on a shared machine are
not something a test can assert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PHASES = {"etcd_put", "grpc_floor", "create", "get", "update", "list", "list_paged", "paced_write",
          "watch_lag", "apiserver_rss"}


def test_quick_benchmark_prints_a_json_report_with_every_phase(tmp_path: Path) -> None:
    json_path = tmp_path / "report.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.api", "--quick", "--json", str(json_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]

    report = json.loads(finished.stdout.strip().splitlines()[-1])
    assert {phase["key"] for phase in report["phases"]} == PHASES
    for phase in report["phases"]:
        assert phase["errors"] == 0, phase
        if phase["key"] != "apiserver_rss":
            assert phase["ops"] > 0 and phase["p99_ms"] is not None, phase
    assert report["apiserver_peak_rss_mb"] > 0
    assert report["generator"]["processes"] >= 1
    assert json.loads(json_path.read_text()) == report
    # The table came first, one row per phase.
    assert all(phase["name"] in finished.stdout for phase in report["phases"])
