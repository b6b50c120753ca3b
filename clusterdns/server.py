"""The DNS server: UDP and TCP on one address, answers for the cluster domain from an
informer cache (never an API call per query), every other name forwarded upstream.

The record index is rebuilt on the first query after a Service or EndpointSlice
changed, so a burst of changes costs one rebuild.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Sequence
from typing import cast

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from clusterdns.records import TTL, ClusterRecords

_log = logging.getLogger("corral.dns")

Upstream = tuple[str, int]


def parse_upstream(text: str) -> Upstream:
    """`10.0.0.2` or `10.0.0.2:5353` (IPv4) → (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, 53
    if not port.isdigit():
        raise ValueError(f"{text!r}: expected HOST or HOST:PORT")
    return host, int(port)


def resolv_conf_upstreams(path: str = "/etc/resolv.conf") -> list[Upstream]:
    """The nameservers of a resolv.conf (the host's, by default)."""
    upstreams = []
    try:
        with open(path) as lines:
            for line in lines:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    upstreams.append((words[1], 53))
    except OSError:
        return []
    return upstreams


class Resolver:
    """Turns one query (wire bytes) into one response (wire bytes)."""

    def __init__(self, records: Callable[[], ClusterRecords], upstreams: Sequence[Upstream],
                 timeout: float = 2.0) -> None:
        self.records = records
        self.upstreams = list(upstreams)
        self.timeout = timeout

    async def respond(self, wire: bytes, *, tcp: bool = False) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not DNS: nothing sensible to answer
        if not query.question:
            return _reply(query, dns.rcode.FORMERR).to_wire()
        question = query.question[0]
        qtype = dns.rdatatype.to_text(question.rdtype)
        answer = self.records().answer(question.name.to_text(), qtype)
        if answer is None:
            return await self._forward(query, tcp=tcp)
        response = _reply(query, dns.rcode.NOERROR if answer.exists else dns.rcode.NXDOMAIN)
        response.flags |= dns.flags.AA
        for record in answer.records:
            rrset = dns.rrset.from_text(record.name, TTL, dns.rdataclass.IN, record.type,
                                        record.data)
            response.answer.append(rrset)
        return response.to_wire()

    async def _forward(self, query: dns.message.Message, *, tcp: bool) -> bytes:
        for host, port in self.upstreams:
            try:
                if tcp:
                    answer = await dns.asyncquery.tcp(query, host, timeout=self.timeout,
                                                       port=port)
                else:
                    answer = await dns.asyncquery.udp(query, host, timeout=self.timeout,
                                                       port=port)
                return answer.to_wire()
            except (dns.exception.DNSException, OSError) as error:
                _log.warning("event=upstream_failed upstream=%s:%d name=%s error=%s",
                             host, port, query.question[0].name, type(error).__name__)
        return _reply(query, dns.rcode.SERVFAIL).to_wire()


def _reply(query: dns.message.Message, rcode: dns.rcode.Rcode) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    response.flags |= dns.flags.RA
    return response


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A datagram endpoint's transport (the selector loop's class does not subclass
        # asyncio.DatagramTransport, though it is one).
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._answer(data, addr))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        response = await self.resolver.respond(data)
        if response is not None and self.transport is not None:
            self.transport.sendto(response, addr)


async def _serve_tcp(resolver: Resolver, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            response = await resolver.respond(await reader.readexactly(size), tcp=True)
            if response is None:
                break
            writer.write(struct.pack("!H", len(response)) + response)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(resolver: Resolver, host: str, port: int) -> tuple[Callable[[], None], int]:
    """Serves UDP and TCP on host:port (port 0: one free port for both); a function that
    stops both, and the port."""
    loop = asyncio.get_running_loop()
    tcp = await asyncio.start_server(lambda r, w: _serve_tcp(resolver, r, w), host, port)
    bound = tcp.sockets[0].getsockname()[1]
    transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(resolver),
                                                       local_addr=(host, bound))

    def stop() -> None:
        transport.close()
        tcp.close()

    return stop, bound
