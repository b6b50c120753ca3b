"""`corral exec`: run a command in a pod's container, through the API server
and the node's agent; the command's exit code becomes corral's."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Iterator

import click
import grpc

from corral.api.v1 import api_pb2
from corral.cli.common import CliError, global_options, namespace_option, run, settings
from corral.cli.logs import pod_name
from corral.client import Client, map_rpc_error

STDIN_CHUNK = 32 * 1024


@contextlib.contextmanager
def raw_terminal(enabled: bool) -> Iterator[None]:
    """Puts the local terminal in raw mode for -t, restoring it afterwards."""
    if not enabled or not sys.stdin.isatty():
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size() -> api_pb2.TerminalSize:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return api_pb2.TerminalSize()
    return api_pb2.TerminalSize(width=size.columns, height=size.lines)


@click.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("pod", metavar="POD")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- COMMAND")
@click.option("-c", "--container", default="", help="The container (needed when there are "
              "several).")
@click.option("-i", "--stdin", "interactive", is_flag=True, help="Pass stdin to the command.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a terminal.")
@namespace_option
@global_options
def exec_(pod: str, command: tuple[str, ...], container: str, interactive: bool,
          tty: bool) -> int:
    """Run a command in a container; exits with the command's exit code.

    \b
    Examples:
      corral exec web-7d9f-abcde -- ls /
      corral exec -it web-7d9f-abcde -c app -- sh
    """
    start = api_pb2.ExecStart(
        namespace=settings().namespace, name=pod_name(pod), container=container,
        command=list(command), stdin=interactive, tty=tty,
    )
    if tty:
        start.size.CopyFrom(terminal_size())

    async def body(client: Client) -> int:
        loop = asyncio.get_running_loop()
        outgoing: asyncio.Queue[api_pb2.ExecInput | None] = asyncio.Queue()

        def read_stdin() -> None:
            fd = sys.stdin.fileno()
            while True:
                try:
                    data = os.read(fd, STDIN_CHUNK)
                except OSError:
                    data = b""
                if not data:
                    loop.call_soon_threadsafe(outgoing.put_nowait,
                                              api_pb2.ExecInput(close_stdin=True))
                    return
                loop.call_soon_threadsafe(outgoing.put_nowait, api_pb2.ExecInput(stdin=data))

        if interactive:
            threading.Thread(target=read_stdin, name="exec-stdin", daemon=True).start()
        if tty and hasattr(signal, "SIGWINCH"):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGWINCH, lambda: outgoing.put_nowait(
                    api_pb2.ExecInput(resize=terminal_size())))

        async def inputs() -> AsyncIterator[api_pb2.ExecInput]:
            yield api_pb2.ExecInput(start=start)
            while True:
                message = await outgoing.get()
                if message is None:
                    return
                yield message

        code: int | None = None
        call = client.stub.Exec(inputs())
        try:
            async for output in call:
                which = output.WhichOneof("output")
                if which == "stdout":
                    sys.stdout.buffer.write(output.stdout)
                    sys.stdout.buffer.flush()
                elif which == "stderr":
                    sys.stderr.buffer.write(output.stderr)
                    sys.stderr.buffer.flush()
                elif which == "exit_code":
                    code = output.exit_code
        except grpc.RpcError as error:
            raise map_rpc_error(error, client.address) from None
        finally:
            outgoing.put_nowait(None)
        if code is None:
            raise CliError("the command's exit code never arrived (the agent went away?)")
        return code

    with raw_terminal(tty):
        return run(body)
