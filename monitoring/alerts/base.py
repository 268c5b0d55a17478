"""The common base of every channel: ``Transport.send(payload)`` and its errors.

A transport raises ``TransportError``; ``permanent=True`` means retrying cannot help
(the webhook is gone, the address is refused) and the channel gets disabled with the reason.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

from monitoring.checks.netguard import is_forbidden

if TYPE_CHECKING:
    from monitoring.models import AlertChannel

#: HTTP answers worth another try later; every other 4xx means the request itself is wrong.
RETRYABLE_STATUS = frozenset({408, 425, 429})
MAX_ERROR_BODY = 300


class TransportError(Exception):
    """A send that failed; ``permanent`` when a retry cannot succeed."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Transport:
    """Sends one notification payload (see ``alerting.alert_payload``) to one channel."""

    kind: ClassVar[str] = ""

    def __init__(self, channel: AlertChannel) -> None:
        self.channel = channel
        self.config: dict[str, Any] = dict(channel.config or {})

    def send(self, payload: dict[str, Any]) -> None:
        """Deliver ``payload``; raise TransportError on failure."""
        raise NotImplementedError


class HttpTransport(Transport):
    """POSTs JSON to the channel's URL, refusing private targets unless settings allow them."""

    def url(self) -> str:
        url = str(self.config.get("url", ""))
        if not url:
            raise TransportError("the channel has no URL", permanent=True)
        return url

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST ``body`` to the channel URL; returns the 2xx response or raises TransportError."""
        url = self.url()
        target, host_header, sni = pinned_target(url)
        timeout = httpx.Timeout(
            settings.ALERTS_HTTP_TIMEOUT, connect=min(5.0, settings.ALERTS_HTTP_TIMEOUT)
        )
        send_headers = {
            "Content-Type": "application/json",
            "User-Agent": "stsguard-alerts/1",
            "Host": host_header,
            **headers,
        }
        extensions = {"sni_hostname": sni} if sni else {}
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
                response = client.post(
                    target, content=body, headers=send_headers, extensions=extensions
                )
        except httpx.TimeoutException as exc:
            raise TransportError(f"timed out talking to {host_header}: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"could not reach {host_header}: {exc}") from exc
        check_status(response)
        return response


def check_status(response: httpx.Response) -> None:
    """Raise TransportError unless the response is a 2xx; 5xx and 429 are worth a retry."""
    status = response.status_code
    if 200 <= status < 300:
        return
    text = response.text[:MAX_ERROR_BODY].strip()
    detail = f"HTTP {status}" + (f": {text}" if text else "")
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        raise TransportError(f"{detail} (redirects to {where}; use the final URL)", permanent=True)
    permanent = 400 <= status < 500 and status not in RETRYABLE_STATUS
    raise TransportError(detail, permanent=permanent)


def pinned_target(url: str) -> tuple[str, str, str | None]:
    """Resolve the URL's host once, refuse forbidden addresses, and connect to that address.

    Returns (URL with the checked IP as host, the Host header, the SNI name for https).
    Connecting to the checked address, not the name, closes the gap a second DNS answer
    (rebinding) would otherwise open: the guard judges the address actually used.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TransportError(f"not an http(s) URL: {url[:80]}", permanent=True)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _resolve(host, port)
    reason = None if settings.ALERTS_ALLOW_PRIVATE_TARGETS else is_forbidden(address)
    if reason is not None:
        raise TransportError(f"{host} resolves to {address}, a {reason}: refused", permanent=True)
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = f"{host}:{parts.port}" if parts.port else host
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    sni = host if parts.scheme == "https" and not _is_ip(host) else None
    return target, host_header, sni


def _resolve(host: str, port: int) -> str:
    if _is_ip(host):
        return host
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransportError(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not settings.ALERTS_ALLOW_PRIVATE_TARGETS:
        # Any forbidden answer refuses the whole name: a mixed answer is a rebinding trick.
        for address in addresses:
            reason = is_forbidden(address)
            if reason is not None:
                raise TransportError(
                    f"{host} resolves to {address}, a {reason}: refused", permanent=True
                )
    return addresses[0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
