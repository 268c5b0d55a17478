"""Policy web servers: every ``mta-sts.<domain>`` on one HTTPS port, hostile ones included.

The listening address decides what happens before TLS (garbage, silence, reset); after
the handshake the ``Host`` header picks the domain's :class:`PolicySpec`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import Callable
from http import HTTPStatus

from tests.lab.hosts import Http, PolicySpec
from tests.lab.stats import Stats

POLICY_PATH = "/.well-known/mta-sts.txt"
HEADER_LIMIT = 16 * 1024
READ_SECONDS = 10
HUGE_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024
HOLD_SECONDS = 120  # how long a silent connection is kept before the lab gives up on it
GARBAGE = b"\x00\xffSSH-2.0-not-tls-at-all\r\n" + bytes(range(256)) * 4

PolicyLookup = Callable[[str], PolicySpec | None]


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Status"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response_bytes(spec: PolicySpec) -> bytes:
    """The whole response for an ordinary spec, byte for byte."""
    headers = [("Server", "stsguard-lab")]
    if spec.content_type is not None:
        headers.append(("Content-Type", spec.content_type))
    if spec.location:
        headers.append(("Location", spec.location))
    headers += [("Content-Length", str(len(spec.body))), ("Connection", "close")]
    return _head(spec.status, headers) + spec.body


def _rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # Linger 0 turns close() into a RST instead of an orderly FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class HttpsServer:
    """One listener per behaviour address, all on the same port."""

    def __init__(self, lookup: PolicyLookup, stats: Stats) -> None:
        self.lookup = lookup
        self.stats = stats
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def listen(self, sock: socket.socket, behaviour: Http, ctx: ssl.SSLContext | None):
        address = sock.getsockname()[0]

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.stats.count(f"https/{address}")
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await self._handle(behaviour, reader, writer)
            except (ConnectionError, TimeoutError, OSError, asyncio.IncompleteReadError):
                pass  # the client went away or gave up: exactly what hostile modes provoke
            except asyncio.CancelledError:
                pass
            finally:
                if task is not None:
                    self._tasks.discard(task)
                writer.close()

        server = await asyncio.start_server(
            handle, sock=sock, ssl=ctx, ssl_handshake_timeout=READ_SECONDS if ctx else None
        )
        self._servers.append(server)

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0)

    async def _handle(
        self, behaviour: Http, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if behaviour is Http.RESET:
            _rst(writer)
            return
        if behaviour is Http.GARBAGE:
            writer.write(GARBAGE)
            await writer.drain()
            return
        if behaviour is Http.BLACKHOLE:
            await asyncio.wait_for(reader.read(), HOLD_SECONDS)
            return
        host, path = await self._read_request(reader)
        spec = self.lookup(host)
        if spec is None or path.split("?", 1)[0] != POLICY_PATH:
            missing = PolicySpec(body=b"not found\n", status=404)
            writer.write(response_bytes(missing))
            await writer.drain()
            return
        await self._respond(spec, host, path, reader, writer)

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str]:
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_SECONDS)
        if len(raw) > HEADER_LIMIT:
            raise ConnectionError("request head too large")
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        path = parts[1] if len(parts) >= 2 else "/"
        host = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "host":
                host = value.strip()
        host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
        return host.lower().rstrip("."), path

    async def _respond(
        self,
        spec: PolicySpec,
        host: str,
        path: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        behaviour = spec.behaviour
        if behaviour is Http.HANG:
            await asyncio.wait_for(reader.read(), HOLD_SECONDS)
        elif behaviour is Http.TRICKLE:
            for byte in response_bytes(spec):
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1)
        elif behaviour is Http.REDIRECT_LOOP:
            url = f"https://{host}{path}"
            writer.write(response_bytes(PolicySpec(body=b"", status=302, location=url)))
        elif behaviour is Http.HTTP10:
            headers = [("Content-Type", spec.content_type or "text/plain")]
            head = _head(spec.status, headers).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
            writer.write(head + spec.body)
        elif behaviour is Http.HUGE:
            headers = [("Content-Type", "text/plain"), ("Content-Length", str(HUGE_BYTES))]
            writer.write(_head(200, headers))
            await self._stream(reader, writer, HUGE_BYTES, chunked=False)
        elif behaviour is Http.HUGE_CHUNKED:
            headers = [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")]
            writer.write(_head(200, headers))
            await self._stream(reader, writer, HUGE_BYTES, chunked=True)
        else:
            writer.write(response_bytes(spec))
        await writer.drain()

    @staticmethod
    async def _stream(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, total: int, *, chunked: bool
    ) -> None:
        # A policy-looking start, then padding: a client that parses before checking
        # the size would find a valid policy, so only the size limit catches it.
        block = b"version: STSv1\nmode: enforce\nmx: mx1.lab.test\nmax_age: 86400\n"
        block += b"#" * (CHUNK - len(block) - 1) + b"\n"
        pad = b"#" * (CHUNK - 1) + b"\n"
        sent = 0
        while sent < total:
            if writer.is_closing() or reader.at_eof():
                return  # the client hung up (as it should, at 64 KiB): stop writing
            data = block if sent == 0 else pad
            writer.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            sent += len(data)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
