"""`corral exec -it`: an interactive terminal in a pod's container, end to end
through the API server's proxy to the agent and the real Docker engine.

Two levels: the Exec RPC with tty=True (output merged on stdout, resize
messages take effect, the shell's exit code comes back), and the CLI run under
a pseudo-terminal the test holds (raw mode, so Ctrl-C reaches the remote
command; SIGWINCH resize; exit code passed through; the terminal restored
afterwards).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from corral.api.v1 import api_pb2
from corral.client.client import Client
from tests.integration.test_agent import Cluster, make_pod, shell

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="function")]

ROOT = Path(__file__).resolve().parents[2]
SESSION_TIMEOUT = 60.0


@pytest_asyncio.fixture
async def cluster(client: Client, namespace: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(client, namespace, tmp_path)
    try:
        yield cluster
    finally:
        await cluster.close()


async def running_shell_pod(cluster: Cluster, name: str) -> None:
    node = f"{cluster.prefix}-a"
    await cluster.start_agent(node)
    await cluster.run_pod(make_pod(name, cluster.namespace, shell("app", "exec sleep 3600")), node)
    await cluster.wait_phase(name, "Running")


class TtySession:
    """One Exec call with tty=True: inputs are sent when the test says so, and output is
    read until what the test waits for has arrived."""

    def __init__(self, client: Client, start: api_pb2.ExecStart) -> None:
        self.outgoing: asyncio.Queue[api_pb2.ExecInput | None] = asyncio.Queue()
        self.outgoing.put_nowait(api_pb2.ExecInput(start=start))
        self.call = client.stub.Exec(self._inputs())
        self.stream = self.call.__aiter__()
        self.stdout = b""
        self.stderr = b""
        self.exit_code: int | None = None

    async def _inputs(self) -> AsyncIterator[api_pb2.ExecInput]:
        while (message := await self.outgoing.get()) is not None:
            yield message

    def send(self, message: api_pb2.ExecInput) -> None:
        self.outgoing.put_nowait(message)

    async def until(self, done: Callable[[], bool], what: str) -> None:
        while not done():
            try:
                output = await self.stream.__anext__()
            except StopAsyncIteration:
                raise AssertionError(f"the exec stream ended before {what}; stdout so far: "
                                     f"{self.stdout!r}, stderr: {self.stderr!r}") from None
            which = output.WhichOneof("output")
            if which == "stdout":
                self.stdout += output.stdout
            elif which == "stderr":
                self.stderr += output.stderr
            else:
                self.exit_code = output.exit_code

    async def until_output(self, text: bytes, after: int = 0) -> int:
        """Waits until `text` shows on stdout at or after offset `after`; returns its end."""
        await self.until(lambda: text in self.stdout[after:], f"{text!r} showed")
        return self.stdout.index(text, after) + len(text)

    def close(self) -> None:
        self.outgoing.put_nowait(None)  # the end of the input stream
        self.call.cancel()


async def test_exec_with_a_tty_merges_output_resizes_and_returns_the_exit_code(
    cluster: Cluster, namespace: str, client: Client
) -> None:
    await running_shell_pod(cluster, "tty")
    session = TtySession(client, api_pb2.ExecStart(
        namespace=namespace, name="tty", command=["sh"], stdin=True, tty=True,
        size=api_pb2.TerminalSize(width=80, height=24)))
    try:
        async with asyncio.timeout(SESSION_TIMEOUT):
            # The size given at the start is the terminal's (stty prints rows, then columns).
            session.send(api_pb2.ExecInput(stdin=b"stty size\n"))
            seen = await session.until_output(b"24 80")
            session.send(api_pb2.ExecInput(resize=api_pb2.TerminalSize(width=100, height=30)))
            session.send(api_pb2.ExecInput(stdin=b"stty size\n"))
            seen = await session.until_output(b"30 100", seen)
            # Standard error comes merged into stdout on a terminal.
            session.send(api_pb2.ExecInput(stdin=b"echo oops-$((6*7)) >&2\n"))
            seen = await session.until_output(b"oops-42", seen)
            session.send(api_pb2.ExecInput(stdin=b"echo hi-$((40+2)); exit 3\n"))
            await session.until_output(b"hi-42", seen)
            await session.until(lambda: session.exit_code is not None, "the exit code came")
    finally:
        session.close()
    assert session.exit_code == 3, session.stdout
    assert session.stderr == b""


# -- the CLI under a pseudo-terminal -----------------------------------------------------------


def set_window_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class Terminal:
    """A pseudo-terminal whose slave side is a process's stdin, stdout and stderr; the test
    types on the master side and reads what the process shows. Blocking: use from a thread."""

    def __init__(self, args: list[str], env: dict[str, str], deadline: float) -> None:
        self.master, self.slave = os.openpty()
        set_window_size(self.slave, 24, 80)
        self.deadline = deadline
        self.output = b""
        self.process = subprocess.Popen(
            args, stdin=self.slave, stdout=self.slave, stderr=self.slave, cwd=ROOT, env=env,
            start_new_session=True)

    def read_some(self, wait: float) -> bool:
        """Reads what is there within `wait` seconds; False when nothing came."""
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: no process holds the slave side any more
            return False
        self.output += data
        return bool(data)

    def find(self, text: bytes, after: int = 0, within: float | None = None) -> int | None:
        """Waits until `text` shows at or after offset `after` and returns its end; None when
        `within` seconds passed first. Fails once the test's deadline has passed or corral
        has exited without showing it."""
        until = self.deadline if within is None else min(self.deadline, time.monotonic() + within)
        while text not in self.output[after:]:
            if time.monotonic() > until:
                if until < self.deadline:
                    return None
                raise AssertionError(f"timed out waiting for {text!r}; the terminal showed "
                                     f"{self.output!r}")
            if not self.read_some(0.2) and self.process.poll() is not None:
                raise AssertionError(f"corral exited ({self.process.returncode}) before "
                                     f"{text!r} showed; the terminal showed {self.output!r}")
        return self.output.index(text, after) + len(text)

    def expect(self, text: bytes, after: int = 0) -> int:
        found = self.find(text, after)
        assert found is not None
        return found

    def type(self, text: bytes) -> None:
        os.write(self.master, text)

    def wait(self) -> int:
        while self.process.poll() is None:
            if time.monotonic() > self.deadline:
                raise AssertionError(f"corral did not exit; the terminal showed {self.output!r}")
            self.read_some(0.2)
        while self.read_some(0.1):
            pass
        return self.process.returncode

    def local_flags(self) -> int:
        return int(termios.tcgetattr(self.slave)[3])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)
        os.close(self.slave)


def drive_interactive_shell(terminal: Terminal) -> int:
    """Types into `corral exec -it … -- sh` like a user would; returns corral's exit code."""
    # Anything shown comes from the remote shell, which only starts after corral put the
    # terminal in raw mode; typing earlier would be flushed away by that switch.
    seen = terminal.expect(b"# ")
    terminal.type(b"stty size\n")
    seen = terminal.expect(b"24 80", seen)
    set_window_size(terminal.slave, 30, 100)
    # The test holds no controlling terminal for corral, so the kernel does not signal it.
    terminal.process.send_signal(signal.SIGWINCH)
    # The resize reaches the engine asynchronously; ask until the shell sees it.
    for _ in range(20):
        terminal.type(b"stty size\n")
        if (found := terminal.find(b"30 100", seen, within=1.0)) is not None:
            seen = found
            break
    else:
        raise AssertionError(f"the resize never arrived; the terminal showed {terminal.output!r}")
    # In raw mode Ctrl-C is a byte for the remote terminal: it interrupts the remote
    # command, not corral, and the shell prompts again.
    terminal.type(b"sleep 30\n")
    seen = terminal.expect(b"sleep 30\r\n", seen)
    time.sleep(0.3)
    terminal.type(b"\x03")
    seen = terminal.expect(b"# ", seen)
    terminal.type(b"echo tty-$((1+1)); exit 5\n")
    terminal.expect(b"tty-2", seen)
    return terminal.wait()


async def test_cli_exec_it_gives_an_interactive_terminal_and_passes_the_exit_code(
    cluster: Cluster, namespace: str, apiserver: Any, tmp_path: Path
) -> None:
    await running_shell_pod(cluster, "cli-tty")
    env = {**os.environ, "CORRAL_CONFIG": str(tmp_path / "no-config")}
    args = [sys.executable, "-m", "corral", "--server", apiserver.address,
            "exec", "-it", "-n", namespace, "cli-tty", "--", "sh"]
    terminal = Terminal(args, env, time.monotonic() + SESSION_TIMEOUT)
    try:
        before = terminal.local_flags()
        assert before & termios.ECHO and before & termios.ICANON
        # The agent runs in this event loop: the blocking terminal work goes to a thread.
        code = await asyncio.to_thread(drive_interactive_shell, terminal)
        assert code == 5, terminal.output
        assert b"tty-2" in terminal.output
        # corral gave the terminal back as it found it (echo and line editing on).
        assert terminal.local_flags() == before
    finally:
        terminal.close()
