"""Tiny loopback servers (DNS, HTTPS, SMTP with STARTTLS) for the engine's own tests.

Just enough to prove the engine end to end, in the same event loop as the check; the
full scenario catalogue lives in tests/lab. Each server counts its connections so a
test can prove the guard never connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import trustme

from monitoring.checks.options import CheckOptions

DOMAIN = "example.test"
POLICY_HOST = f"mta-sts.{DOMAIN}"
MX_HOST = f"mx1.{DOMAIN}"
POLICY = b"version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 604800\n"


@dataclass
class Setup:
    """What the servers do; tests change the fields they care about."""

    zone: dict[tuple[str, str], list[str]] = field(default_factory=lambda: healthy_zone())
    dns_faults: dict[str, str] = field(default_factory=dict)  # name -> servfail | timeout
    http: str = "ok"  # ok | huge | redirect | hang | garbage | html
    policy: bytes = POLICY
    smtp: str = "ok"  # ok | no_banner | no_starttls | drop_after_starttls | garbage_tls | weak
    cert_names: tuple[str, ...] = (POLICY_HOST, MX_HOST)
    timeout: float = 1.0
    deadline: float = 5.0
    allow_private_targets: bool = True


def healthy_zone(ip: str = "127.0.0.1") -> dict[tuple[str, str], list[str]]:
    return {
        (f"_mta-sts.{DOMAIN}", "TXT"): ['"v=STSv1; id=20240101T000000"'],
        (f"_smtp._tls.{DOMAIN}", "TXT"): ['"v=TLSRPTv1; rua=mailto:tls@example.test"'],
        (DOMAIN, "MX"): [f"10 {MX_HOST}."],
        (POLICY_HOST, "A"): [ip],
        (MX_HOST, "A"): [ip],
    }


class _Dns(asyncio.DatagramProtocol):
    """Authoritative-style answers from a dict; a CNAME is returned without its target."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        fault = self.setup.dns_faults.get(name)
        if fault == "timeout":
            return
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if fault == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        else:
            self._answer(response, question.name, name, dns.rdatatype.to_text(question.rdtype))
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)

    def _answer(self, response: dns.message.Message, qname: dns.name.Name, name: str, rdtype: str):
        zone = self.setup.zone
        for kind in ("CNAME", rdtype):
            if (name, kind) in zone:
                response.answer.append(
                    dns.rrset.from_text_list(qname, 0, "IN", kind, zone[name, kind])
                )
                return
        if not any(key[0] == name for key in zone):
            response.set_rcode(dns.rcode.NXDOMAIN)


@dataclass
class Servers:
    setup: Setup
    ca: trustme.CA
    ca_bundle: str
    dns_port: int = 0
    https_port: int = 0
    smtp_port: int = 0
    connections: dict[str, int] = field(default_factory=lambda: {"https": 0, "smtp": 0})
    sni: list[str] = field(default_factory=list)
    http_requests: list[bytes] = field(default_factory=list)
    tasks: set[asyncio.Task] = field(default_factory=set)

    def options(self) -> CheckOptions:
        return CheckOptions(
            nameservers=(("127.0.0.1", self.dns_port),),
            ca_bundle=self.ca_bundle,
            https_port=self.https_port,
            smtp_port=self.smtp_port,
            timeout=self.setup.timeout,
            deadline=self.setup.deadline,
            allow_private_targets=self.setup.allow_private_targets,
        )

    def server_context(self, weak: bool = False) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if weak:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # weak on purpose
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.ca.issue_cert(*self.setup.cert_names).configure_cert(ctx)

        def remember(_obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            self.sni.append(name or "")

        ctx.sni_callback = remember  # type: ignore[assignment]
        return ctx

    def _track(self, handler: Callable) -> Callable:
        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self.tasks.add(task)
            try:
                await handler(reader, writer)
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass  # the client hung up, or the test is over: both are the point
            finally:
                self.tasks.discard(task)
                writer.transport.abort()

        return tracked

    async def handle_https(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.connections["https"] += 1
        request = await reader.readuntil(b"\r\n\r\n")
        self.http_requests.append(request)
        behaviour = self.setup.http
        if behaviour == "hang":
            await asyncio.sleep(3600)
        if behaviour == "redirect":
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.test/\r\n"
                         b"Content-Length: 0\r\n\r\n")  # fmt: skip
        elif behaviour == "huge":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
            chunk = b"x" * 65536
            for _ in range(160):  # 10 MB unless the client stops reading
                writer.write(b"10000\r\n" + chunk + b"\r\n")
                await writer.drain()
        else:
            ctype = b"text/html" if behaviour == "html" else b"text/plain; charset=utf-8"
            body = self.setup.policy
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
        await writer.drain()

    async def handle_smtp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.connections["smtp"] += 1
        behaviour = self.setup.smtp
        if behaviour == "no_banner":
            await asyncio.sleep(3600)
        writer.write(b"220 tiny.example.test ESMTP\r\n")
        while line := await reader.readline():
            verb = line.strip().upper().split(b" ")[0]
            if verb == b"EHLO":
                offer = b"" if behaviour == "no_starttls" else b"250-STARTTLS\r\n"
                writer.write(b"250-tiny.example.test\r\n" + offer + b"250 8BITMIME\r\n")
            elif verb == b"STARTTLS":
                writer.write(b"220 go ahead\r\n")
                await writer.drain()
                if behaviour == "drop_after_starttls":
                    return
                if behaviour == "garbage_tls":
                    await reader.read(1)  # the ClientHello has started: answer it with junk
                    writer.write(b"this is not a TLS server hello\r\n" * 20)
                    await writer.drain()
                    await reader.read()  # let the client fail on the bytes, not on EOF
                    return
                await writer.start_tls(self.server_context(weak=behaviour == "weak"))
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 unknown\r\n")
            await writer.drain()


@contextlib.asynccontextmanager
async def running(setup: Setup, tmp_dir: str) -> AsyncIterator[Servers]:
    """Start the three servers on 127.0.0.1 (random ports) for the duration of a check."""
    ca = trustme.CA()
    bundle = f"{tmp_dir}/ca.pem"
    ca.cert_pem.write_to_path(bundle)
    servers = Servers(setup=setup, ca=ca, ca_bundle=bundle)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Dns(setup), local_addr=("127.0.0.1", 0)
    )
    https = await asyncio.start_server(
        servers._track(servers.handle_https), "127.0.0.1", 0, ssl=servers.server_context()
    )
    smtp = await asyncio.start_server(servers._track(servers.handle_smtp), "127.0.0.1", 0)
    servers.dns_port = transport.get_extra_info("sockname")[1]
    servers.https_port = https.sockets[0].getsockname()[1]
    servers.smtp_port = smtp.sockets[0].getsockname()[1]
    try:
        yield servers
    finally:
        transport.close()
        for server in (https, smtp):
            server.close()
        for task in list(servers.tasks):
            task.cancel()
        await asyncio.gather(*servers.tasks, return_exceptions=True)
