"""Prometheus metrics endpoint shared by every corral service."""

from __future__ import annotations

import prometheus_client


def serve(port: int, host: str = "0.0.0.0") -> int:
    """Serves /metrics on port (0: a free one) in a thread; returns the port."""
    server, _thread = prometheus_client.start_http_server(port, addr=host)
    return int(server.server_port)
