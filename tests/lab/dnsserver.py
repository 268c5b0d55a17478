"""An authoritative DNS server for the lab zone, over UDP and TCP on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

import dns.exception
import dns.flags
import dns.message

from tests.lab.stats import Stats
from tests.lab.zone import Zone, respond

# Without EDNS a UDP answer must fit in 512 bytes; over that the client retries over TCP.
CLASSIC_UDP_SIZE = 512
TCP_IDLE_SECONDS = 10


def udp_wire(response: dns.message.Message, query_payload: int) -> bytes:
    """Wire format for UDP: truncated (TC set, sections emptied) when it does not fit."""
    limit = max(CLASSIC_UDP_SIZE, query_payload)
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        response.answer = []
        response.authority = []
        response.additional = []
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone, stats: Stats) -> None:
        self.zone = zone
        self.stats = stats
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.stats.count("dns/udp")
        response = respond(self.zone, data)
        if response is None or self.transport is None:
            return
        payload = response.payload if response.edns >= 0 else 0
        self.transport.sendto(udp_wire(response, payload), addr)

    def error_received(self, exc: Exception) -> None:  # pragma: no cover - ICMP noise
        pass


class DnsServer:
    """Serves a :class:`Zone` on one address, UDP and TCP, until :meth:`close`."""

    def __init__(self, zone: Zone, stats: Stats) -> None:
        self.zone = zone
        self.stats = stats
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self, udp_sock: socket.socket, tcp_sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        # A bigger receive queue rides out bursts of queries (the kernel caps the value).
        udp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self.zone, self.stats), sock=udp_sock
        )
        self._tcp = await asyncio.start_server(self._serve_tcp, sock=tcp_sock)

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 1)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.stats.count("dns/tcp")
        try:
            while True:
                header = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_SECONDS)
                (length,) = struct.unpack("!H", header)
                wire = await asyncio.wait_for(reader.readexactly(length), TCP_IDLE_SECONDS)
                response = respond(self.zone, wire)
                if response is None:
                    # A silent name: hold the connection open and answer nothing, as a
                    # hung server would; the client's own timeout ends it.
                    await reader.read()
                    return
                out = response.to_wire(max_size=65535)
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()
