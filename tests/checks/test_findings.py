"""The finding catalogue: every contract code present, texts complete, severities right."""

from __future__ import annotations

import pytest

from monitoring.checks.findings import CATALOGUE, SEVERITIES, Finding, make, worst_status

# CHECKS.md sections 1-7, copied: a code that disappears here breaks scripts out there.
CONTRACT = {
    "sts.record.missing", "sts.record.multiple", "sts.record.invalid",
    "sts.record.lookup_failed",
    "policy.fetch.failed", "policy.fetch.blocked_address", "policy.fetch.tls_invalid",
    "policy.fetch.http_status", "policy.fetch.redirect", "policy.fetch.content_type",
    "policy.fetch.too_large", "policy.cert.expiring",
    "policy.syntax.invalid", "policy.version.invalid", "policy.mode.invalid",
    "policy.max_age.invalid", "policy.max_age.low", "policy.mx.missing", "policy.mx.invalid",
    "policy.mode.testing", "policy.mode.none",
    "mx.records.missing", "mx.not_covered", "policy.mx.unused",
    "mx.connect.failed", "mx.starttls.unsupported", "mx.tls.weak_protocol", "mx.cert.expired",
    "mx.cert.untrusted", "mx.cert.name_mismatch", "mx.cert.expiring",
    "tlsrpt.record.missing", "tlsrpt.record.multiple", "tlsrpt.record.invalid",
    "sts.id.stale", "drift.mx.changed", "drift.policy.changed", "drift.record.removed",
}  # fmt: skip
ADDED = {
    "mx.connect.blocked_address", "mx.records.lookup_failed", "mx.records.null",
    "tlsrpt.record.lookup_failed",
}  # fmt: skip
BY_MODE = {
    "mx.not_covered", "mx.starttls.unsupported", "mx.cert.expired", "mx.cert.untrusted",
    "mx.cert.name_mismatch",
}  # fmt: skip


def test_catalogue_is_the_contract_plus_additions() -> None:
    assert set(CATALOGUE) == CONTRACT | ADDED


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_entry_is_complete(code: str) -> None:
    spec = CATALOGUE[code]
    assert spec.code == code
    assert spec.severity in SEVERITIES
    assert spec.title and spec.why.endswith(".") and spec.hint
    finding = make(code, "subject.example.com", "VALUE-SEEN")
    assert "VALUE-SEEN" in finding.message, "every message shows the value seen"
    assert "{" not in finding.message + finding.hint, "no unfilled placeholder"


@pytest.mark.parametrize(
    ("code", "mode", "severity"),
    [(code, mode, "error" if mode == "enforce" else "warning")
     for code in sorted(BY_MODE) for mode in ("enforce", "testing", "none", None)],
)  # fmt: skip
def test_mode_dependent_severity(code: str, mode: str | None, severity: str) -> None:
    assert make(code, "mx1.example.com", "x", mode=mode).severity == severity


@pytest.mark.parametrize(
    ("code", "severity"),
    [("mx.connect.failed", "error"), ("mx.tls.weak_protocol", "warning"),
     ("mx.cert.expiring", "warning"), ("policy.mode.testing", "info"),
     ("policy.mode.none", "warning"), ("tlsrpt.record.missing", "warning")],
)  # fmt: skip
def test_mode_does_not_change_fixed_severities(code: str, severity: str) -> None:
    assert make(code, "s", "x", mode="enforce").severity == severity
    assert make(code, "s", "x", mode="testing").severity == severity


def test_severity_override_and_bad_severity() -> None:
    assert make("sts.record.missing", "s", "x", severity="error").severity == "error"
    with pytest.raises(ValueError):
        make("sts.record.missing", "s", "x", severity="fatal")


def test_hint_names_the_subject() -> None:
    finding = make("mx.not_covered", "mx2.example.com", "patterns: mx1.example.com")
    assert "mx: mx2.example.com" in finding.hint


@pytest.mark.parametrize(
    ("severities", "status"),
    [((), "ok"), (("info",), "ok"), (("info", "warning"), "warning"),
     (("warning", "error", "info"), "error")],
)  # fmt: skip
def test_worst_status(severities: tuple[str, ...], status: str) -> None:
    findings = [Finding("c", s, "subj", "m", "h") for s in severities]
    assert worst_status(findings) == status


def test_finding_round_trip() -> None:
    finding = make("policy.mx.unused", "https://x/", "'old.example.com'")
    assert Finding.from_dict(finding.to_dict()) == finding
