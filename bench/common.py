"""What every benchmark needs: percentiles, one result row per phase, a table and a JSON
report, and the memory and CPU of a process read from /proc (Linux only, no dependency).
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 ≤ q ≤ 100) of values, interpolating between the two nearest
    ranks; NaN when there are no values. Sorts a copy, so any order is fine."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile: q must be within 0..100, got {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    weight = position - below
    return ordered[below] * (1 - weight) + ordered[above] * weight


def milliseconds(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --------------------------------------------------------------------------- results


@dataclass
class PhaseResult:
    """One row of a benchmark report. Latencies in milliseconds; NaN when not measured."""

    # A stable identifier for machines ("create", "watch_lag"); `name` is for people.
    key: str
    name: str
    # None for rows that count no operations (a memory figure).
    ops: int | None
    seconds: float
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    errors: int = 0
    # What the phase must reach, in words ("≥ 2000 ops/s"); empty when it has no target.
    target: str = ""
    # None when there is no target.
    passed: bool | None = None
    # CPU used during the phase, in percent of one core.
    server_cpu_pct: float = math.nan
    # The server's CPU time per operation: what it costs, however busy the machine was.
    server_cpu_ms_per_op: float = math.nan
    generator_cpu_pct: float = math.nan
    # The highest resident memory seen during the phase.
    server_rss_mb: float = math.nan
    # Anything else worth keeping in the JSON (first error message, missed events, ...).
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ops_per_s(self) -> float:
        if self.ops is None or self.seconds <= 0:
            return math.nan
        return self.ops / self.seconds

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["ops_per_s"] = round(self.ops_per_s, 1)
        return {k: _json_number(v) for k, v in row.items()}


def _json_number(value: object) -> object:
    """Floats rounded for reading; NaN (not measured) as null, since JSON has no NaN."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 2)
    return value


def _cell(value: object, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(passed: bool | None) -> str:
    return "" if passed is None else ("pass" if passed else "FAIL")


TABLE_HEADERS = ("phase", "ops", "errors", "ops/s", "p50 ms", "p99 ms", "srv CPU%",
                 "srv CPU ms/op", "srv RSS MB", "gen CPU%", "target", "result")


def table_rows(results: Sequence[PhaseResult]) -> list[list[str]]:
    return [
        [r.name, _cell(r.ops), _cell(r.errors), _cell(r.ops_per_s, 0), _cell(r.p50_ms, 2),
         _cell(r.p99_ms, 2), _cell(r.server_cpu_pct, 0), _cell(r.server_cpu_ms_per_op, 2),
         _cell(r.server_rss_mb, 0),
         _cell(r.generator_cpu_pct, 0), r.target or "-", verdict(r.passed)]
        for r in results
    ]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: text columns left-aligned, the others right-aligned."""
    widths = [max(len(str(h)), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    text_columns = {0, len(headers) - 2, len(headers) - 1}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in text_columns else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def write_json(path: str | Path, report: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")


# --------------------------------------------------------------------------- processes


def _status_kib(pid: int, field_name: str) -> int | None:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM, ...); None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def rss_mb(pid: int) -> float:
    """Resident memory now, in MiB; NaN if the process cannot be read."""
    kib = _status_kib(pid, "VmRSS")
    return math.nan if kib is None else kib / 1024


def peak_rss_mb(pid: int) -> float:
    """The highest resident memory of the process's lifetime (VmHWM), in MiB."""
    kib = _status_kib(pid, "VmHWM")
    return math.nan if kib is None else kib / 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used; NaN if it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return math.nan
    # The command name (field 2) may hold spaces, so count from after its closing ")".
    fields = text[text.rindex(")") + 2:].split()
    user, system = int(fields[11]), int(fields[12])
    return (user + system) / _CLOCK_TICKS


class RssSampler:
    """Samples a process's resident memory in a thread, keeping the peak since the last
    `take_peak()`: VmHWM only knows the peak of the whole lifetime, not of one phase."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self._peak = math.nan
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        now = rss_mb(self.pid)
        with self._lock:
            if math.isnan(self._peak) or now > self._peak:
                self._peak = now

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def take_peak(self) -> float:
        """The peak since the previous call (or the start), in MiB; starts a new period."""
        self._sample()
        with self._lock:
            peak, self._peak = self._peak, math.nan
        return peak
