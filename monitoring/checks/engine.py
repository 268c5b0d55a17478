"""Check one domain end to end: ``check_domain(name, options) -> DomainReport``.

Look-ups, the policy fetch and every MX session run concurrently under one deadline.
Each part fills its own state in place; when the deadline passes, unfinished parts are
cancelled and reported as such, so a check always returns a report and never raises
for anything the network does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Iterable

from monitoring.checks import dns
from monitoring.checks.fetch import PolicyFetch, fetch_policy
from monitoring.checks.findings import ERROR, INFO, Finding, make, worst_status
from monitoring.checks.mx import MxHost, probe_host
from monitoring.checks.names import matches_pattern, normalize_domain
from monitoring.checks.options import CheckOptions
from monitoring.checks.policy import MODES, Policy
from monitoring.checks.records import (
    STS_VERSION,
    TLSRPT_VERSION,
    missing_reason,
    parse_sts,
    parse_tlsrpt,
)
from monitoring.checks.report import DomainReport

__all__ = ["DomainReport", "check_domain", "check_domain_async", "check_many", "normalize_domain"]

log = logging.getLogger(__name__)

MAX_PARALLEL_SMTP = 32  # per domain; a domain with hundreds of MX hosts must not flood


def check_domain(name: str, options: CheckOptions | None = None) -> DomainReport:
    """Check ``name`` and return its report (blocking; call from synchronous code).

    Raises ValueError only for a name that is not a domain.
    """
    return asyncio.run(check_domain_async(name, options or CheckOptions()))


async def check_domain_async(name: str, options: CheckOptions | None = None) -> DomainReport:
    """Check ``name`` within ``options.deadline``; see ``check_domain``."""
    options = options or CheckOptions()
    domain = normalize_domain(name)
    checked_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    run = _Run(domain, options)
    try:
        async with asyncio.timeout(options.deadline):
            await run.execute()
    except TimeoutError:
        log.info("check of %s hit the %.1f s deadline", domain, options.deadline)
    duration_ms = round((time.monotonic() - started) * 1000)
    return run.report(checked_at, duration_ms)


async def check_many(
    names: Iterable[str], options: CheckOptions | None = None, concurrency: int = 50
) -> list[DomainReport]:
    """Check several domains, at most ``concurrency`` at once; reports in input order.

    Every name is validated first, so a bad one raises ValueError before any traffic.
    """
    options = options or CheckOptions()
    domains = [normalize_domain(name) for name in names]
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(domain: str) -> DomainReport:
        async with gate:
            return await check_domain_async(domain, options)

    return list(await asyncio.gather(*(one(d) for d in domains)))


class _Run:
    """The state of one domain check, filled in as the parts finish."""

    def __init__(self, domain: str, options: CheckOptions) -> None:
        self.domain = domain
        self.options = options
        self.resolver = dns.Resolver(options)
        self.sts_name = f"_mta-sts.{domain}"
        self.tlsrpt_name = f"_smtp._tls.{domain}"
        self.sts: dns.Lookup | None = None
        self.tlsrpt: dns.Lookup | None = None
        self.mx: dns.Lookup | None = None
        self.hosts: list[MxHost] = []
        self.null_mx = False
        self.fetch = PolicyFetch.for_domain(domain)
        self.crashed: dict[str, str] = {}

    async def execute(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._guard("sts", self._lookup_sts()))
            group.create_task(self._guard("tlsrpt", self._lookup_tlsrpt()))
            group.create_task(self._guard("policy", self._fetch()))
            group.create_task(self._guard("mx", self._check_mx()))

    async def _guard(self, part: str, work: Awaitable[None]) -> None:
        # A bug in one part must not take the others (or the whole run) down with it.
        try:
            await work
        except Exception as exc:
            log.exception("check of %s: the %s part failed", self.domain, part)
            self.crashed[part] = f"the checker failed: {exc!r}"

    async def _lookup_sts(self) -> None:
        self.sts = await self.resolver.txt(self.sts_name)

    async def _lookup_tlsrpt(self) -> None:
        self.tlsrpt = await self.resolver.txt(self.tlsrpt_name)

    async def _fetch(self) -> None:
        await fetch_policy(self.domain, self.resolver, self.options, self.fetch)

    async def _check_mx(self) -> None:
        self.mx = await self.resolver.mx(self.domain)
        if not self.mx.ok:
            return
        best: dict[str, int] = {}
        for preference, host in self.mx.records:
            best.setdefault(host, preference)
        self.null_mx = "." in best
        self.hosts = [MxHost(name, pref) for name, pref in best.items() if name != "."]
        limiter = asyncio.Semaphore(MAX_PARALLEL_SMTP)
        await asyncio.gather(
            *(probe_host(host, self.resolver, self.options, limiter) for host in self.hosts)
        )

    # -- the report ------------------------------------------------------------------

    def report(self, checked_at: dt.datetime, duration_ms: int) -> DomainReport:
        record, record_findings = self._record()
        policy = self.fetch.policy if self.fetch.status == 200 else None
        mode = policy.mode if policy is not None and policy.mode in MODES else None
        findings = record_findings
        findings += self._policy_findings(record_missing=record is None and self._answered())
        findings += self._mx_findings(policy, mode)
        tlsrpt, tlsrpt_findings = self._tlsrpt()
        findings += tlsrpt_findings
        return DomainReport(
            domain=self.domain,
            status=worst_status(findings),
            checked_at=checked_at,
            duration_ms=duration_ms,
            record=record,
            policy=self.fetch.to_dict(),
            mx=[host.to_dict() for host in self.hosts],
            tlsrpt=tlsrpt,
            findings=findings,
        )

    def _unfinished(self) -> str:
        return f"no answer before the {self.options.deadline:g} s deadline"

    def _answered(self) -> bool:
        """The record look-up got an answer (so "no record" is a fact, not a failure)."""
        return "sts" not in self.crashed and self.sts is not None and self.sts.status != dns.FAILED

    def _record(self) -> tuple[dict | None, list[Finding]]:
        name = self.sts_name
        if "sts" in self.crashed:
            return None, [make("sts.record.lookup_failed", name, self.crashed["sts"])]
        if self.sts is None:
            return None, [make("sts.record.lookup_failed", name, self._unfinished())]
        if self.sts.status == dns.FAILED:
            return None, [make("sts.record.lookup_failed", name, self.sts.detail)]
        record, findings = parse_sts(name, self.sts.records)
        if record is None:
            seen = self.sts.detail or missing_reason(self.sts.records, STS_VERSION)
            severity = ERROR if self.fetch.served else INFO
            return None, [make("sts.record.missing", name, seen, severity=severity)]
        return record.to_dict(), findings

    def _policy_findings(self, record_missing: bool) -> list[Finding]:
        fetch = self.fetch
        findings = list(fetch.findings)
        if "policy" in self.crashed:
            findings.append(make("policy.fetch.failed", fetch.url, self.crashed["policy"]))
        elif not fetch.done:
            fetch.error = fetch.error or self._unfinished()
            findings.append(make("policy.fetch.failed", fetch.url, self._unfinished()))
        if not record_missing or fetch.served:
            return findings
        # No record and no policy: MTA-STS is simply not deployed. A policy host that
        # does not exist is then expected; other fetch problems are only worth a note,
        # since senders never fetch a policy without the record.
        if fetch.no_address:
            return [f for f in findings if f.code != "policy.fetch.failed"]
        return [dataclasses.replace(f, severity=INFO) for f in findings]

    def _mx_findings(self, policy: Policy | None, mode: str | None) -> list[Finding]:
        domain = self.domain
        if "mx" in self.crashed and self.mx is None:
            return [make("mx.records.lookup_failed", domain, self.crashed["mx"])]
        if self.mx is None:
            return [make("mx.records.lookup_failed", domain, self._unfinished())]
        if self.mx.status == dns.FAILED:
            return [make("mx.records.lookup_failed", domain, self.mx.detail)]
        findings: list[Finding] = []
        if self.null_mx and not self.hosts:
            return [make("mx.records.null", domain, "MX 0 .")]
        if not self.hosts:
            findings.append(make("mx.records.missing", domain, self.mx.detail or "no MX records"))
        patterns = policy.patterns if policy is not None else []
        for host in self.hosts:
            findings += self._coverage(host, patterns, mode)
            findings += self._host_findings(host, mode)
        findings += self._unused(patterns)
        return findings

    def _coverage(self, host: MxHost, patterns: list[str], mode: str | None) -> list[Finding]:
        if not patterns:
            return []  # no policy, or its mx lines are missing/invalid: reported there
        host.matched_pattern = next((p for p in patterns if matches_pattern(host.name, p)), None)
        host.covered = host.matched_pattern is not None
        if host.covered:
            return []
        listed = ", ".join(patterns)
        return [make("mx.not_covered", host.name, f"patterns: {listed}", mode=mode)]

    def _unused(self, patterns: list[str]) -> list[Finding]:
        unused = [p for p in patterns if not any(matches_pattern(h.name, p) for h in self.hosts)]
        if not unused:
            return []
        hosts = ", ".join(h.name for h in self.hosts) or "none"
        value = f"{', '.join(repr(p) for p in unused)} matches no MX host (MX hosts: {hosts})"
        return [make("policy.mx.unused", self.fetch.url, value)]

    def _host_findings(self, host: MxHost, mode: str | None) -> list[Finding]:
        issues = list(host.issues)
        reason = self.crashed.get("mx") or self._unfinished()
        if not host.resolved:
            host.error = host.error or reason
            issues.append(("mx.connect.failed", f"{host.name}: {reason}"))
        for probe in host.addresses:
            issues += probe.issues
            if not probe.done:
                probe.error = probe.error or reason
                issues.append(("mx.connect.failed", f"{probe.ip}: {reason}"))
        grouped: dict[str, list[str]] = {}
        for code, value in issues:
            grouped.setdefault(code, []).append(value)
        return [
            make(code, host.name, "; ".join(dict.fromkeys(values)), mode=mode)
            for code, values in grouped.items()
        ]

    def _tlsrpt(self) -> tuple[dict | None, list[Finding]]:
        name = self.tlsrpt_name
        if "tlsrpt" in self.crashed:
            return None, [make("tlsrpt.record.lookup_failed", name, self.crashed["tlsrpt"])]
        if self.tlsrpt is None:
            return None, [make("tlsrpt.record.lookup_failed", name, self._unfinished())]
        if self.tlsrpt.status == dns.FAILED:
            return None, [make("tlsrpt.record.lookup_failed", name, self.tlsrpt.detail)]
        record, findings = parse_tlsrpt(name, self.tlsrpt.records)
        if record is None:
            seen = self.tlsrpt.detail or missing_reason(self.tlsrpt.records, TLSRPT_VERSION)
            return None, [make("tlsrpt.record.missing", name, seen)]
        return record.to_dict(), findings
