"""Every corral service starts here: the flags they share, structured logs, the gRPC
health and Prometheus metrics listeners, SIGTERM/SIGINT, and exit codes.

A service's cli.py declares only its own flags and builds its service:

    @runner.command("controller", health_listen="127.0.0.1:10258",
                    metrics_listen="0.0.0.0:10257", lease_name=LEASE_NAME)
    @click.option("--workers", type=int, default=4, show_default=True)
    def main(flags: runner.Flags, workers: int) -> runner.Service:
        \"\"\"Runs the controllers.\"\"\"
        return ControllerManager(...).run

`command` adds the shared flags (below), sets up logging, and calls the function. Bad
input raises `click.UsageError` or `click.BadParameter` there: exit 2 with click's
message. Then it serves health and metrics and runs the returned coroutine function
until it returns (an int it returns is the exit code) or SIGTERM/SIGINT cancels it
(exit 0). An error escaping the service is logged as one `event=fatal` line, and the
process exits 1.

The shared flags: `--server` (not on the API server itself), `--health-listen` (where the
service's own gRPC server does not already carry the health service), `--metrics-listen`,
`--log-level`, `--log-format`, and, for the services that elect a leader,
`--leader-elect/--no-leader-elect`, `--leader-elect-lease-name`,
`--leader-elect-lease-duration`, `--leader-elect-renew-deadline`,
`--leader-elect-retry-period` and `--identity`. The services run the election
themselves (the scheduler keeps its cache warm while it waits, the controller manager
exits when it loses the lease), from `Flags.election`.
"""

from __future__ import annotations

import asyncio
import functools
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import click
import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from corral.client import log, metrics
from corral.client.client import DEFAULT_SERVER, SERVER_ENV
from corral.client.leaderelection import (
    DEFAULT_LEASE_DURATION,
    DEFAULT_RENEW_DEADLINE,
    DEFAULT_RETRY_PERIOD,
    LeaderElection,
    default_identity,
)

# What a service's cli function returns: the coroutine function that is the service.
# Its result is the exit code (None: 0).
Service = Callable[[], Awaitable[int | None]]

_log = structlog.get_logger("corral.runner")


class ServiceError(Exception):
    """A failure that one line explains (no traceback is logged): exit 1."""


@dataclass(frozen=True)
class Flags:
    """The shared flags' values. An address is "" when the listener is off."""

    server: str
    health_listen: str
    metrics_listen: str
    log_level: str
    log_format: log.LogFormat
    leader_election: LeaderElection | None = None

    @property
    def election(self) -> LeaderElection:
        """The leader election flags of a service declared with a lease name."""
        if self.leader_election is None:
            raise RuntimeError("this service was declared without leader election flags")
        return self.leader_election


def split_host_port(address: str) -> tuple[str, int]:
    """("0.0.0.0", 9443) for "0.0.0.0:9443", ("::", 80) for "[::]:80"."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


class ListenAddress(click.ParamType):
    """HOST:PORT to listen on; port 0 picks a free one; "" turns the listener off."""

    name = "HOST:PORT"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not text:
            return ""
        host, colon, port = text.rpartition(":")
        if not colon or not host or not port.isdigit() or int(port) > 65535:
            self.fail(f"{text!r} is not HOST:PORT (port 0 picks a free one; an empty "
                      "value turns the listener off)", param, ctx)
        return text


LISTEN = ListenAddress()


class _ServiceCommand(click.Command):
    # Usage and error lines name the installed program (corral-agent), also when it
    # runs as `python -m agent`.
    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        return super().make_context(self.name, args, parent, **extra)


def _shared_options(
    *, server: bool, health_listen: str | None, metrics_listen: str,
    metrics_envvar: str | None, lease_name: str | None,
) -> list[click.Option]:
    options = []
    if server:
        options.append(click.Option(
            ["--server"], envvar=SERVER_ENV, default=DEFAULT_SERVER, show_default=True,
            show_envvar=True, help="API server address, HOST:PORT."))
    if health_listen is not None:
        options.append(click.Option(
            ["--health-listen"], type=LISTEN, default=health_listen, show_default=True,
            help="gRPC health service address; port 0 picks one; empty turns it off."))
    options.append(click.Option(
        ["--metrics-listen"], type=LISTEN, default=metrics_listen, show_default=True,
        envvar=metrics_envvar, show_envvar=metrics_envvar is not None,
        help="Prometheus /metrics address; port 0 picks one; empty turns it off."))
    if lease_name is not None:
        options += [
            click.Option(["--leader-elect/--no-leader-elect"], default=True, show_default=True,
                         help="Act only while holding the leader Lease."),
            click.Option(["--leader-elect-lease-name"], default=lease_name, show_default=True,
                         help="The Lease in corral-system."),
            click.Option(["--leader-elect-lease-duration"], type=float,
                         default=DEFAULT_LEASE_DURATION, show_default=True,
                         help="Seconds a lease lasts without renewal."),
            click.Option(["--leader-elect-renew-deadline"], type=float,
                         default=DEFAULT_RENEW_DEADLINE, show_default=True,
                         help="Seconds the leader keeps trying to renew before it stops."),
            click.Option(["--leader-elect-retry-period"], type=float,
                         default=DEFAULT_RETRY_PERIOD, show_default=True,
                         help="Seconds between tries to take or renew."),
            click.Option(["--identity"], default=None,
                         help="This replica's name in the Lease (default: host name and "
                              "process id)."),
        ]
    options += [
        click.Option(["--log-level"], type=click.Choice(log.LEVELS, case_sensitive=False),
                     envvar="CORRAL_LOG_LEVEL", default="info", show_default=True,
                     show_envvar=True),
        click.Option(["--log-format"], type=click.Choice(log.FORMATS), envvar="CORRAL_LOG_FORMAT",
                     default="text", show_default=True, show_envvar=True,
                     help="text: key=value (logfmt); json: one object. One event per line."),
    ]
    return options


def _flags_from(params: dict[str, Any]) -> Flags:
    """Takes the shared flags out of params (what is left are the service's own)."""
    election = None
    if "leader_elect" in params:
        try:
            election = LeaderElection(
                enabled=params.pop("leader_elect"),
                lease_name=params.pop("leader_elect_lease_name"),
                identity=params.pop("identity") or default_identity(),
                lease_duration=params.pop("leader_elect_lease_duration"),
                renew_deadline=params.pop("leader_elect_renew_deadline"),
                retry_period=params.pop("leader_elect_retry_period"),
            )
        except ValueError as error:
            raise click.UsageError(str(error)) from None
    return Flags(
        server=params.pop("server", DEFAULT_SERVER),
        health_listen=params.pop("health_listen", ""),
        metrics_listen=params.pop("metrics_listen"),
        log_level=params.pop("log_level").lower(),
        log_format=cast(log.LogFormat, params.pop("log_format")),
        leader_election=election,
    )


def parse(command: click.Command, argv: list[str]) -> tuple[Flags, dict[str, Any]]:
    """The shared Flags and the service's own options in argv, without running anything."""
    with command.make_context(command.name, list(argv)) as ctx:
        params = dict(ctx.params)
    return _flags_from(params), params


def command(
    component: str, *, server: bool = True, health_listen: str | None = None,
    metrics_listen: str, metrics_envvar: str | None = None, lease_name: str | None = None,
) -> Callable[[Callable[..., Service]], click.Command]:
    """Makes `corral-<component>` from a function that takes the shared Flags and the
    service's own options (declared with @click.option under this decorator) and returns
    the Service.

    health_listen: the default of --health-listen; None: no such flag (the service's own
    gRPC server carries the health service). lease_name: the default Lease, for a service that
    elects a leader (adds the leader election flags)."""
    shared = _shared_options(server=server, health_listen=health_listen,
                             metrics_listen=metrics_listen, metrics_envvar=metrics_envvar,
                             lease_name=lease_name)

    def decorate(build: Callable[..., Service]) -> click.Command:
        own: list[click.Parameter] = list(reversed(getattr(build, "__click_params__", [])))

        @functools.wraps(build)
        def callback(**params: Any) -> None:
            flags = _flags_from(params)
            log.setup(component, flags.log_level, flags.log_format)
            ctx = click.get_current_context()
            ctx.exit(_start(flags, lambda: build(flags, **params)))

        return _ServiceCommand(f"corral-{component}", callback=callback, params=[*own, *shared],
                               help=build.__doc__,
                               context_settings={"help_option_names": ["-h", "--help"],
                                                 "max_content_width": 100})

    return decorate


def _start(flags: Flags, build: Callable[[], Service]) -> int:
    """Builds and runs the service; its exit code."""
    try:
        service = build()
        if flags.metrics_listen:
            host, port = split_host_port(flags.metrics_listen)
            _log.info("metrics_listening", port=metrics.serve(port, host))
        return asyncio.run(_serve(service, flags.health_listen))
    except click.ClickException:
        raise  # bad input: click prints it and exits 2
    except KeyboardInterrupt:  # before the event loop took over SIGINT
        return 0
    except Exception as error:
        expected = isinstance(error, ServiceError | OSError)
        _log.error("fatal", error=f"{type(error).__name__}: {error}",
                   exc_info=None if expected else error)
        return 1


async def _serve_health(address: str) -> grpc.aio.Server:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as error:  # what grpc raises when it cannot bind
        raise ServiceError(f"--health-listen {address}: {error}") from None
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    _log.info("health_listening", port=port)
    return server


async def _serve(service: Service, health_listen: str) -> int:
    health_server = await _serve_health(health_listen) if health_listen else None
    running = asyncio.ensure_future(service())
    stopped_by: list[str] = []

    def stop(signum: signal.Signals) -> None:
        if not stopped_by:  # a second signal waits for the first one's clean-up
            stopped_by.append(signum.name)
            _log.info("stopping", signal=signum.name)
            running.cancel()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    try:
        code = await running
    except asyncio.CancelledError:
        if not stopped_by:
            raise
        code = 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if health_server is not None:
            await health_server.stop(1.0)
    _log.info("stopped", **({"signal": stopped_by[0]} if stopped_by else {}))
    return code or 0
