"""The API server's Prometheus metrics."""

from __future__ import annotations

import grpc
from prometheus_client import Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.requests = Counter(
            "corral_apiserver_requests_total",
            "API requests by kind, verb and gRPC code",
            ["kind", "verb", "code"],
        )
        self.latency = Histogram(
            "corral_apiserver_request_duration_seconds",
            "API request latency by verb",
            ["verb"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.watchers = Gauge("corral_apiserver_watchers", "Client watches open, by kind", ["kind"])

    def observe(self, kind: str, verb: str, code: grpc.StatusCode, seconds: float) -> None:
        self.requests.labels(kind, verb, code.name).inc()
        self.latency.labels(verb).observe(seconds)


# One set per process: Prometheus' registry is global.
METRICS = Metrics()
