"""TXT, MX and address look-ups through one configurable resolver.

A look-up ends in one of three states: ``ok``, ``missing`` (NXDOMAIN or no record of
that type: an answer) or ``failed`` (timeout, SERVFAIL, refused: no answer, after one
retry). Callers must never treat ``failed`` as ``missing`` [RFC 8461 3.1].
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from monitoring.checks.options import CheckOptions

OK = "ok"
MISSING = "missing"
FAILED = "failed"
MAX_CNAME_HOPS = 8
ATTEMPTS = 2


@dataclass
class Lookup:
    """The outcome of one look-up; ``detail`` says what was seen, for messages."""

    status: str
    records: list[Any] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK


class Resolver:
    """The engine's resolver, built from the options (system resolver when none set)."""

    def __init__(self, options: CheckOptions) -> None:
        self.options = options
        # Two tries share the step budget, so a dead server costs at most one timeout.
        self.lifetime = max(options.timeout / ATTEMPTS, 0.2)
        self.error: str | None = None
        self._resolver: dns.asyncresolver.Resolver | None = None
        try:
            self._resolver = self._build(options)
        except dns.exception.DNSException as exc:
            self.error = f"no resolver configured: {exc}"

    @staticmethod
    def _build(options: CheckOptions) -> dns.asyncresolver.Resolver:
        if not options.nameservers:
            resolver = dns.asyncresolver.Resolver(configure=True)
        else:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in options.nameservers
            ]
        resolver.cache = None  # every check must see the live zone
        # Resend a UDP query lost on the way once within each try.
        resolver.timeout = min(2.0, max(options.timeout / (2 * ATTEMPTS), 0.1))
        return resolver

    async def txt(self, name: str) -> Lookup:
        """TXT records at ``name`` (CNAMEs followed), each a list of byte strings."""
        lookup = await self._query(name, "TXT")
        if lookup.ok:
            lookup.records = [list(rdata.strings) for rdata in lookup.records]
        return lookup

    async def mx(self, name: str) -> Lookup:
        """MX records as (preference, host) sorted by preference; a null MX host is ``.``."""
        lookup = await self._query(name, "MX")
        if lookup.ok:
            pairs = {(rdata.preference, _host_text(rdata.exchange)) for rdata in lookup.records}
            lookup.records = sorted(pairs)
        return lookup

    async def addresses(self, name: str) -> Lookup:
        """A and AAAA addresses of ``name`` (A first); failed only if nothing was found."""
        kinds = ["A", "AAAA"] if self.options.ipv6 else ["A"]
        lookups = await asyncio.gather(*(self._query(name, kind) for kind in kinds))
        found = [str(r.address) for lookup in lookups if lookup.ok for r in lookup.records]
        if found:
            return Lookup(OK, list(dict.fromkeys(found)))
        failed = [lookup for lookup in lookups if lookup.status == FAILED]
        if failed:
            return Lookup(FAILED, [], failed[0].detail)
        return Lookup(MISSING, [], "; ".join(dict.fromkeys(x.detail for x in lookups)))

    async def _query(self, name: str, rdtype: str) -> Lookup:
        if self._resolver is None:
            return Lookup(FAILED, [], self.error or "no resolver")
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException as exc:
            return Lookup(MISSING, [], f"{name!r} is not a valid DNS name: {exc}")
        for _hop in range(MAX_CNAME_HOPS):
            outcome = await self._resolve_with_retry(qname, rdtype)
            if isinstance(outcome, Lookup):
                return outcome
            if outcome.rrset is not None:
                return Lookup(OK, list(outcome.rrset))
            # The server gave a CNAME but not its target (an authoritative server
            # answering for a name outside its zones): ask again for the target.
            if outcome.canonical_name == qname:
                return Lookup(MISSING, [], f"no {rdtype} record at {name}")
            qname = outcome.canonical_name
        return Lookup(FAILED, [], f"CNAME chain from {name} longer than {MAX_CNAME_HOPS}")

    async def _resolve_with_retry(
        self, qname: dns.name.Name, rdtype: str
    ) -> dns.resolver.Answer | Lookup:
        assert self._resolver is not None
        detail = ""
        for _attempt in range(ATTEMPTS):
            try:
                return await self._resolver.resolve(
                    qname, rdtype, raise_on_no_answer=False, lifetime=self.lifetime, search=False
                )
            except dns.resolver.NXDOMAIN:
                return Lookup(MISSING, [], f"{_host_text(qname)} does not exist (NXDOMAIN)")
            except dns.resolver.NoNameservers as exc:
                detail = _servers_failed(exc)
            except dns.exception.Timeout:
                detail = f"no answer within {self.lifetime:g} s"
            except dns.exception.DNSException as exc:
                detail = str(exc) or type(exc).__name__
        return Lookup(
            FAILED, [], f"{rdtype} {_host_text(qname)}: {detail} (tried {ATTEMPTS} times)"
        )


def _host_text(name: dns.name.Name) -> str:
    if name == dns.name.root:
        return "."
    return name.to_text(omit_final_dot=True).lower()


def _servers_failed(exc: dns.resolver.NoNameservers) -> str:
    errors = exc.kwargs.get("errors") or []
    # Each error is (server, tcp, port, error, response); the error reads like "SERVFAIL".
    parts = [f"{error[0]} answered {error[3]}" for error in errors if len(error) > 3]
    return "; ".join(dict.fromkeys(parts)) or "all name servers failed (SERVFAIL or refused)"
