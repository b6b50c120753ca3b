"""corral-agent: runs the pods bound to one node (or, hollow, to many).

corral-agent --server 10.0.0.1:7443 --node-name node-1
corral-agent --server 10.0.0.1:7443 --node-name hollow --runtime hollow --hollow-count 100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from agent.node import FlagError, parse_labels, parse_taints
from agent.runtime import Runtime
from agent.server import AgentService, start_server
from agent.service import Agent, AgentConfig
from corral import images
from corral.api import quantity
from corral.client import Client, SharedInformers, server_address
from corral.client import log as corral_log
from corral.client import metrics as corral_metrics

logger = logging.getLogger("corral.agent")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="corral-agent", description=__doc__.splitlines()[0])
    p.add_argument("--server", default=None, help="API server address (default $CORRAL_SERVER "
                   "or 127.0.0.1:7443)")
    p.add_argument("--node-name", default=os.environ.get("CORRAL_NODE_NAME") or
                   socket.gethostname(), help="the Node to register (default: host name)")
    p.add_argument("--runtime", choices=("docker", "hollow"), default="docker",
                   help="docker runs real containers; hollow only pretends (scale tests)")
    p.add_argument("--listen", default="0.0.0.0:10250",
                   help="address of the agent's gRPC service (logs, exec); port 0 picks one")
    p.add_argument("--node-ip", default="", help="InternalIP to advertise (default: the address "
                   "this host reaches the API server from)")
    p.add_argument("--labels", default="", help="node labels, KEY=VALUE,...")
    p.add_argument("--taints", default="", help="node taints, KEY[=VALUE]:EFFECT,...")
    p.add_argument("--zone", default="", help="topology.kubernetes.io/zone label")
    p.add_argument("--capacity-cpu", default="", help="cpu capacity (default: the engine's)")
    p.add_argument("--capacity-memory", default="", help="memory capacity (default: engine's)")
    p.add_argument("--max-pods", type=int, default=110, help="pods capacity (default 110)")
    p.add_argument("--reserved-cpu", default="0", help="cpu kept from pods (allocatable)")
    p.add_argument("--reserved-memory", default="0", help="memory kept from pods")
    p.add_argument("--pod-network", default="corral-pods",
                   help="Docker network for pods, created if missing (default %(default)s)")
    p.add_argument("--cluster-name", default=os.environ.get("CORRAL_CLUSTER_NAME") or "corral",
                   help="labels every container and volume the agent makes, and limits what "
                        "it lists and removes to its own, so clusters can share an engine "
                        "(default $CORRAL_CLUSTER_NAME or %(default)s)")
    p.add_argument("--pause-image", default=images.TEST_IMAGE,
                   help="image of each pod's infra container; must have `sleep` "
                        "(default %(default)s)")
    p.add_argument("--root-dir", default="/var/lib/corral-agent",
                   help="where volume files are written; must be the same path on the Docker "
                        "host when the agent runs in a container (default %(default)s)")
    p.add_argument("--backoff-base", type=float, default=10.0,
                   help="first restart back-off in seconds, doubling (default 10)")
    p.add_argument("--backoff-cap", type=float, default=300.0,
                   help="longest restart back-off in seconds (default 300)")
    p.add_argument("--lease-duration", type=int, default=40, help="node Lease duration (s)")
    p.add_argument("--lease-interval", type=float, default=10.0, help="Lease renewal period (s)")
    p.add_argument("--node-status-interval", type=float, default=10.0,
                   help="how often node status is computed (written only when changed)")
    p.add_argument("--housekeeping-interval", type=float, default=10.0,
                   help="how often every pod is looked at again and orphans removed (s)")
    p.add_argument("--metrics-interval", type=float, default=15.0,
                   help="how often container usage is sampled and published (s)")
    p.add_argument("--workers", type=int, default=8, help="pods synced at once")
    p.add_argument("--metrics-port", type=int, default=-1,
                   help="Prometheus /metrics port; 0 picks one, -1 (default) disables")
    p.add_argument("--hollow-count", type=int, default=1,
                   help="hollow agents in this process, named NAME-0 .. NAME-(N-1)")
    p.add_argument("--hollow-start-delay", type=float, default=0.0,
                   help="seconds a hollow container takes to start")
    p.add_argument("--hollow-cpu", default="10m", help="fake cpu use per hollow container")
    p.add_argument("--hollow-memory", default="16Mi", help="fake memory per hollow container")
    p.add_argument("--hollow-node-cpu", default="4", help="cpu capacity of a hollow node")
    p.add_argument("--hollow-node-memory", default="16Gi", help="memory of a hollow node")
    p.add_argument("--log-level", default=None, help="debug, info, warning or error")
    return p.parse_args(argv)


def detect_node_ip(server: str) -> str:
    """The local address used to reach the API server."""
    host = server.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((host, 9))
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def build_config(args: argparse.Namespace, node_name: str, port: int) -> AgentConfig:
    return AgentConfig(
        node_name=node_name,
        address=args.node_ip or detect_node_ip(server_address(args.server)),
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


def build_runtime(args: argparse.Namespace, node_name: str) -> Runtime:
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


def node_names(args: argparse.Namespace) -> list[str]:
    if args.runtime == "hollow" and args.hollow_count > 1:
        return [f"{args.node_name}-{i}" for i in range(args.hollow_count)]
    return [args.node_name]


async def run(args: argparse.Namespace) -> None:
    service = AgentService()
    server, port = await start_server(service, args.listen)
    client = Client(args.server, timeout=30.0, retries=8)
    informers = SharedInformers(client)
    agents = []
    runtimes = []
    for name in node_names(args):
        runtime = build_runtime(args, name)
        agent = Agent(build_config(args, name, port), client, runtime, informers)
        service.add(agent)
        agents.append(agent)
        runtimes.append(runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(agent.run(), name=f"agent-{agent.node_name}")
             for agent in agents]
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper:
                task.result()
    finally:
        for task in [*tasks, stopper]:
            task.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
        await informers.stop()
        for runtime in runtimes:
            await runtime.close()
        await server.stop(1.0)
        await client.close()
        logger.info("event=stopped")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    corral_log.setup("agent", args.log_level)
    try:
        parse_labels(args.labels)
        parse_taints(args.taints)
        if not args.cluster_name.strip():
            raise FlagError("--cluster-name: must not be empty (it scopes every container "
                            "query; default corral)")
    except FlagError as error:
        print(f"corral-agent: {error}", file=sys.stderr)
        sys.exit(2)
    if args.metrics_port >= 0:
        corral_metrics.serve(args.metrics_port)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
