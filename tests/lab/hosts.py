"""What each lab host does, and the loopback address that behaviour lives on.

All policy servers share one HTTPS port and all MX servers one SMTP port (the checker
has a single port setting for each), so a behaviour is told apart by address: every
behaviour listens on its own ``127.0.x.y``. Linux routes all of 127/8 to ``lo``, so
these bind with no set-up. Certificates are picked per host name by SNI, which lets
any number of hosts share one address.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tests.lab.certs import CertKind


class Http(StrEnum):
    """Behaviour of a policy host (``mta-sts.<domain>``)."""

    OK = "ok"  # the spec's status, content type and body
    REDIRECT_LOOP = "redirect_loop"  # 302 to the very URL asked for
    HTTP10 = "http10"  # HTTP/1.0, no Content-Length: the body ends when the server closes
    HUGE = "huge"  # 10 MB streamed with a Content-Length
    HUGE_CHUNKED = "huge_chunked"  # 10 MB chunked, no Content-Length
    HANG = "hang"  # TLS done, request read, no answer ever
    TRICKLE = "trickle"  # a valid response at one byte per second
    GARBAGE = "garbage"  # not TLS: plain bytes, then close
    BLACKHOLE = "blackhole"  # accept, then silence (no TLS handshake)
    RESET = "reset"  # accept, then RST
    REFUSED = "refused"  # nothing listens on the address
    NO_ADDRESS = "no_address"  # the host has no A/AAAA record


class Smtp(StrEnum):
    """Behaviour of an MX host."""

    OK = "ok"  # banner, EHLO with STARTTLS, TLS 1.2+
    WEAK_TLS = "weak_tls"  # STARTTLS, but only TLS 1.0 / 1.1
    NO_STARTTLS = "no_starttls"  # STARTTLS not advertised (502 if tried anyway)
    STARTTLS_454 = "starttls_454"  # advertised, then "454 TLS not available"
    DROP_AFTER_STARTTLS = "drop_after_starttls"  # "220 go ahead", then close
    NO_BANNER = "no_banner"  # accept, then silence
    GARBAGE_BANNER = "garbage_banner"  # binary junk instead of "220 ..."
    BANNER_554 = "banner_554"  # "554 no service here"
    MULTILINE_BANNER = "multiline_banner"  # "220-..." continuation lines, then "220 ..."
    RESET = "reset"
    REFUSED = "refused"
    NO_ADDRESS = "no_address"


HTTPS_ADDRESSES: dict[Http, str] = {
    Http.OK: "127.0.1.1",
    Http.REDIRECT_LOOP: "127.0.1.2",
    Http.HUGE: "127.0.1.3",
    Http.HUGE_CHUNKED: "127.0.1.4",
    Http.HANG: "127.0.1.5",
    Http.TRICKLE: "127.0.1.6",
    Http.GARBAGE: "127.0.1.7",
    Http.BLACKHOLE: "127.0.1.8",
    Http.RESET: "127.0.1.9",
    Http.HTTP10: "127.0.1.10",
    Http.REFUSED: "127.0.1.250",  # never bound
}
SMTP_ADDRESSES: dict[Smtp, str] = {
    Smtp.OK: "127.0.2.1",
    Smtp.WEAK_TLS: "127.0.2.2",
    Smtp.NO_STARTTLS: "127.0.2.3",
    Smtp.STARTTLS_454: "127.0.2.4",
    Smtp.DROP_AFTER_STARTTLS: "127.0.2.5",
    Smtp.NO_BANNER: "127.0.2.6",
    Smtp.GARBAGE_BANNER: "127.0.2.7",
    Smtp.BANNER_554: "127.0.2.8",
    Smtp.RESET: "127.0.2.9",
    Smtp.MULTILINE_BANNER: "127.0.2.10",
    Smtp.REFUSED: "127.0.2.250",  # never bound
}
HTTPS_PLAIN = {Http.GARBAGE, Http.BLACKHOLE, Http.RESET}  # listeners without TLS
# The guard must refuse these before any packet leaves; the lab listens on the two
# loopback ones ("tripwires") only to prove that nothing connected.
TRIPWIRE_ADDRESSES = ("127.0.0.1", "::1")
FORBIDDEN_TARGETS = ("10.0.0.1", "169.254.169.254", "127.0.0.1", "::1")


def bound_https_addresses() -> dict[str, Http]:
    return {addr: b for b, addr in HTTPS_ADDRESSES.items() if b is not Http.REFUSED}


def bound_smtp_addresses() -> dict[str, Smtp]:
    return {addr: b for b, addr in SMTP_ADDRESSES.items() if b is not Smtp.REFUSED}


@dataclass(frozen=True)
class PolicySpec:
    """How ``mta-sts.<domain>`` answers ``GET /.well-known/mta-sts.txt``."""

    body: bytes = b""
    behaviour: Http = Http.OK
    cert: CertKind = CertKind.VALID
    status: int = 200
    content_type: str | None = "text/plain"  # None: no Content-Type header at all
    location: str = ""  # for 3xx

    def address(self) -> str | None:
        return None if self.behaviour is Http.NO_ADDRESS else HTTPS_ADDRESSES[self.behaviour]


@dataclass(frozen=True)
class MxSpec:
    """How one MX host answers on the SMTP port."""

    behaviour: Smtp = Smtp.OK
    cert: CertKind = CertKind.VALID

    def address(self) -> str | None:
        return None if self.behaviour is Smtp.NO_ADDRESS else SMTP_ADDRESSES[self.behaviour]
