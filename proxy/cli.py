"""corral-proxy: Services carried by nftables rules on this host (run one per Docker host,
with host networking and NET_ADMIN).

corral-proxy --server 127.0.0.1:7443 --cluster-name corral
corral-proxy --cleanup --cluster-name corral     # remove the table and the route, exit
"""

from __future__ import annotations

import click

from corral.client import runner
from proxy.service import Options, Proxy, ProxyError, check_nftables, cleanup


@runner.command("proxy", health_listen="127.0.0.1:10256", metrics_listen="0.0.0.0:10249")
@click.option("--cluster-name", default="corral", show_default=True,
              help="Names the nftables table (corral-NAME), so clusters never share rules.")
@click.option("--service-cluster-ip-range", default="10.96.0.0/16", show_default=True,
              help="The API server's range: routed to this host before any rule is written.")
@click.option("--cleanup", "clean", is_flag=True,
              help="Remove this cluster's table and route, then exit.")
def main(flags: runner.Flags, cluster_name: str, service_cluster_ip_range: str,
         clean: bool) -> runner.Service:
    """Programs the kernel so Services' cluster IPs and node ports reach their pods."""
    options = Options(server=flags.server, cluster=cluster_name,
                      service_cidr=service_cluster_ip_range)

    async def run() -> None:
        try:
            await check_nftables()
            if clean:
                await cleanup(cluster_name, service_cluster_ip_range)
                return
            await Proxy(options).run()
        except ProxyError as error:
            raise runner.ServiceError(str(error)) from None

    return run


if __name__ == "__main__":
    main()
