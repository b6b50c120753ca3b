"""`corral version`, `corral cluster-info` and `corral api-resources`."""

from __future__ import annotations

import importlib.metadata
import json

import click

from corral.api import kinds
from corral.cli.common import global_options, run, settings
from corral.cli.printers import Table, node_status
from corral.client import Client


def client_version() -> str:
    try:
        return importlib.metadata.version("corral")
    except importlib.metadata.PackageNotFoundError:
        return "0.1.0-dev"


@click.command()
@click.option("--client", "client_only", is_flag=True, help="Only the client's version.")
@click.option("-o", "--output", type=click.Choice(["", "json", "yaml"]), default="")
@global_options
def version(client_only: bool, output: str) -> None:
    """Print the client and server versions."""
    versions = {"clientVersion": client_version()}
    if not client_only:
        info = run(lambda client: client.server_info())
        versions["serverVersion"] = info.version
        versions["etcdVersion"] = info.etcd_version
    if output == "json":
        click.echo(json.dumps(versions, indent=2))
        return
    if output == "yaml":
        for key, value in versions.items():
            click.echo(f"{key}: {value}")
        return
    click.echo(f"Client Version: {versions['clientVersion']}")
    if not client_only:
        click.echo(f"Server Version: {versions['serverVersion']}")


@click.command("cluster-info")
@global_options
def cluster_info() -> None:
    """Print where the API server is and what it runs on."""
    address = settings().server

    async def body(client: Client) -> tuple[str, str, int, int]:
        info = await client.server_info()
        nodes = (await client.list_all("Node")).items
        ready = sum(1 for node in nodes if node_status(node).startswith("Ready"))
        return info.version, info.etcd_version, len(nodes), ready

    server_version, etcd_version, nodes, ready = run(body)
    click.echo(f"corral API server is running at {address}")
    click.echo(f"Server version: {server_version}")
    click.echo(f"etcd version:   {etcd_version or 'unknown'}")
    click.echo(f"Nodes:          {nodes} ({ready} ready)")


@click.command("api-resources")
@click.option("--namespaced", type=bool, default=None,
              help="Only namespaced (true) or cluster-scoped (false) kinds.")
@click.option("-o", "--output", type=click.Choice(["", "name", "wide"]), default="")
@global_options
def api_resources(namespaced: bool | None, output: str) -> None:
    """List the kinds corral serves (no server needed)."""
    chosen = [k for k in kinds.KINDS if namespaced is None or k.namespaced == namespaced]
    chosen.sort(key=lambda k: k.plural)
    if output == "name":
        for kind in chosen:
            group = kind.api_version.rpartition("/")[0]
            click.echo(f"{kind.plural}.{group}" if group else kind.plural)
        return
    table = Table(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"])
    rows = [[k.plural, ",".join(k.short_names), k.api_version, str(k.namespaced).lower(), k.name]
            for k in chosen]
    for line in table.render(rows):
        click.echo(line)
