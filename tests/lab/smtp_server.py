"""A small SMTP responder: banner, EHLO, STARTTLS, QUIT, and the ways real MX hosts fail.

It accepts no mail; the checker only needs the greeting and the TLS upgrade. The
listening address decides the behaviour; SNI during STARTTLS picks the certificate.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct

from tests.lab.hosts import Smtp
from tests.lab.stats import Stats

LINE_LIMIT = 1000
IDLE_SECONDS = 30
HOLD_SECONDS = 120
GARBAGE_BANNER = b"\x16\x03\x01\x00\xff\xfe garbage, not a greeting \x00\x01\r\n"


class SmtpServer:
    """One listener per behaviour address, all on the same port."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def listen(self, sock: socket.socket, behaviour: Smtp, ctx: ssl.SSLContext) -> None:
        address = sock.getsockname()[0]
        hostname = f"lab-{behaviour.value}.lab.test"

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.stats.count(f"smtp/{address}")
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await _Session(behaviour, hostname, ctx, reader, writer).run()
            except (ConnectionError, TimeoutError, OSError, ssl.SSLError):
                pass  # clients dropping out mid-way is the point of most modes
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                pass
            except asyncio.CancelledError:
                pass
            finally:
                if task is not None:
                    self._tasks.discard(task)
                writer.close()

        server = await asyncio.start_server(handle, sock=sock, limit=LINE_LIMIT * 4)
        self._servers.append(server)

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0)


class _Session:
    def __init__(
        self,
        behaviour: Smtp,
        hostname: str,
        ctx: ssl.SSLContext,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.behaviour = behaviour
        self.hostname = hostname
        self.ctx = ctx
        self.reader = reader
        self.writer = writer
        self.tls = False

    async def send(self, *lines: str) -> None:
        self.writer.write("".join(line + "\r\n" for line in lines).encode("ascii"))
        await self.writer.drain()

    async def run(self) -> None:
        b = self.behaviour
        if b is Smtp.RESET:
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.writer.transport.abort()
            return
        if b is Smtp.NO_BANNER:
            await asyncio.wait_for(self.reader.read(), HOLD_SECONDS)
            return
        if b is Smtp.GARBAGE_BANNER:
            self.writer.write(GARBAGE_BANNER)
            await self.writer.drain()
            await asyncio.wait_for(self.reader.read(), IDLE_SECONDS)
            return
        if b is Smtp.BANNER_554:
            await self.send(f"554 5.3.2 {self.hostname} no SMTP service here")
            await self._commands()
            return
        if b is Smtp.MULTILINE_BANNER:
            await self.send(
                f"220-{self.hostname} ESMTP stsguard lab",
                "220-unsolicited bulk mail is not welcome here",
                "220 ready",
            )
        else:
            await self.send(f"220 {self.hostname} ESMTP stsguard lab")
        await self._commands()

    async def _commands(self) -> None:
        while True:
            raw = await asyncio.wait_for(self.reader.readline(), IDLE_SECONDS)
            if not raw:
                return
            line = raw.decode("latin-1").strip()
            verb = line.split(" ", 1)[0].upper()
            if self.behaviour is Smtp.BANNER_554 and verb != "QUIT":
                await self.send("503 5.5.1 no service, only QUIT")
            elif verb in ("EHLO", "HELO"):
                await self._ehlo(verb)
            elif verb == "STARTTLS":
                if not await self._starttls():
                    return
            elif verb == "QUIT":
                await self.send("221 2.0.0 bye")
                return
            elif verb in ("NOOP", "RSET"):
                await self.send("250 2.0.0 OK")
            elif verb in ("MAIL", "RCPT", "DATA"):
                await self.send("502 5.5.1 the lab accepts no mail")
            else:
                await self.send("500 5.5.2 command not recognised")

    async def _ehlo(self, verb: str) -> None:
        if verb == "HELO":
            await self.send(f"250 {self.hostname}")
            return
        offers_tls = not self.tls and self.behaviour is not Smtp.NO_STARTTLS
        lines = [self.hostname, "PIPELINING", "8BITMIME"] + (["STARTTLS"] if offers_tls else [])
        lines.append("SIZE 10240000")
        await self.send(*(f"250-{x}" for x in lines[:-1]), f"250 {lines[-1]}")

    async def _starttls(self) -> bool:
        """Upgrade the connection; False when the session must end."""
        if self.tls or self.behaviour is Smtp.NO_STARTTLS:
            await self.send("502 5.5.1 STARTTLS not available")
            return True
        if self.behaviour is Smtp.STARTTLS_454:
            await self.send("454 4.7.0 TLS not available due to temporary reason")
            return True
        await self.send("220 2.0.0 Ready to start TLS")
        if self.behaviour is Smtp.DROP_AFTER_STARTTLS:
            self.writer.transport.abort()
            return False
        await self.writer.start_tls(self.ctx, ssl_handshake_timeout=IDLE_SECONDS)
        self.tls = True
        return True
