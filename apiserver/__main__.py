"""corral-apiserver: the only component that talks to etcd.

corral-apiserver --listen 0.0.0.0:7443 --etcd-endpoints http://127.0.0.1:2379
"""

from __future__ import annotations

import asyncio

import click

from apiserver.allocation import (
    DEFAULT_SERVICE_CLUSTER_IP_RANGE,
    DEFAULT_SERVICE_NODE_PORT_RANGE,
    InvalidRange,
    Ranges,
)
from apiserver.server import ApiServer
from corral.client import runner


# The API server carries the gRPC health service on --listen, and is what --server names.
@runner.command("apiserver", server=False, metrics_listen="0.0.0.0:9443",
                metrics_envvar="CORRAL_METRICS_LISTEN")
@click.option("--listen", envvar="CORRAL_LISTEN", default="127.0.0.1:7443", show_default=True,
              show_envvar=True, help="gRPC address to serve the API (and health) on.")
@click.option("--etcd-endpoints", envvar="CORRAL_ETCD_ENDPOINTS",
              default="http://127.0.0.1:2379", show_default=True, show_envvar=True,
              help="Comma-separated etcd URLs.")
@click.option("--bookmark-interval", type=float, default=5.0, show_default=True,
              help="Seconds between watch bookmarks.")
@click.option("--service-cluster-ip-range", default=DEFAULT_SERVICE_CLUSTER_IP_RANGE,
              show_default=True, help="CIDR that Services' cluster IPs are allocated from.")
@click.option("--service-node-port-range", default=DEFAULT_SERVICE_NODE_PORT_RANGE,
              show_default=True, help="FIRST-LAST ports that NodePort Services get.")
def main(flags: runner.Flags, listen: str, etcd_endpoints: str, bookmark_interval: float,
         service_cluster_ip_range: str, service_node_port_range: str) -> runner.Service:
    """The only component that talks to etcd."""
    endpoints = [e.strip() for e in etcd_endpoints.split(",") if e.strip()]
    try:
        ranges = Ranges.parse(service_cluster_ip_range, service_node_port_range)
    except InvalidRange as error:
        raise click.UsageError(str(error)) from None

    async def serve() -> None:
        server = ApiServer(listen, endpoints, bookmark_interval=bookmark_interval,
                           ranges=ranges)
        await server.start()
        try:
            await asyncio.Event().wait()  # until the runner cancels on SIGTERM/SIGINT
        finally:
            await server.stop()

    return serve


if __name__ == "__main__":
    main()
