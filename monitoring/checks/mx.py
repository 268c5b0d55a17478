"""STARTTLS to every address of every MX host [RFC 8461 4.2, 7.2; RFC 3207].

One SMTP session per address: banner, EHLO, STARTTLS, one TLS handshake with SNI set to
the MX host name, then the certificate is judged by ``certs.inspect_chain`` (see there
why the handshake itself does not verify). Every network wait is bounded by the step
timeout; a hostile server ends in a recorded problem, never an exception.

Problems are recorded as (code, value) pairs, not findings: their severity depends on
the policy mode, which the engine knows only once the policy is fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

from monitoring.checks import dns
from monitoring.checks.certs import client_context, inspect_chain, peer_chain
from monitoring.checks.neterrors import os_error_text
from monitoring.checks.netguard import blocked_reason
from monitoring.checks.options import CheckOptions

log = logging.getLogger(__name__)

MAX_LINE = 4096  # RFC 5321 allows 512 per reply line; leave room for odd servers
MAX_REPLY_LINES = 100
QUIT_WAIT = 2.0
WEAK_PROTOCOLS = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}


@dataclass
class AddressProbe:
    """One address of an MX host and what its SMTP server did."""

    ip: str
    starttls: bool = False
    tls_version: str | None = None
    cipher: str | None = None
    banner: str | None = None
    certificate: dict[str, Any] | None = None
    error: str | None = None
    issues: list[tuple[str, str]] = field(default_factory=list)
    done: bool = False

    def problem(self, code: str, value: str) -> None:
        self.issues.append((code, value))
        if self.error is None:
            self.error = value

    def to_dict(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "starttls": self.starttls,
            "tls_version": self.tls_version,
            "cipher": self.cipher,
            "banner": self.banner,
            "certificate": self.certificate,
            "error": self.error,
        }


@dataclass
class MxHost:
    """One MX host; ``covered``/``matched_pattern`` are filled in by the engine."""

    name: str
    preference: int
    addresses: list[AddressProbe] = field(default_factory=list)
    error: str | None = None
    issues: list[tuple[str, str]] = field(default_factory=list)
    covered: bool | None = None
    matched_pattern: str | None = None
    resolved: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "preference": self.preference,
            "covered": self.covered,
            "matched_pattern": self.matched_pattern,
            "addresses": [a.to_dict() for a in self.addresses],
            "error": self.error,
        }


class SmtpError(Exception):
    """The server's answer was missing, late or not SMTP; the message says which."""


@dataclass
class Reply:
    code: int
    lines: list[str]

    @property
    def text(self) -> str:
        return " / ".join(self.lines)


async def probe_host(
    host: MxHost, resolver: dns.Resolver, options: CheckOptions, limiter: asyncio.Semaphore
) -> None:
    """Resolve ``host`` and probe all its addresses concurrently, filling ``host`` in place.

    In place, so that what finished before the domain deadline is kept.
    """
    lookup = await resolver.addresses(host.name)
    host.resolved = True
    if not lookup.ok:
        what = "has no address" if lookup.status == dns.MISSING else "could not be resolved"
        host.error = f"{host.name} {what}: {lookup.detail}"
        host.issues.append(("mx.connect.failed", host.error))
        return
    host.addresses = [AddressProbe(ip) for ip in lookup.records]
    await asyncio.gather(
        *(probe_address(host.name, probe, options, limiter) for probe in host.addresses)
    )


async def probe_address(
    name: str, probe: AddressProbe, options: CheckOptions, limiter: asyncio.Semaphore
) -> None:
    """One SMTP session to ``probe.ip`` for MX host ``name``; never raises for I/O."""
    reason = blocked_reason(probe.ip, options)
    if reason is not None:
        probe.problem("mx.connect.blocked_address", f"{probe.ip} ({reason})")
        probe.done = True
        return
    try:
        async with limiter:
            await _session(name, probe, options)
    except Exception as exc:  # a server can provoke odd errors; one must not end the run
        log.warning("unexpected error probing %s [%s]", name, probe.ip, exc_info=True)
        probe.problem("mx.connect.failed", f"{probe.ip}: unexpected error {exc!r}")
    # Not in a finally: a probe cancelled by the deadline must stay "not done".
    probe.done = True


async def _session(name: str, probe: AddressProbe, options: CheckOptions) -> None:
    where = f"{probe.ip} port {options.smtp_port}"
    try:
        async with asyncio.timeout(options.timeout):
            reader, writer = await asyncio.open_connection(
                probe.ip, options.smtp_port, limit=MAX_LINE
            )
    except TimeoutError:
        probe.problem(
            "mx.connect.failed", f"{where}: connection timed out after {options.timeout:g} s"
        )
        return
    except OSError as exc:
        probe.problem("mx.connect.failed", f"{where}: {os_error_text(exc)}")
        return
    try:
        await _converse(name, probe, reader, writer, options)
    finally:
        await _close(writer)


async def _converse(
    name: str,
    probe: AddressProbe,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    options: CheckOptions,
) -> None:
    step = options.timeout
    try:
        banner = await read_reply(reader, step)
    except SmtpError as exc:
        probe.problem("mx.connect.failed", f"{probe.ip}: no SMTP banner: {exc}")
        return
    probe.banner = banner.lines[0][:200]
    if banner.code != 220:
        probe.problem(
            "mx.connect.failed", f"{probe.ip}: greeted with {banner.text[:200]!r}, not 220"
        )
        return
    try:
        ehlo = await command(reader, writer, f"EHLO {options.helo_name}", step)
        if ehlo.code != 250:
            raise SmtpError(f"EHLO answered {ehlo.text[:200]!r}")
        if not _offers_starttls(ehlo):
            raise SmtpError(f"STARTTLS is not advertised (EHLO answered {ehlo.text[:300]!r})")
        reply = await command(reader, writer, "STARTTLS", step)
        if reply.code != 220:
            raise SmtpError(f"STARTTLS answered {reply.text[:200]!r}")
    except SmtpError as exc:
        probe.problem("mx.starttls.unsupported", f"{probe.ip}: {exc}")
        return
    if await _handshake(name, probe, writer, options):
        _judge(name, probe, writer, options)
        await _quit(reader, writer)


def _offers_starttls(ehlo: Reply) -> bool:
    return any(line[4:].strip().upper().split(" ")[0] == "STARTTLS" for line in ehlo.lines[1:])


async def _handshake(
    name: str, probe: AddressProbe, writer: asyncio.StreamWriter, options: CheckOptions
) -> bool:
    try:
        async with asyncio.timeout(options.timeout):
            await writer.start_tls(
                client_context(legacy_protocols=True),
                server_hostname=name,
                ssl_handshake_timeout=options.timeout,
            )
    except TimeoutError:
        probe.problem(
            "mx.starttls.unsupported",
            f"{probe.ip}: TLS handshake not finished within {options.timeout:g} s",
        )
        return False
    except ssl.SSLError as exc:
        detail = exc.reason or str(exc)
        probe.problem("mx.starttls.unsupported", f"{probe.ip}: TLS handshake failed: {detail}")
        return False
    except (OSError, EOFError) as exc:
        detail = os_error_text(exc) if isinstance(exc, OSError) else "connection closed"
        probe.problem(
            "mx.starttls.unsupported",
            f"{probe.ip}: connection lost during the TLS handshake ({detail})",
        )
        return False
    probe.starttls = True
    return True


def _judge(
    name: str, probe: AddressProbe, writer: asyncio.StreamWriter, options: CheckOptions
) -> None:
    ssl_object = writer.get_extra_info("ssl_object")
    probe.tls_version = ssl_object.version() if ssl_object else None
    cipher = ssl_object.cipher() if ssl_object else None
    probe.cipher = cipher[0] if cipher else None
    if probe.tls_version in WEAK_PROTOCOLS:
        probe.problem("mx.tls.weak_protocol", f"{probe.tls_version} on {probe.ip} (best offered)")
    verdict = inspect_chain(
        peer_chain(ssl_object),
        name,
        ca_bundle=options.ca_bundle,
        warning_days=options.cert_warning_days,
    )
    probe.certificate = verdict.facts or None
    if verdict.expired:
        probe.problem("mx.cert.expired", f"{verdict.expired} (on {probe.ip})")
    if verdict.trust_error:
        probe.problem("mx.cert.untrusted", f"{verdict.trust_error} (on {probe.ip})")
    if verdict.name_error:
        probe.problem("mx.cert.name_mismatch", f"{verdict.name_error} (on {probe.ip})")
    if verdict.expiring:
        probe.problem("mx.cert.expiring", f"{verdict.expiring} (on {probe.ip})")


async def command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str, timeout: float
) -> Reply:
    """Send one SMTP command and read its reply, both within ``timeout``."""
    try:
        writer.write(line.encode("ascii") + b"\r\n")
        async with asyncio.timeout(timeout):
            await writer.drain()
    except TimeoutError:
        raise SmtpError(f"could not send {line.split()[0]} within {timeout:g} s") from None
    except OSError as exc:
        raise SmtpError(f"connection lost sending {line.split()[0]}: {exc}") from None
    return await read_reply(reader, timeout, after=line.split()[0])


async def read_reply(reader: asyncio.StreamReader, timeout: float, after: str = "") -> Reply:
    """Read one (possibly multi-line) SMTP reply within ``timeout`` in total.

    The bound is on the whole reply, so a server trickling bytes cannot stretch it.
    """
    lines: list[str] = []
    context = f" to {after}" if after else ""
    try:
        async with asyncio.timeout(timeout):
            while True:
                raw = await reader.readline()
                if not raw:
                    raise SmtpError(f"connection closed before a reply{context}")
                line = raw.decode("latin-1").rstrip("\r\n")
                if not _is_reply_line(line):
                    raise SmtpError(f"not an SMTP reply{context}: {line[:80]!r}")
                lines.append(line)
                if len(line) == 3 or line[3] == " ":
                    break
                if len(lines) >= MAX_REPLY_LINES:
                    raise SmtpError(f"reply{context} longer than {MAX_REPLY_LINES} lines")
    except TimeoutError:
        raise SmtpError(f"no complete reply{context} within {timeout:g} s") from None
    except ValueError:  # a line over the stream limit
        raise SmtpError(f"reply line{context} longer than {MAX_LINE} bytes") from None
    except (OSError, asyncio.IncompleteReadError) as exc:
        raise SmtpError(f"connection lost{context}: {exc}") from None
    return Reply(int(lines[0][:3]), lines)


def _is_reply_line(line: str) -> bool:
    return len(line) >= 3 and line[:3].isdigit() and (len(line) == 3 or line[3] in " -")


async def _quit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # The facts are gathered; a rude goodbye changes nothing.
    with contextlib.suppress(SmtpError):
        await command(reader, writer, "QUIT", QUIT_WAIT)


async def _close(writer: asyncio.StreamWriter) -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        writer.transport.abort()  # the deadline passed: no time for a TLS goodbye
        return
    writer.close()
    try:
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
    except (TimeoutError, OSError, ssl.SSLError):
        writer.transport.abort()
