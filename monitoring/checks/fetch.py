"""Fetch ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` as senders do [RFC 8461 3.3].

The host is resolved through the engine's resolver and each address is checked by the
guard; the connection goes to that exact address (the URL carries the IP) while the TLS
SNI (httpcore's ``sni_hostname`` extension) and the Host header carry the name, so the
guard checks the address really used and DNS cannot be re-asked behind its back.
Redirects are never followed, the body is streamed and cut at 64 KiB + 1 byte, and
proxies from the environment are ignored.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import zlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from monitoring.checks import dns
from monitoring.checks.certs import CertVerdict, client_context, inspect_chain, peer_chain
from monitoring.checks.findings import Finding, make
from monitoring.checks.neterrors import os_error_text
from monitoring.checks.netguard import blocked_reason
from monitoring.checks.options import CheckOptions
from monitoring.checks.policy import Policy, parse_policy

MAX_POLICY_BYTES = 64 * 1024
POLICY_PATH = "/.well-known/mta-sts.txt"
USER_AGENT = "stsguard-mta-sts-check/1"
_TEXT_CHARSETS = {"utf-8", "utf8", "us-ascii", "ascii"}


@dataclass
class PolicyFetch:
    """What fetching the policy gave: the response facts, the parsed policy, findings."""

    url: str
    host: str
    addresses: list[str] = field(default_factory=list)
    address: str | None = None  # the address the response came from
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    policy: Policy | None = None
    certificate: dict[str, Any] | None = None
    error: str | None = None
    no_address: bool = False  # the host does not resolve at all (NXDOMAIN / no A, AAAA)
    findings: list[Finding] = field(default_factory=list)
    done: bool = False  # False when the domain deadline cut the fetch short

    @classmethod
    def for_domain(cls, domain: str) -> PolicyFetch:
        host = f"mta-sts.{domain}"
        return cls(url=f"https://{host}{POLICY_PATH}", host=host)

    @property
    def served(self) -> bool:
        """A 200 answer that reads like a policy (a version line): something is deployed."""
        return self.status == 200 and self.policy is not None and self.policy.version is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "host": self.host,
            "addresses": self.addresses,
            "address": self.address,
            "status": self.status,
            "headers": self.headers,
            "text": self.text,
            "parsed": self.policy.to_dict() if self.policy is not None else None,
            "certificate": self.certificate,
            "error": self.error,
        }


class _Unreachable(Exception):
    """This address could not be connected to; the next one may work."""


async def fetch_policy(
    domain: str,
    resolver: dns.Resolver,
    options: CheckOptions,
    result: PolicyFetch | None = None,
) -> PolicyFetch:
    """Resolve, guard, fetch and parse the policy of ``domain``; never raises for I/O.

    ``result`` is filled in place when given, so a caller that cancels the fetch (the
    domain deadline) still sees how far it got.
    """
    result = result or PolicyFetch.for_domain(domain)
    await _fetch(result, resolver, options)
    result.done = True
    return result


async def _fetch(result: PolicyFetch, resolver: dns.Resolver, options: CheckOptions) -> None:
    lookup = await resolver.addresses(result.host)
    if not lookup.ok:
        result.no_address = lookup.status == dns.MISSING
        what = "has no address" if result.no_address else "could not be resolved"
        _fail(result, f"{result.host} {what}: {lookup.detail}")
        return
    result.addresses = lookup.records
    failures: list[str] = []
    for address in _guard(result, options):
        try:
            # Per-step timeouts bound each read; this bounds a server trickling bytes.
            async with asyncio.timeout(2 * options.timeout):
                await _get(result, address, options)
            return
        except _Unreachable as exc:
            failures.append(str(exc))
        except TimeoutError:
            failures.append(f"{address}: no complete answer within {2 * options.timeout:g} s")
            break  # it connected, so it is the host's answer that is slow, not the route
    if failures:
        _fail(result, "; ".join(failures))


def _fail(result: PolicyFetch, message: str) -> None:
    result.error = message
    result.findings.append(make("policy.fetch.failed", result.url, message))


def _guard(result: PolicyFetch, options: CheckOptions) -> list[str]:
    allowed, blocked = [], []
    for address in result.addresses:
        reason = blocked_reason(address, options)
        if reason is None:
            allowed.append(address)
        else:
            blocked.append(f"{address} ({reason})")
    if blocked:
        shown = ", ".join(blocked)
        result.findings.append(make("policy.fetch.blocked_address", result.url, shown))
        if not allowed:
            result.error = f"{result.host} resolves only to forbidden addresses: {shown}"
    return allowed


def _url_for(address: str, port: int) -> str:
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return f"https://{host}:{port}{POLICY_PATH}"


async def _get(result: PolicyFetch, address: str, options: CheckOptions) -> None:
    host_header = (
        result.host if options.https_port == 443 else f"{result.host}:{options.https_port}"
    )
    transport = httpx.AsyncHTTPTransport(verify=client_context(), retries=0)
    async with httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(options.timeout),
        follow_redirects=False,
        trust_env=False,
    ) as client:
        request = client.build_request(
            "GET",
            _url_for(address, options.https_port),
            headers={
                "Host": host_header,
                "User-Agent": USER_AGENT,
                "Accept": "text/plain",
                "Accept-Encoding": "identity",
                "Cache-Control": "no-cache",
            },
            extensions={"sni_hostname": result.host},
        )
        try:
            response = await client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            _connect_failure(result, address, exc, options)
            return
        except httpx.HTTPError as exc:
            result.address = address
            _fail(result, f"{address}: {_describe(exc, options)}")
            return
        result.address = address
        try:
            await _read_response(result, response, options)
        except httpx.HTTPError as exc:
            _fail(result, f"{address}: {_describe(exc, options)}")
        finally:
            await response.aclose()


def _connect_failure(
    result: PolicyFetch, address: str, exc: httpx.HTTPError, options: CheckOptions
) -> None:
    """A refused or timed-out connection may work on the next address; TLS failures not."""
    cause = _ssl_cause(exc)
    if cause is not None and not isinstance(exc, httpx.ConnectTimeout):
        result.address = address
        _fail(result, f"{address}: TLS handshake failed: {cause.reason or cause}")
        return
    raise _Unreachable(f"{address} port {options.https_port}: {_describe(exc, options)}")


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(exc: httpx.HTTPError, options: CheckOptions) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connection or TLS handshake timed out after {options.timeout:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no answer within {options.timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {options.timeout:g} s"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"not a valid HTTP response ({exc or 'connection closed'})"
    os_error = _os_cause(exc)
    if os_error is not None:
        return os_error_text(os_error)
    return str(exc) or type(exc).__name__


def _os_cause(exc: BaseException) -> OSError | None:
    """The socket error under httpx/httpcore/anyio wrappers ("All connection attempts...")."""
    pending: list[BaseException] = [exc]
    for _ in range(12):
        if not pending:
            return None
        current = pending.pop(0)
        if isinstance(current, OSError) and current.errno:
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return None


async def _read_response(
    result: PolicyFetch, response: httpx.Response, options: CheckOptions
) -> None:
    result.status = response.status_code
    result.headers = {k.lower(): v for k, v in response.headers.items()}
    _check_certificate(result, response, options)
    if 300 <= response.status_code < 400:
        location = response.headers.get("location")
        where = f"to {location!r}" if location else "without a Location header"
        result.error = f"HTTP {response.status_code} redirect {where}"
        result.findings.append(
            make("policy.fetch.redirect", result.url, f"HTTP {response.status_code} {where}")
        )
        return
    if response.status_code != 200:
        status = f"{response.status_code} {response.reason_phrase}".strip()
        result.error = f"HTTP {status}"
        result.findings.append(make("policy.fetch.http_status", result.url, status))
        return
    _check_content_type(result, response)
    body = await _read_body(result, response)
    if body is None:
        return
    result.text = body.decode("utf-8", "replace")
    result.policy, findings = parse_policy(body, result.url)
    result.findings += findings


def _check_certificate(
    result: PolicyFetch, response: httpx.Response, options: CheckOptions
) -> None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    verdict: CertVerdict = inspect_chain(
        peer_chain(ssl_object),
        result.host,
        ca_bundle=options.ca_bundle,
        warning_days=options.cert_warning_days,
    )
    result.certificate = verdict.facts or None
    if not verdict.valid:
        result.findings.append(
            make("policy.fetch.tls_invalid", result.url, "; ".join(verdict.problems()))
        )
    elif verdict.expiring:
        result.findings.append(make("policy.cert.expiring", result.host, verdict.expiring))


def _check_content_type(result: PolicyFetch, response: httpx.Response) -> None:
    raw = response.headers.get("content-type")
    if raw is None:
        result.findings.append(make("policy.fetch.content_type", result.url, "missing (no header)"))
        return
    media, *params = (part.strip() for part in raw.split(";"))
    if media.lower() != "text/plain":
        result.findings.append(make("policy.fetch.content_type", result.url, repr(raw)))
        return
    for param in params:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in _TEXT_CHARSETS:
            result.findings.append(
                make("policy.fetch.content_type", result.url, repr(raw), severity="warning")
            )


async def _read_body(result: PolicyFetch, response: httpx.Response) -> bytes | None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_POLICY_BYTES:
        _too_large(result, f"{int(declared)} bytes (Content-Length)")
        return None
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > MAX_POLICY_BYTES:
            _too_large(result, f"more than {MAX_POLICY_BYTES} bytes (stopped reading)")
            return None
    return _decode_content(result, bytes(body), response.headers.get("content-encoding"))


def _too_large(result: PolicyFetch, value: str) -> None:
    result.error = f"policy body is {value}"
    result.findings.append(make("policy.fetch.too_large", result.url, value))


def _decode_content(result: PolicyFetch, body: bytes, encoding: str | None) -> bytes | None:
    """Undo a Content-Encoding the server applied although we asked for identity."""
    coding = (encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding not in ("gzip", "x-gzip", "deflate"):
        _fail(result, f"unsupported Content-Encoding {encoding!r}")
        return None
    # 47 = auto-detect zlib or gzip headers; max_length bounds a decompression bomb.
    inflater = zlib.decompressobj(47 if coding != "deflate" else 15)
    try:
        plain = inflater.decompress(body, MAX_POLICY_BYTES + 1)
    except zlib.error as exc:
        _fail(result, f"body is not valid {coding}: {exc}")
        return None
    if len(plain) > MAX_POLICY_BYTES or inflater.unconsumed_tail:
        _too_large(result, f"more than {MAX_POLICY_BYTES} bytes once decompressed")
        return None
    return plain
