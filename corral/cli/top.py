"""`corral top pods|nodes`: cpu and memory use, as the agents last sampled it."""

from __future__ import annotations

from collections.abc import Mapping

import click

from corral.api import quantity
from corral.api.v1 import core_pb2, metrics_pb2
from corral.cli.common import CliError, global_options, namespace_option, run, settings
from corral.cli.printers import Table
from corral.client import Client

MIB = 1024 * 1024


def cpu_text(millis: int) -> str:
    return f"{millis}m"


def memory_text(n: int) -> str:
    return f"{(n + MIB - 1) // MIB}Mi"


def _millis(usage: Mapping[str, str], key: str) -> int:
    text = usage.get(key, "0")
    try:
        return quantity.cpu_millis(text) if key == "cpu" else quantity.to_int(text)
    except quantity.InvalidQuantity:
        return 0


def pod_rows(items: list[metrics_pb2.PodMetrics], *, containers: bool, all_namespaces: bool,
             sort_by: str) -> tuple[list[str], list[list[str]]]:
    headers = (["NAMESPACE"] if all_namespaces else []) + ["NAME"] + \
        (["CONTAINER"] if containers else []) + ["CPU(cores)", "MEMORY(bytes)"]
    rows: list[tuple[tuple[int, int, str], list[str]]] = []
    for metrics in items:
        prefix = ([metrics.metadata.namespace] if all_namespaces else []) + [metrics.metadata.name]
        usages = [(c.name, _millis(c.usage, "cpu"), _millis(c.usage, "memory"))
                  for c in metrics.containers]
        if containers:
            for name, cpu, memory in usages:
                rows.append(((cpu, memory, name),
                             [*prefix, name, cpu_text(cpu), memory_text(memory)]))
        else:
            cpu, memory = sum(u[1] for u in usages), sum(u[2] for u in usages)
            rows.append(((cpu, memory, metrics.metadata.name),
                         [*prefix, cpu_text(cpu), memory_text(memory)]))
    if sort_by == "cpu":
        rows.sort(key=lambda r: -r[0][0])
    elif sort_by == "memory":
        rows.sort(key=lambda r: -r[0][1])
    return headers, [r[1] for r in rows]


def node_rows(items: list[metrics_pb2.NodeMetrics], nodes: dict[str, core_pb2.Node],
              sort_by: str) -> tuple[list[str], list[list[str]]]:
    headers = ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    rows = []
    for metrics in items:
        cpu, memory = _millis(metrics.usage, "cpu"), _millis(metrics.usage, "memory")
        node = nodes.get(metrics.metadata.name)
        cpu_pct = memory_pct = "<unknown>"
        if node is not None:
            total_cpu = _millis(node.status.allocatable, "cpu")
            total_memory = _millis(node.status.allocatable, "memory")
            cpu_pct = f"{cpu * 100 // total_cpu}%" if total_cpu else cpu_pct
            memory_pct = f"{memory * 100 // total_memory}%" if total_memory else memory_pct
        rows.append(((cpu, memory), [metrics.metadata.name, cpu_text(cpu), cpu_pct,
                                     memory_text(memory), memory_pct]))
    if sort_by == "cpu":
        rows.sort(key=lambda r: -r[0][0])
    elif sort_by == "memory":
        rows.sort(key=lambda r: -r[0][1])
    return headers, [r[1] for r in rows]


@click.group()
def top() -> None:
    """Show cpu and memory use of pods or nodes (sampled by the agents every 15 s)."""


@top.command(name="pods")
@click.argument("name", required=False)
@click.option("-A", "--all-namespaces", is_flag=True, help="Pods of every namespace.")
@click.option("--containers", is_flag=True, help="One line per container.")
@click.option("-l", "--selector", default="", help="Only pods with these labels.")
@click.option("--sort-by", type=click.Choice(["cpu", "memory"]), default=None)
@namespace_option
@global_options
def top_pods(name: str | None, all_namespaces: bool, containers: bool, selector: str,
             sort_by: str | None) -> None:
    """Show cpu and memory use of pods."""
    namespace = "" if all_namespaces else settings().namespace

    async def body(client: Client) -> list[metrics_pb2.PodMetrics]:
        if name:
            return [await client.get(metrics_pb2.PodMetrics, name, namespace)]
        listed = await client.list_all(metrics_pb2.PodMetrics, namespace,
                                       label_selector=selector)
        return sorted(listed.items, key=lambda m: (m.metadata.namespace, m.metadata.name))

    items = run(body)
    if not items:
        where = "any namespace" if all_namespaces else f'namespace "{namespace}"'
        raise CliError(f"no pod metrics in {where} yet (agents publish them every 15 s)")
    headers, rows = pod_rows(items, containers=containers, all_namespaces=all_namespaces,
                             sort_by=sort_by or "")
    for line in Table(headers).render(rows):
        click.echo(line)


@top.command(name="nodes")
@click.argument("name", required=False)
@click.option("--sort-by", type=click.Choice(["cpu", "memory"]), default=None)
@global_options
def top_nodes(name: str | None, sort_by: str | None) -> None:
    """Show cpu and memory use of nodes (the sum of their pods')."""

    async def body(client: Client) -> tuple[list[metrics_pb2.NodeMetrics],
                                            dict[str, core_pb2.Node]]:
        if name:
            items = [await client.get(metrics_pb2.NodeMetrics, name)]
        else:
            items = (await client.list_all(metrics_pb2.NodeMetrics)).items
        nodes = {n.metadata.name: n for n in (await client.list_all(core_pb2.Node)).items}
        return sorted(items, key=lambda m: m.metadata.name), nodes

    items, nodes = run(body)
    if not items:
        raise CliError("no node metrics yet (agents publish them every 15 s)")
    headers, rows = node_rows(items, nodes, sort_by or "")
    for line in Table(headers).render(rows):
        click.echo(line)
