"""The `corral` command: the group every subcommand hangs off, and the one
place errors become `error: ...` lines and exit codes."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import click
import grpc

from corral.api import errors, kinds
from corral.cli import contexts as corral_config
from corral.cli.common import UNREACHABLE_HINT, CliError, PartialFailure, global_options
from corral.cli.manifest import ManifestError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def wants_details(args: Sequence[str]) -> bool:
    """Whether --debug or --v=N (N >= 2) is among the arguments; read from the
    arguments themselves so that it also holds for errors while parsing them."""
    for index, arg in enumerate(args):
        if arg == "--debug":
            return True
        value = None
        for flag in ("--v", "-v"):
            if arg.startswith(flag + "="):
                value = arg[len(flag) + 1:]
            elif arg == flag and index + 1 < len(args):
                value = args[index + 1]
        if value is not None and value.isdigit() and int(value) >= 2:
            return True
    return False


def error_message(error: BaseException) -> str:
    """The one line a user sees for an error."""
    if isinstance(error, errors.Unavailable) and error.message.startswith("cannot reach"):
        return error.message + UNREACHABLE_HINT
    if isinstance(error, errors.ApiError):
        return error.message
    if isinstance(error, CliError | ManifestError | corral_config.ConfigError):
        return str(error)
    if isinstance(error, kinds.UnknownKind):
        return str(error)
    if isinstance(error, grpc.RpcError):
        return f"the API call failed: {errors.from_rpc_error(error).message}"
    return f"unexpected {type(error).__name__}: {error}"


class CorralGroup(click.Group):
    """A group whose `main` turns every failure into one line on stderr."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        arguments = list(sys.argv[1:] if args is None else args)
        details = wants_details(arguments)
        try:
            code = super().main(arguments, prog_name or "corral", complete_var,
                                standalone_mode=False, **extra)
        except click.UsageError as error:
            hint = ""
            if error.ctx is not None:
                hint = f" (see '{error.ctx.command_path} --help')"
            click.echo(f"error: {error.format_message()}{hint}", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as error:
            click.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except PartialFailure:
            sys.exit(EXIT_ERROR)
        except CliError as error:
            if details:
                traceback.print_exc()
            click.echo(f"error: {error.message}", err=True)
            sys.exit(error.exit_code)
        except BrokenPipeError:
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as error:  # the one place no traceback gets out
            if details:
                traceback.print_exc()
            click.echo(f"error: {error_message(error)}", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(code if isinstance(code, int) else 0)


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(name="corral", cls=CorralGroup, context_settings=CONTEXT_SETTINGS)
@global_options
def cli() -> None:
    """corral controls a corral cluster, the way kubectl controls Kubernetes.

    \b
    Quick start:
      corral apply -f app.yaml
      corral get pods
      corral describe deploy/web
    """
