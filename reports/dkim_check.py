"""DKIM verification of a report message (RFC 8460 section 3 asks senders to sign).

The result is advisory: a report is ingested whatever it says, and the UI shows it.
DNS goes through an injectable ``dnsfunc`` so tests and the lab never leave loopback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dkim
import dns.exception
import dns.rdatatype
import dns.resolver

# dkimpy's signature: dnsfunc(name: bytes, timeout: int = 5) -> bytes | None (TXT data).
DnsFunc = Callable[..., bytes | None]


@dataclass(slots=True)
class DkimResult:
    """``status`` is ``pass`` (some signature verified), ``fail`` or ``none`` (unsigned)."""

    status: str
    domains: list[str] = field(default_factory=list)  # d= of every verified signature
    detail: str = ""


def verify_dkim(raw: bytes, dnsfunc: DnsFunc | None = None, max_signatures: int = 5) -> DkimResult:
    """Verify every DKIM-Signature (up to ``max_signatures``); pass if any verifies.

    ``dnsfunc`` defaults to dkimpy's lookup through the system resolver.
    """
    lookup = dnsfunc if dnsfunc is not None else dkim.dnsplug.get_txt
    try:
        # tlsrpt=True: keys published with s=tlsrpt are valid for these messages.
        verifier = dkim.DKIM(raw, tlsrpt=True)
    except Exception as exc:  # dkimpy raises many types; a message it cannot read fails
        return DkimResult("fail", detail=f"unreadable message: {exc}")
    count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    if count == 0:
        return DkimResult("none", detail="no DKIM-Signature header")
    domains: list[str] = []
    problems: list[str] = []
    for index in range(min(count, max_signatures)):
        try:
            verified = verifier.verify(idx=index, dnsfunc=lookup)
        except Exception as exc:  # dkimpy and DNS errors are verdicts here, never crashes
            problems.append(f"signature {index + 1}: {type(exc).__name__}: {exc}")
            continue
        domain = (verifier.domain or b"").decode("ascii", "replace")
        if verified:
            domains.append(domain)
        else:
            problems.append(f"signature {index + 1} (d={domain}): does not verify")
    if domains:
        return DkimResult("pass", domains=domains, detail="; ".join(problems))
    return DkimResult("fail", detail="; ".join(problems))


def dnsfunc_from_resolver(resolver: dns.resolver.Resolver) -> DnsFunc:
    """A dkimpy ``dnsfunc`` that asks ``resolver`` (the project's configured one)."""

    def get_txt(name: bytes | str, timeout: float = 5) -> bytes | None:
        qname = name.decode("ascii") if isinstance(name, bytes) else name
        try:
            answer = resolver.resolve(qname, "TXT", lifetime=timeout, raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
            return None
        except dns.exception.Timeout as exc:
            raise dkim.DnsTimeoutError(str(exc)) from None
        for rrset in answer.response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(next(iter(rrset)).strings)
        return None

    return get_txt
