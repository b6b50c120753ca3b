"""`corral logs`: a container's log, streamed from its node's agent through the
API server."""

from __future__ import annotations

import sys

import click
import grpc

from corral.api import errors
from corral.api.v1 import api_pb2
from corral.cli.common import CliError, global_options, namespace_option, run, settings
from corral.client import Client, map_rpc_error


def pod_name(text: str) -> str:
    """POD or pod/POD (pods/POD, po/POD)."""
    kind, slash, name = text.partition("/")
    if not slash:
        return text
    if kind.lower() not in ("pod", "pods", "po"):
        raise CliError(f'logs are read from pods, not "{kind}" (use POD or pod/POD)')
    if not name:
        raise CliError(f"{text!r} names no pod")
    return name


def parse_duration(text: str) -> int:
    """Seconds in "30s", "5m", "2h" or a bare number."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise CliError(f'--since: "{text}" is not a duration like 30s, 5m or 2h') from None


@click.command()
@click.argument("pod", metavar="POD")
@click.option("-c", "--container", default="", help="The container (needed when there are "
              "several).")
@click.option("-f", "--follow", is_flag=True, help="Keep streaming new output.")
@click.option("--tail", type=int, default=-1, help="Only the last N lines (-1: all).")
@click.option("-p", "--previous", is_flag=True,
              help="The previous, terminated instance of the container.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its time.")
@click.option("--since", default="", help="Only lines newer than this (30s, 5m, 2h).")
@namespace_option
@global_options
def logs(pod: str, container: str, follow: bool, tail: int, previous: bool, timestamps: bool,
         since: str) -> None:
    """Print the log of a container in a pod.

    \b
    Examples:
      corral logs web-7d9f-abcde
      corral logs web-7d9f-abcde -c sidecar -f
      corral logs web-7d9f-abcde --previous --tail 20
    """
    request = api_pb2.LogsRequest(
        namespace=settings().namespace, name=pod_name(pod), container=container,
        follow=follow, previous=previous, timestamps=timestamps,
    )
    if tail >= 0:
        request.tail_lines = tail
    if since:
        request.since_seconds = parse_duration(since)
    out = sys.stdout.buffer

    async def body(client: Client) -> None:
        call = client.stub.Logs(request)
        try:
            async for chunk in call:
                out.write(chunk.data)
                out.flush()
        except grpc.RpcError as error:
            raise map_rpc_error(error, client.address) from None
        except errors.ApiError:
            raise

    run(body)
