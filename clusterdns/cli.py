"""corral-dns: the cluster DNS server.

corral-dns --server 127.0.0.1:7443 --listen 127.0.0.1:5353 --upstream 10.0.0.2
"""

from __future__ import annotations

import click

from clusterdns.records import DEFAULT_DOMAIN
from clusterdns.server import parse_upstream, resolv_conf_upstreams
from clusterdns.service import ClusterDns, Options
from corral.client import runner


@runner.command("dns", health_listen="0.0.0.0:8080", metrics_listen="0.0.0.0:9153")
@click.option("--listen", default="0.0.0.0:53", show_default=True,
              help="HOST:PORT to answer DNS on, UDP and TCP (port 0 picks one).")
@click.option("--domain", default=DEFAULT_DOMAIN, show_default=True,
              help="The cluster domain answered from Services and EndpointSlices.")
@click.option("--upstream", "upstreams", multiple=True, metavar="HOST[:PORT]",
              help="Where other names are forwarded (repeatable; default: the "
                   "nameservers of /etc/resolv.conf).")
@click.option("--upstream-timeout", type=click.FloatRange(min=0, min_open=True), default=2.0,
              show_default=True, help="Seconds to wait for an upstream before SERVFAIL.")
def main(flags: runner.Flags, listen: str, domain: str, upstreams: tuple[str, ...],
         upstream_timeout: float) -> runner.Service:
    """Answers the cluster domain's names; forwards the rest."""
    host, port = runner.split_host_port(listen)
    try:
        forward = [parse_upstream(u) for u in upstreams] or resolv_conf_upstreams()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--upstream") from None
    dns = ClusterDns(Options(server=flags.server, listen_host=host, listen_port=port,
                             domain=domain, upstreams=forward,
                             upstream_timeout=upstream_timeout))
    return dns.run


if __name__ == "__main__":
    main()
