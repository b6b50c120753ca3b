"""corral-apiserver: the only component that talks to etcd.

corral-apiserver --listen 0.0.0.0:7443 --etcd-endpoints http://127.0.0.1:2379
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from apiserver.server import ApiServer
from corral.client import log as corral_log
from corral.client import metrics

logger = logging.getLogger("corral.apiserver")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="corral-apiserver", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--listen",
        default=os.environ.get("CORRAL_LISTEN", "127.0.0.1:7443"),
        help="gRPC address to serve on (default %(default)s)",
    )
    parser.add_argument(
        "--etcd-endpoints",
        default=os.environ.get("CORRAL_ETCD_ENDPOINTS", "http://127.0.0.1:2379"),
        help="comma-separated etcd URLs (default %(default)s)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(os.environ.get("CORRAL_METRICS_PORT", "9443")),
        help="Prometheus /metrics port; 0 picks a free one, -1 disables",
    )
    parser.add_argument(
        "--bookmark-interval",
        type=float,
        default=5.0,
        help="seconds between watch bookmarks (default %(default)s)",
    )
    parser.add_argument("--log-level", default=None, help="debug, info, warning or error")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    endpoints = [e.strip() for e in args.etcd_endpoints.split(",") if e.strip()]
    server = ApiServer(args.listen, endpoints, bookmark_interval=args.bookmark_interval)
    await server.start()
    if args.metrics_port >= 0:
        port = metrics.serve(args.metrics_port)
        logger.info("event=metrics_listening port=%d", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    logger.info("event=stopping")
    await server.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    corral_log.setup("apiserver", args.log_level)
    try:
        asyncio.run(run(args))
    except OSError as error:
        logger.error("event=fatal reason=%r", str(error))
        sys.exit(1)


if __name__ == "__main__":
    main()
