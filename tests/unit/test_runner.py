"""The runner every service starts from: shared flags, exit codes, signals, health."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import structlog
from click.testing import CliRunner

from corral.client import healthcheck, runner
from corral.client.leaderelection import default_identity

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No shared flag from this environment; runner.command sets up the root logger: give
    the next test the one it had."""
    for variable in ("CORRAL_SERVER", "CORRAL_LOG_LEVEL", "CORRAL_LOG_FORMAT"):
        monkeypatch.delenv(variable, raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def electing_service(result: list[runner.Flags]) -> click.Command:
    @runner.command("test", health_listen="", metrics_listen="", lease_name="test-lease")
    @click.option("--color", default="blue", show_default=True)
    def main(flags: runner.Flags, color: str) -> runner.Service:
        """A service that records its flags and ends at once."""
        result.append(flags)

        async def serve() -> int:
            return 0 if color == "blue" else 3

        return serve

    return main


def failing_service(error: Exception) -> click.Command:
    @runner.command("test", metrics_listen="")
    def main(flags: runner.Flags) -> runner.Service:
        async def serve() -> None:
            raise error

        return serve

    return main


def test_shared_and_own_flags_are_parsed_apart() -> None:
    command = electing_service([])
    flags, own = runner.parse(command, [
        "--server", "api:7443", "--health-listen", "127.0.0.1:0", "--metrics-listen",
        "[::]:9100", "--no-leader-elect", "--leader-elect-lease-duration", "30",
        "--leader-elect-renew-deadline", "20", "--leader-elect-retry-period", "5",
        "--identity", "me", "--log-level", "DEBUG", "--log-format", "json", "--color", "red",
    ])
    assert own == {"color": "red"}
    assert flags == runner.Flags(
        server="api:7443", health_listen="127.0.0.1:0", metrics_listen="[::]:9100",
        log_level="debug", log_format="json",
        leader_election=runner.LeaderElection(
            enabled=False, lease_name="test-lease", identity="me", lease_duration=30.0,
            renew_deadline=20.0, retry_period=5.0),
    )
    assert runner.split_host_port(flags.metrics_listen) == ("::", 9100)


def test_defaults_elect_a_leader_and_log_text_at_info() -> None:
    flags, own = runner.parse(electing_service([]), [])
    assert (flags.server, flags.log_level, flags.log_format) == ("127.0.0.1:7443", "info", "text")
    assert flags.election == runner.LeaderElection(
        enabled=True, lease_name="test-lease", identity=default_identity(), lease_duration=15.0,
        renew_deadline=10.0, retry_period=2.0)
    assert own == {"color": "blue"}


def test_server_defaults_from_corral_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_SERVER", "10.0.0.1:7443")
    assert runner.parse(electing_service([]), [])[0].server == "10.0.0.1:7443"
    assert runner.parse(electing_service([]), ["--server", "h:1"])[0].server == "h:1"


def test_a_service_without_the_optional_flags_has_none_of_them() -> None:
    command = failing_service(RuntimeError())
    names = {name for param in command.params for name in param.opts}
    assert "--server" in names and "--metrics-listen" in names
    assert not names & {"--health-listen", "--leader-elect", "--identity"}
    with pytest.raises(RuntimeError, match="without leader election"):
        _ = runner.parse(command, [])[0].election


def test_the_service_runs_and_its_result_is_the_exit_code() -> None:
    seen: list[runner.Flags] = []
    assert CliRunner().invoke(electing_service(seen), []).exit_code == 0
    assert CliRunner().invoke(electing_service(seen), ["--color", "red"]).exit_code == 3
    assert len(seen) == 2


@pytest.mark.parametrize(("argv", "message"), [
    (["--bogus"], "No such option '--bogus'"),
    (["--metrics-listen", "9100"], "Invalid value for '--metrics-listen': '9100' is not HOST:PORT"),
    (["--health-listen", "h:http"],
     "Invalid value for '--health-listen': 'h:http' is not HOST:PORT"),
    (["--log-format", "xml"], "'xml' is not one of 'text', 'json'"),
    (["--leader-elect-renew-deadline", "20"],
     "leader election needs lease_duration > renew_deadline > retry_period > 0"),
])
def test_a_bad_flag_exits_2_with_a_clear_message(argv: list[str], message: str) -> None:
    result = CliRunner().invoke(electing_service([]), argv)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert message in result.stderr
    assert result.stderr.splitlines()[0] == "Usage: corral-test [OPTIONS]"


def test_bad_input_found_while_building_exits_2() -> None:
    @runner.command("test", metrics_listen="")
    def main(flags: runner.Flags) -> runner.Service:
        raise click.BadParameter("no such file", param_hint="--config")

    result = CliRunner().invoke(main, [])
    assert result.exit_code == 2
    assert "Invalid value for --config: no such file" in result.stderr


def test_a_service_error_exits_1_with_one_line() -> None:
    result = CliRunner().invoke(failing_service(runner.ServiceError("etcd is gone")), [])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert re.fullmatch(r'time=\S+ level=error component=test event=fatal '
                        r'error="ServiceError: etcd is gone"', line), line


def test_an_unexpected_error_is_still_one_line_with_its_traceback_escaped() -> None:
    result = CliRunner().invoke(failing_service(KeyError("bug")), ["--log-format", "json"])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert '"event": "fatal", "error": "KeyError: \'bug\'"' in line
    assert '"exception": "Traceback (most recent call last):\\n' in line


def test_sigterm_stops_the_service_cleanly_and_health_is_served(tmp_path: Path) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text(textwrap.dedent("""
        import asyncio
        import logging

        from corral.client import runner

        @runner.command("sleeper", health_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0")
        def main(flags):
            async def serve():
                try:
                    await asyncio.Event().wait()
                finally:
                    logging.getLogger("sleeper").info("event=cleaned_up")
            return serve

        main()
    """))
    process = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, text=True,
                               stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stderr is not None
    try:
        lines: list[str] = []
        while not any("event=health_listening" in line for line in lines):
            line = process.stderr.readline()
            assert line, f"exited early: {lines}"
            lines.append(line)
        port = int(re.findall(r"port=(\d+)", lines[-1])[0])
        healthy, why = healthcheck.check(f"127.0.0.1:{port}")
        assert healthy, why
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        lines += process.stderr.readlines()
    finally:
        process.kill()
        process.wait()
    events = [re.search(r"event=(\S+)", line).group(1) for line in lines]
    assert events == ["metrics_listening", "health_listening", "stopping", "cleaned_up",
                      "stopped"], lines
    assert all(line.startswith("time=") and " component=sleeper " in line for line in lines)
    assert "signal=SIGTERM" in lines[-1]
