"""What every command shares: settings from flags, environment and config
file; the options that set them; running one asyncio task with a client;
and the one error type commands raise."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from corral.api import kinds
from corral.cli import contexts as corral_config
from corral.client import Client

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

UNREACHABLE_HINT = " — is it running? (make up)"


class CliError(Exception):
    """A failure to report as one `error: ...` line; exit code 1 unless said."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class PartialFailure(CliError):
    """Some objects failed and each failure was already printed."""

    def __init__(self) -> None:
        super().__init__("", 1)


@dataclass
class Settings:
    """Global settings, filled by options on the root command or any subcommand."""

    server_flag: str | None = None
    context_name: str | None = None
    namespace_flag: str | None = None
    config_path: Path | None = None
    verbosity: int = 0
    debug: bool = False
    _config: corral_config.Config | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return self.config_path or corral_config.default_path()

    def config(self) -> corral_config.Config:
        if self._config is None:
            try:
                self._config = corral_config.load(self.path)
            except corral_config.ConfigError as error:
                raise CliError(str(error)) from None
        return self._config

    def context(self) -> corral_config.Context | None:
        try:
            return self.config().selected(self.context_name)
        except corral_config.ConfigError as error:
            raise CliError(str(error)) from None

    @property
    def server(self) -> str:
        return corral_config.resolve_server(self.server_flag, os.environ, self.context())

    @property
    def namespace(self) -> str:
        return corral_config.resolve_namespace(self.namespace_flag, self.context())

    def client(self) -> Client:
        # Few retries: a person is waiting, and "not running" should show quickly.
        return Client(self.server, retries=2, timeout=30.0)


def settings() -> Settings:
    return click.get_current_context().ensure_object(Settings)


def _store(attribute: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and value is not False:
            setattr(ctx.ensure_object(Settings), attribute, value)
        return value
    return callback


def global_options(function: F) -> F:
    """--server, --context, --config, --v and --debug, accepted before or after the command."""
    for option in reversed([
        click.option("--server", "-s", metavar="HOST:PORT", expose_value=False,
                     callback=_store("server_flag"),
                     help="The API server (default: $CORRAL_SERVER, the context's, "
                          "127.0.0.1:7443)."),
        click.option("--context", metavar="NAME", expose_value=False,
                     callback=_store("context_name"), help="The config context to use."),
        click.option("--config", "config_path", metavar="PATH", expose_value=False,
                     type=click.Path(path_type=Path), callback=_store("config_path"),
                     help="The config file (default: $CORRAL_CONFIG or ~/.corral/config)."),
        click.option("-v", "--v", "verbosity", type=int, metavar="N", expose_value=False,
                     callback=_store("verbosity"),
                     help="Verbosity; 2 or more shows error details."),
        click.option("--debug", is_flag=True, expose_value=False, callback=_store("debug"),
                     help="Show error details (tracebacks)."),
    ]):
        function = option(function)
    return function


def namespace_option(function: F) -> F:
    return click.option(
        "-n", "--namespace", metavar="NAME", expose_value=False,
        callback=_store("namespace_flag"),
        help="The namespace (default: the context's, else default).",
    )(function)


def run(body: Callable[[Client], Awaitable[T]]) -> T:
    """Runs one command's work with a client of the configured server."""
    client = settings().client()

    async def main() -> T:
        async with client:
            return await body(client)

    return asyncio.run(main())


def kind_arg(alias: str) -> kinds.Kind:
    """The kind a user named; CliError listing the kinds if there is none."""
    try:
        return kinds.lookup(alias)
    except kinds.UnknownKind:
        raise CliError(
            f'the server does not have a resource type "{alias}" '
            "(see `corral api-resources`)"
        ) from None


def echo_err(message: str) -> None:
    click.echo(message, err=True)
