"""The exact fix for a finding: the record or policy text to publish, ready to copy.

The catalogue's hint says what to do in words; where the fix is a text (a TXT record, a
corrected policy file) this module writes that text for the domain at hand, from what the
last check saw. Findings whose fix is work on a server (certificates, STARTTLS) get none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitoring import generators as gen
from monitoring.checks.names import matches_pattern

RECORD_CODES = {"sts.record.missing", "sts.record.invalid", "sts.record.multiple", "sts.id.stale"}
TLSRPT_CODES = {"tlsrpt.record.missing", "tlsrpt.record.invalid", "tlsrpt.record.multiple"}
POLICY_CODES = {
    "policy.syntax.invalid",
    "policy.version.invalid",
    "policy.mode.invalid",
    "policy.max_age.invalid",
    "policy.max_age.low",
    "policy.mx.missing",
    "policy.mx.invalid",
    "policy.mx.unused",
    "mx.not_covered",
}
CONTENT_TYPE_FIX = "Content-Type: text/plain; charset=utf-8"


@dataclass(frozen=True)
class Fix:
    label: str
    text: str


@dataclass
class FixContext:
    """What every fix of one domain shares: names, a fresh id, the report's facts."""

    domain: str
    report: Mapping[str, Any]
    rua: Sequence[str]
    now: dt.datetime

    @property
    def record_id(self) -> str:
        current = (self.report.get("record") or {}).get("id")
        return gen.new_policy_id(self.now, current)


def fix_for(finding: Mapping[str, Any], ctx: FixContext) -> list[Fix]:
    """The texts that fix ``finding`` (in the order to publish them), or an empty list."""
    code = finding.get("code", "")
    if code in RECORD_CODES:
        return [_record_fix(ctx)]
    if code in TLSRPT_CODES:
        return [_tlsrpt_fix(ctx)] if _tlsrpt_fix(ctx) else []
    if code in POLICY_CODES:
        policy = corrected_policy(ctx.report)
        if policy is None:
            return []
        return [
            Fix(
                f"1. Publish this policy at https://mta-sts.{ctx.domain}/.well-known/mta-sts.txt",
                policy,
            ),
            Fix(
                f"2. Then change the id: TXT at _mta-sts.{ctx.domain}",
                gen.mta_sts_record(ctx.record_id),
            ),
        ]
    if code == "policy.fetch.content_type":
        return [Fix("Response header", CONTENT_TYPE_FIX)]
    return []


def _record_fix(ctx: FixContext) -> Fix:
    return Fix(f"TXT at _mta-sts.{ctx.domain}", gen.mta_sts_record(ctx.record_id))


def _tlsrpt_fix(ctx: FixContext) -> Fix | None:
    seen = (ctx.report.get("tlsrpt") or {}).get("rua") or []
    rua = [u for u in seen if _valid_rua(u)] or list(ctx.rua)
    if not rua:
        return None
    return Fix(f"TXT at _smtp._tls.{ctx.domain}", gen.tlsrpt_record(rua))


def _valid_rua(uri: str) -> bool:
    try:
        gen.records.normalize_rua_uri(uri)
    except ValueError:
        return False
    return True


def corrected_policy(report: Mapping[str, Any]) -> str | None:
    """The served policy with its problems fixed, from the MX hosts the check saw.

    Keeps the mode (testing if it was invalid) and a valid ``max_age`` of a day or more;
    keeps the patterns that still match an MX host and adds suggestions for the others.
    ``None`` when the domain has no MX hosts to build a policy for.
    """
    policy = report.get("policy") or {}
    parsed = policy.get("parsed") or {}
    hosts = [h["name"] for h in report.get("mx") or [] if h.get("name")]
    if not hosts:
        return None
    mode = parsed.get("mode") if parsed.get("mode") in gen.policy.MODES else "testing"
    max_age = parsed.get("max_age")
    if not isinstance(max_age, int) or not 86_400 <= max_age <= gen.policy.MAX_MAX_AGE:
        max_age = gen.DEFAULT_MAX_AGE
    patterns = corrected_patterns(hosts, parsed.get("mx") or [])
    return gen.render_policy(gen.PolicySpec(mode=mode, max_age=max_age, mx=patterns))


def corrected_patterns(hosts: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """Valid patterns that match some host, then suggestions for hosts left uncovered."""
    kept = []
    for pattern in patterns:
        try:
            normal = gen.names.normalize_pattern(pattern)
        except ValueError:
            continue
        if any(matches_pattern(host, normal) for host in hosts):
            kept.append(normal)
    uncovered = [h for h in hosts if not any(matches_pattern(h, p) for p in kept)]
    if uncovered:
        kept += [s.pattern for s in gen.suggest_patterns(uncovered)]
    return list(dict.fromkeys(kept))
