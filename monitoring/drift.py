"""Between runs: what changed since the previous check of a domain (CHECKS.md section 7).

Pure functions over the JSON form of ``DomainReport`` (``to_dict()``), with no Django import,
so the rules can be tested with hand-built dicts.

``compare`` gives the drift findings of a run plus the state it carries to the next run.
The state matters because some drift outlives the run that saw it: a policy body that
changed without a new record ``id`` stays stale, run after run, until the id changes or
the old body is back; a removed record stays removed until it returns.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitoring.checks.findings import Finding, make

Facts = Mapping[str, Any]
FindingKey = tuple[str, str]  # (code, subject): what one alert is about

#: Drift codes that tell of a one-off change: reported in the run that saw it, then done.
EVENT_CODES = frozenset({"drift.mx.changed", "drift.policy.changed"})

_RECORD_PARTS = (
    # (key in the facts, the finding code that means "looked up, and there is none")
    ("record", "sts.record.missing"),
    ("tlsrpt", "tlsrpt.record.missing"),
)


@dataclass
class Drift:
    """What ``compare`` found: drift findings, the carried state, and the finding delta."""

    findings: list[Finding] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    new: list[FindingKey] = field(default_factory=list)
    still_open: list[FindingKey] = field(default_factory=list)
    resolved: list[FindingKey] = field(default_factory=list)

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored with the run."""
        return {
            "findings": [f.to_dict() for f in self.findings],
            "state": self.state,
            "new": [list(k) for k in self.new],
            "still_open": [list(k) for k in self.still_open],
            "resolved": [list(k) for k in self.resolved],
        }


def compare(
    previous: Facts | None,
    current: Facts,
    state: Mapping[str, Any] | None = None,
    previous_findings: Iterable[Mapping[str, Any]] | None = None,
) -> Drift:
    """Compare the ``current`` run with the ``previous`` one (None for a domain's first run).

    ``state`` is the ``Drift.state`` of the previous run (None: start fresh).
    ``previous_findings`` are every finding of the previous run, drift ones included
    (default: the previous report's own findings); they decide new / still open / resolved.
    """
    state = dict(state or {})
    domain = str(current.get("domain", ""))
    findings: list[Finding] = []
    findings += _policy_drift(domain, current, state)
    findings += _removed_records(domain, previous, current, state)
    if previous is not None:
        findings += _mx_drift(domain, previous, current)
    mode = policy_mode(current)
    if mode is not None:
        state["last_mode"] = mode
    before = previous_findings if previous_findings is not None else _findings_of(previous)
    after = [*current.get("findings", []), *(f.to_dict() for f in findings)]
    new, still_open, resolved = delta(before, after)
    return Drift(findings, state, new, still_open, resolved)


def delta(
    before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]
) -> tuple[list[FindingKey], list[FindingKey], list[FindingKey]]:
    """Finding keys that are new, still open, and resolved between two lists of findings."""
    old = {finding_key(f) for f in before}
    now = {finding_key(f) for f in after}
    # An event (the MX set changed) is over once told; its absence next run is not a fix.
    gone = {key for key in old - now if key[0] not in EVENT_CODES}
    return sorted(now - old), sorted(now & old), sorted(gone)


def finding_key(finding: Mapping[str, Any] | Finding) -> FindingKey:
    """What makes two findings "the same problem": the code and what it is about."""
    if isinstance(finding, Finding):
        return finding.code, finding.subject
    return str(finding["code"]), str(finding.get("subject", ""))


# -- facts ------------------------------------------------------------------------------


def codes_of(facts: Facts | None) -> set[str]:
    return {str(f["code"]) for f in (facts or {}).get("findings", [])}


def record_id(facts: Facts) -> str | None:
    """The ``id`` of a valid _mta-sts record, else None."""
    record = facts.get("record") or {}
    return record.get("id") if record.get("valid", True) and record.get("id") else None


def policy_text(facts: Facts) -> str | None:
    """The policy body as served with a 200, else None (not fetched, or refused)."""
    policy = facts.get("policy") or {}
    if policy.get("status") != 200 or policy.get("text") is None:
        return None
    return str(policy["text"])


def policy_mode(facts: Facts) -> str | None:
    policy = facts.get("policy") or {}
    parsed = policy.get("parsed") or {}
    return parsed.get("mode") if policy.get("status") == 200 else None


def mx_names(facts: Facts) -> set[str] | None:
    """The MX host names, or None when the MX look-up did not get an answer."""
    if "mx.records.lookup_failed" in codes_of(facts):
        return None
    return {str(host["name"]) for host in facts.get("mx") or []}


def certificates(facts: Facts) -> dict[str, dict[str, Any]]:
    """Every certificate seen, keyed by where: the policy host and ``<mx host> <ip>``."""
    found: dict[str, dict[str, Any]] = {}
    policy = facts.get("policy") or {}
    if policy.get("certificate"):
        found[str(policy.get("host") or "policy host")] = policy["certificate"]
    for host in facts.get("mx") or []:
        for address in host.get("addresses") or []:
            if address.get("certificate"):
                found[f"{host['name']} {address.get('ip', '')}".strip()] = address["certificate"]
    return found


def body_hash(text: str) -> str:
    # Line endings do not change what senders parse, so CRLF <-> LF is not a change.
    normalized = "\n".join(line.rstrip("\r") for line in text.splitlines())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


# -- the rules --------------------------------------------------------------------------


def _policy_drift(domain: str, current: Facts, state: dict[str, Any]) -> list[Finding]:
    """``sts.id.stale`` (persisting) and ``drift.policy.changed`` (once)."""
    subject = f"_mta-sts.{domain}"
    current_id, text = record_id(current), policy_text(current)
    if current_id is None or text is None:
        # Cannot judge this run; a stale policy stays stale rather than flapping resolved.
        return [_stale(subject, state["sts_id"])] if state.get("stale") else []
    digest = body_hash(text)
    known_id, baseline = state.get("sts_id"), state.get("policy_sha")
    findings: list[Finding] = []
    if known_id is None or baseline is None:
        state.update(sts_id=current_id, policy_sha=digest, stale=False)
    elif current_id != known_id:
        if digest != baseline:
            value = f"id {known_id} -> {current_id}"
            findings.append(make("drift.policy.changed", subject, value))
        state.update(sts_id=current_id, policy_sha=digest, stale=False)
    else:
        state["stale"] = digest != baseline
        if state["stale"]:
            findings.append(_stale(subject, current_id))
    return findings


def _stale(subject: str, record_id_value: str) -> Finding:
    return make("sts.id.stale", subject, record_id_value)


def _removed_records(
    domain: str, previous: Facts | None, current: Facts, state: dict[str, Any]
) -> list[Finding]:
    """``drift.record.removed`` while a record that was published is gone."""
    removed = set(state.get("removed", []))
    names = {"record": f"_mta-sts.{domain}", "tlsrpt": f"_smtp._tls.{domain}"}
    findings = []
    for part, missing_code in _RECORD_PARTS:
        name = names[part]
        if current.get(part):
            removed.discard(name)
            continue
        if missing_code not in codes_of(current):
            continue  # not looked up, or the look-up failed: unknown, keep what we had
        was_there = previous is not None and bool(previous.get(part))
        # Taking MTA-STS down the documented way (mode none, then remove) is not drift.
        withdrawn = part == "record" and state.get("last_mode") == "none"
        if (was_there or name in removed) and not withdrawn:
            removed.add(name)
            findings.append(make("drift.record.removed", name, "the TXT record is gone"))
        else:
            removed.discard(name)
    state["removed"] = sorted(removed)
    return findings


def _mx_drift(domain: str, previous: Facts, current: Facts) -> list[Finding]:
    before, after = mx_names(previous), mx_names(current)
    if not before or not after or before == after:
        # An empty or unknown side is a missing-MX or lookup problem, reported as such.
        return []
    return [make("drift.mx.changed", domain, mx_change_text(before, after))]


def mx_change_text(before: set[str], after: set[str]) -> str:
    parts = []
    if added := sorted(after - before):
        parts.append("added " + ", ".join(added))
    if gone := sorted(before - after):
        parts.append("removed " + ", ".join(gone))
    return "; ".join(parts)


def _findings_of(facts: Facts | None) -> list[Mapping[str, Any]]:
    return list((facts or {}).get("findings", []))


# -- what changed, for the history page ------------------------------------------------


def changes(previous: Facts | None, current: Facts) -> dict[str, Any]:
    """What differs between two runs, part by part; an empty dict when nothing did.

    Keys present only when that part changed: ``status``, ``record`` and ``tlsrpt``
    (before/after raw TXT), ``policy`` (a unified diff of the body), ``mx`` (added/removed),
    ``certificates`` (where, before/after fingerprint and expiry).
    """
    if previous is None:
        return {}
    out: dict[str, Any] = {}
    if previous.get("status") != current.get("status"):
        out["status"] = {"before": previous.get("status"), "after": current.get("status")}
    for part in ("record", "tlsrpt"):
        before, after = _raw(previous.get(part)), _raw(current.get(part))
        if before != after:
            out[part] = {"before": before, "after": after}
    diff = policy_diff(policy_text(previous), policy_text(current))
    if diff:
        out["policy"] = {"diff": diff}
    before_mx, after_mx = mx_names(previous), mx_names(current)
    if before_mx is not None and after_mx is not None and before_mx != after_mx:
        out["mx"] = {"added": sorted(after_mx - before_mx), "removed": sorted(before_mx - after_mx)}
    certs = certificate_changes(certificates(previous), certificates(current))
    if certs:
        out["certificates"] = certs
    return out


def policy_diff(before: str | None, after: str | None) -> list[str]:
    """A unified diff (difflib) of two policy bodies; [] when equal or both unknown."""
    if before is None and after is None:
        return []
    a, b = (before or "").splitlines(), (after or "").splitlines()
    if a == b:
        return []
    return list(difflib.unified_diff(a, b, "before", "after", lineterm="", n=2))


def certificate_changes(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    rows = []
    for where in sorted(set(before) | set(after)):
        old, new = before.get(where), after.get(where)
        if _fingerprint(old) == _fingerprint(new):
            continue
        rows.append(
            {
                "where": where,
                "before": _cert_summary(old),
                "after": _cert_summary(new),
            }
        )
    return rows


def _fingerprint(cert: Mapping[str, Any] | None) -> str | None:
    return str(cert.get("fingerprint_sha256")) if cert else None


def _cert_summary(cert: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not cert:
        return None
    return {
        "fingerprint": str(cert.get("fingerprint_sha256", ""))[:16],
        "not_after": cert.get("not_after"),
        "issuer": cert.get("issuer"),
    }


def _raw(part: Mapping[str, Any] | None) -> list[str] | None:
    return list(part.get("raw") or []) if part else None


# -- certificate expiry reminders ----------------------------------------------------


def expiry_threshold(days_left: int, thresholds: Sequence[int]) -> int | None:
    """The smallest reminder threshold ``days_left`` has reached (e.g. 10 days -> 14)."""
    reached = [t for t in thresholds if days_left <= t]
    return min(reached) if reached else None


def expiring_certificates(facts: Facts, thresholds: Sequence[int]) -> list[dict[str, Any]]:
    """Certificates within a reminder threshold: where, fingerprint, not_after, days, threshold.

    An expired certificate (days_left < 0) is an error finding already, not a reminder.
    """
    out = []
    for where, cert in certificates(facts).items():
        days = cert.get("days_left")
        if not isinstance(days, int) or days < 0:
            continue
        threshold = expiry_threshold(days, thresholds)
        if threshold is not None:
            out.append(
                {
                    "where": where,
                    "fingerprint": str(cert.get("fingerprint_sha256", "")),
                    "not_after": cert.get("not_after"),
                    "days_left": days,
                    "threshold": threshold,
                }
            )
    return out
