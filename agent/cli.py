"""corral-agent: runs the pods bound to one node (or, hollow, to many).

corral-agent --server 10.0.0.1:7443 --node-name node-1
corral-agent --server 10.0.0.1:7443 --node-name hollow --runtime hollow --hollow-count 100
"""

from __future__ import annotations

import asyncio
import functools
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from agent.node import FlagError, parse_labels, parse_taints
from agent.runtime import Runtime
from agent.server import AgentService, start_server
from agent.service import Agent, AgentConfig
from corral import images
from corral.api import quantity
from corral.client import Client, SharedInformers, runner


@dataclass(frozen=True)
class AgentFlags:
    """The agent's own flags (the shared ones are in runner.Flags)."""

    node_name: str
    runtime: str
    listen: str
    node_ip: str
    labels: str
    taints: str
    zone: str
    capacity_cpu: str
    capacity_memory: str
    max_pods: int
    reserved_cpu: str
    reserved_memory: str
    pod_network: str
    cluster_name: str
    pause_image: str
    root_dir: str
    backoff_base: float
    backoff_cap: float
    lease_duration: int
    lease_interval: float
    node_status_interval: float
    housekeeping_interval: float
    metrics_interval: float
    workers: int
    hollow_count: int
    hollow_start_delay: float
    hollow_cpu: str
    hollow_memory: str
    hollow_node_cpu: str
    hollow_node_memory: str

    def check(self) -> None:
        """Raises click.UsageError for a malformed value, before anything starts."""
        try:
            parse_labels(self.labels)
            parse_taints(self.taints)
            if not self.cluster_name.strip():
                raise FlagError("--cluster-name: must not be empty (it scopes every container "
                                "query; default corral)")
        except FlagError as error:
            raise click.UsageError(str(error)) from None


def detect_node_ip(server: str) -> str:
    """The local address used to reach the API server."""
    host = server.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((host, 9))
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def build_config(args: AgentFlags, server: str, node_name: str, port: int) -> AgentConfig:
    return AgentConfig(
        node_name=node_name,
        address=args.node_ip or detect_node_ip(server),
        hostname=socket.gethostname() if args.runtime == "docker" else node_name,
        port=port,
        labels=parse_labels(args.labels),
        taints=parse_taints(args.taints),
        zone=args.zone,
        capacity_cpu=args.capacity_cpu,
        capacity_memory=args.capacity_memory,
        max_pods=args.max_pods,
        reserved_cpu=args.reserved_cpu,
        reserved_memory=args.reserved_memory,
        root_dir=Path(args.root_dir),
        backoff_base=args.backoff_base,
        backoff_cap=max(args.backoff_cap, args.backoff_base),
        lease_duration=args.lease_duration,
        lease_interval=args.lease_interval,
        status_interval=args.node_status_interval,
        housekeeping_interval=args.housekeeping_interval,
        metrics_interval=args.metrics_interval,
        workers=args.workers,
    )


def build_runtime(args: AgentFlags, node_name: str) -> Runtime:
    if args.runtime == "hollow":
        from agent.hollow_runtime import HollowRuntime

        return HollowRuntime(
            node_name,
            start_delay=args.hollow_start_delay,
            cpu_millis_per_container=quantity.cpu_millis(args.hollow_cpu),
            memory_bytes_per_container=quantity.to_int(args.hollow_memory),
            node_cpu_millis=quantity.cpu_millis(args.hollow_node_cpu),
            node_memory_bytes=quantity.to_int(args.hollow_node_memory),
        )
    from agent.docker_runtime import DockerRuntime

    return DockerRuntime(node_name, pod_network=args.pod_network, pause_image=args.pause_image,
                         cluster_name=args.cluster_name)


def node_names(args: AgentFlags) -> list[str]:
    if args.runtime == "hollow" and args.hollow_count > 1:
        return [f"{args.node_name}-{i}" for i in range(args.hollow_count)]
    return [args.node_name]


async def run(args: AgentFlags, server: str) -> None:
    """Runs every agent of this process until one ends or the runner cancels."""
    service = AgentService()
    grpc_server, port = await start_server(service, args.listen)
    client = Client(server, timeout=30.0, retries=8)
    informers = SharedInformers(client)
    agents = []
    runtimes = []
    for name in node_names(args):
        runtime = build_runtime(args, name)
        agent = Agent(build_config(args, server, name, port), client, runtime, informers)
        service.add(agent)
        agents.append(agent)
        runtimes.append(runtime)
    tasks = [asyncio.create_task(agent.run(), name=f"agent-{agent.node_name}")
             for agent in agents]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await informers.stop()
        for runtime in runtimes:
            await runtime.close()
        await grpc_server.stop(1.0)
        await client.close()


# The agent's gRPC server (--listen) carries the health service.
@runner.command("agent", metrics_listen="")
@click.option("--node-name", envvar="CORRAL_NODE_NAME", default=socket.gethostname,
              show_envvar=True, help="The Node to register (default: host name).")
@click.option("--runtime", type=click.Choice(("docker", "hollow")), default="docker",
              show_default=True,
              help="docker runs real containers; hollow only pretends (scale tests).")
@click.option("--listen", default="0.0.0.0:10250", show_default=True,
              help="Address of the agent's gRPC service (logs, exec, health); port 0 picks one.")
@click.option("--node-ip", default="", help="InternalIP to advertise (default: the address "
              "this host reaches the API server from).")
@click.option("--labels", default="", help="Node labels, KEY=VALUE,...")
@click.option("--taints", default="", help="Node taints, KEY[=VALUE]:EFFECT,...")
@click.option("--zone", default="", help="topology.kubernetes.io/zone label.")
@click.option("--capacity-cpu", default="", help="CPU capacity (default: the engine's).")
@click.option("--capacity-memory", default="", help="Memory capacity (default: the engine's).")
@click.option("--max-pods", type=int, default=110, show_default=True, help="Pods capacity.")
@click.option("--reserved-cpu", default="0", show_default=True,
              help="CPU kept from pods (allocatable).")
@click.option("--reserved-memory", default="0", show_default=True, help="Memory kept from pods.")
@click.option("--pod-network", default="corral-pods", show_default=True,
              help="Docker network for pods, created if missing.")
@click.option("--cluster-name", envvar="CORRAL_CLUSTER_NAME", default="corral",
              show_default=True, show_envvar=True,
              help="Labels every container and volume the agent makes, and limits what it lists "
                   "and removes to its own, so clusters can share an engine.")
@click.option("--pause-image", default=images.TEST_IMAGE, show_default=True,
              help="Image of each pod's infra container; must have `sleep`.")
@click.option("--root-dir", default="/var/lib/corral-agent", show_default=True,
              help="Where volume files are written; must be the same path on the Docker host "
                   "when the agent runs in a container.")
@click.option("--backoff-base", type=float, default=10.0, show_default=True,
              help="First restart back-off in seconds, doubling.")
@click.option("--backoff-cap", type=float, default=300.0, show_default=True,
              help="Longest restart back-off in seconds.")
@click.option("--lease-duration", type=int, default=40, show_default=True,
              help="Node Lease duration (s).")
@click.option("--lease-interval", type=float, default=10.0, show_default=True,
              help="Node Lease renewal period (s).")
@click.option("--node-status-interval", type=float, default=10.0, show_default=True,
              help="How often node status is computed (written only when changed) (s).")
@click.option("--housekeeping-interval", type=float, default=10.0, show_default=True,
              help="How often every pod is looked at again and orphans removed (s).")
@click.option("--metrics-interval", type=float, default=15.0, show_default=True,
              help="How often container usage is sampled and published (s).")
@click.option("--workers", type=int, default=8, show_default=True, help="Pods synced at once.")
@click.option("--hollow-count", type=int, default=1, show_default=True,
              help="Hollow agents in this process, named NAME-0 .. NAME-(N-1).")
@click.option("--hollow-start-delay", type=float, default=0.0, show_default=True,
              help="Seconds a hollow container takes to start.")
@click.option("--hollow-cpu", default="10m", show_default=True,
              help="Fake cpu use per hollow container.")
@click.option("--hollow-memory", default="16Mi", show_default=True,
              help="Fake memory per hollow container.")
@click.option("--hollow-node-cpu", default="4", show_default=True,
              help="CPU capacity of a hollow node.")
@click.option("--hollow-node-memory", default="16Gi", show_default=True,
              help="Memory of a hollow node.")
def main(flags: runner.Flags, **own: Any) -> runner.Service:
    """Runs the pods bound to one node (or, hollow, to many)."""
    args = AgentFlags(**own)
    args.check()
    return functools.partial(run, args, flags.server)


def parse_args(argv: list[str]) -> AgentFlags:
    """The agent's own flags in argv (nothing runs)."""
    return AgentFlags(**runner.parse(main, argv)[1])
