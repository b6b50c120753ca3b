"""`corral config ...`: the contexts in ~/.corral/config."""

from __future__ import annotations

import click

from corral.cli.common import CliError, settings
from corral.cli.contexts import ConfigError, save
from corral.cli.output import yaml_text
from corral.cli.printers import Table


@click.group("config")
def config_group() -> None:
    """Show and change contexts (a server and a default namespace each)."""


@config_group.command("get-contexts")
def get_contexts() -> None:
    """List the contexts; * marks the current one."""
    config = settings().config()
    table = Table(["CURRENT", "NAME", "SERVER", "NAMESPACE"])
    rows = [["*" if c.name == config.current_context else "", c.name, c.server,
             c.namespace] for c in config.contexts]
    if not rows:
        click.echo(f"no contexts in {settings().path}", err=True)
        return
    for line in table.render(rows):
        click.echo(line)


@config_group.command("current-context")
def current_context() -> None:
    """Print the current context's name."""
    name = settings().config().current_context
    if not name:
        raise CliError(f"no current context is set in {settings().path}")
    click.echo(name)


@config_group.command("use-context")
@click.argument("name")
def use_context(name: str) -> None:
    """Make NAME the current context."""
    config = settings().config()
    try:
        config.context(name)
    except ConfigError as error:
        raise CliError(str(error)) from None
    config.current_context = name
    save(config, settings().path)
    click.echo(f'Switched to context "{name}".')


@config_group.command("set-context")
@click.argument("name")
@click.option("--server", "server", default=None, help="The API server, HOST:PORT.")
@click.option("--namespace", "namespace", default=None, help="The default namespace.")
@click.option("--current", is_flag=True, help="Also make it the current context.")
def set_context(name: str, server: str | None, namespace: str | None, current: bool) -> None:
    """Create context NAME or change its settings."""
    config = settings().config()
    existed = any(c.name == name for c in config.contexts)
    config.set_context(name, server=server, namespace=namespace)
    if current or not config.current_context:
        config.current_context = name
    save(config, settings().path)
    click.echo(f'Context "{name}" {"modified" if existed else "created"}.')


@config_group.command("view")
def view() -> None:
    """Print the configuration."""
    click.echo(yaml_text(settings().config().to_dict()), nl=False)
