"""The `corral` command line: one module per command group, all hung off
`root.cli`. `main()` is the console script's entry point.

Later commands (logs, exec, rollout, top, set) go in modules of their own
here and are added below."""

from __future__ import annotations

from corral.cli import (
    apply,
    completion,
    config,
    delete,
    describe,
    edit,
    explain,
    expose,
    get,
    info,
    logs,
    metadata,
    scale,
    top,
)
from corral.cli import exec as exec_command
from corral.cli import set as set_command
from corral.cli.rollout import rollout_group
from corral.cli.root import cli


def main() -> None:
    cli.main()


for command in (
    apply.apply, apply.create, get.get, describe.describe, edit.edit, delete.delete,
    metadata.label, metadata.annotate, scale.scale, expose.expose, explain.explain, info.version,
    info.cluster_info, info.api_resources, config.config_group, completion.completion,
    logs.logs, exec_command.exec_, top.top,
    rollout_group, set_command.set_group,
):
    cli.add_command(command)

__all__ = ["cli", "main"]
