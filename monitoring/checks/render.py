"""Reports as text for people (the CLI) or as the JSON array of the CLI's ``--json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from monitoring.checks.report import DomainReport

_INDENT = " " * 11


def render_reports(reports: Sequence[DomainReport], as_json: bool) -> str:
    """All reports, in order: a JSON array, or readable text blocks."""
    if as_json:
        return json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False)
    return "\n\n".join(render_text(r) for r in reports)


def render_text(report: DomainReport) -> str:
    """One domain as readable text: the facts seen, then each finding with its fix."""
    count = len(report.findings)
    lines = [
        f"{report.domain}: {report.status.upper()} "
        f"({count} finding{'s' if count != 1 else ''}; checked "
        f"{report.checked_at:%Y-%m-%d %H:%M:%S} UTC in {report.duration_ms} ms)"
    ]
    lines += _record_lines("record", report.record)
    lines += _policy_lines(report.policy)
    lines += _mx_lines(report.mx)
    lines += _record_lines("tlsrpt", report.tlsrpt)
    if report.findings:
        lines.append("  findings:")
    for finding in report.findings:
        lines.append(f"    {finding.severity.upper():<8}{finding.code}  [{finding.subject}]")
        lines.append(f"            {finding.message}")
        lines.append(f"            fix: {finding.hint}")
    return "\n".join(lines)


def _record_lines(label: str, record: dict[str, Any] | None) -> list[str]:
    if record is None:
        return [f"  {label:<9}none"]
    return [f"  {label:<9}{record['name']}: {raw}" for raw in record.get("raw", [])]


def _policy_lines(policy: dict[str, Any] | None) -> list[str]:
    if not policy:
        return []
    head = f"  {'policy':<9}{policy['url']}: "
    if policy.get("status") is None:
        return [head + (policy.get("error") or "not fetched")]
    parsed = policy.get("parsed") or {}
    summary = f"HTTP {policy['status']}"
    if parsed:
        patterns = ", ".join(parsed.get("mx") or []) or "-"
        summary += f", mode {parsed.get('mode')}, max_age {parsed.get('max_age')}, mx {patterns}"
    lines = [head + summary]
    if policy.get("certificate"):
        lines.append(_INDENT + "certificate " + _cert(policy["certificate"]))
    return lines


def _mx_lines(hosts: list[dict[str, Any]]) -> list[str]:
    lines = []
    for host in hosts:
        coverage = ""
        if host.get("covered") is not None:
            coverage = (
                f"  covered by {host['matched_pattern']}" if host["covered"] else "  NOT COVERED"
            )
        lines.append(f"  {'mx ' + str(host['preference']):<9}{host['name']}{coverage}")
        if host.get("error"):
            lines.append(_INDENT + host["error"])
        for address in host.get("addresses", []):
            lines.append(_INDENT + _address(address))
    return lines


def _address(address: dict[str, Any]) -> str:
    text = address["ip"]
    if address.get("starttls"):
        text += f"  STARTTLS {address.get('tls_version')} {address.get('cipher')}"
    if address.get("certificate"):
        text += "  " + _cert(address["certificate"])
    if address.get("error"):
        text += f"  ({address['error']})"
    return text


def _cert(cert: dict[str, Any]) -> str:
    names = ", ".join(cert.get("sans") or []) or cert.get("subject", "?")
    return f"{names}, expires {str(cert.get('not_after', '?'))[:10]} ({cert.get('days_left')} days)"
