"""A tiny gRPC health probe for container healthchecks:

    python -m corral.client.healthcheck [ADDR] [--service NAME] [--timeout SECONDS]

Asks the standard gRPC health service (grpc.health.v1.Health/Check) at ADDR
(default: $CORRAL_HEALTH_ADDR, else 127.0.0.1:7443) and exits 0 when the answer
is SERVING, 1 otherwise, printing one line that says why. Docker runs it inside
the container, so it must be quick and import nothing it does not need.
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ADDR_ENV = "CORRAL_HEALTH_ADDR"
DEFAULT_ADDR = "127.0.0.1:7443"


def check(addr: str, service: str = "", timeout: float = 3.0) -> tuple[bool, str]:
    """(healthy, why) for the health service at addr."""
    with grpc.insecure_channel(addr) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as error:
            code = error.code() if isinstance(error, grpc.Call) else None
            name = code.name if code is not None else "UNKNOWN"
            return False, f"{addr}: health check failed: {name}: {error.details() or ''}".rstrip()
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    what = f"service {service!r}" if service else "server"
    return response.status == health_pb2.HealthCheckResponse.SERVING, f"{addr}: {what} {status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="corral.client.healthcheck",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("addr", nargs="?", default=os.environ.get(ADDR_ENV) or DEFAULT_ADDR,
                        help=f"host:port of the gRPC server (default ${ADDR_ENV}, "
                             "else %(default)s)")
    parser.add_argument("--service", default="",
                        help="service name to ask about (default: the whole server)")
    parser.add_argument("--timeout", type=float, default=3.0,
                        help="seconds (default %(default)s)")
    args = parser.parse_args(argv)
    healthy, why = check(args.addr, args.service, args.timeout)
    print(why, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
