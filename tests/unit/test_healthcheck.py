"""corral.healthcheck, the probe the images' HEALTHCHECK runs, against a real gRPC server
in this process."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from corral.client import healthcheck


@pytest.fixture
def health_server() -> Iterator[tuple[str, health.HealthServicer]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(0)


def test_serving_server_is_healthy(health_server: tuple[str, health.HealthServicer]) -> None:
    addr, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert healthcheck.main([addr]) == 0


def test_not_serving_server_is_unhealthy_and_says_so(
    health_server: tuple[str, health.HealthServicer], capsys: pytest.CaptureFixture[str],
) -> None:
    addr, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    assert healthcheck.main([addr]) == 1
    assert "NOT_SERVING" in capsys.readouterr().err


def test_unknown_service_is_unhealthy(health_server: tuple[str, health.HealthServicer]) -> None:
    addr, _ = health_server
    healthy, why = healthcheck.check(addr, service="corral.v1.Nothing")
    assert not healthy and "NOT_FOUND" in why


def test_nothing_listening_is_unhealthy_naming_the_address() -> None:
    healthy, why = healthcheck.check("127.0.0.1:1", timeout=1.0)
    assert not healthy and why.startswith("127.0.0.1:1:") and "UNAVAILABLE" in why
