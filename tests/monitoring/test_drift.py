"""Drift between two runs, from hand-built DomainReport dicts (no database, no network)."""

from __future__ import annotations

import copy
from typing import Any

from monitoring import drift
from monitoring.checks.report import DomainReport

POLICY = "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 604800\n"


def report(
    *,
    record_id: str | None = "20240101",
    policy: str | None = POLICY,
    mx: tuple[str, ...] = ("mx1.example.com",),
    tlsrpt: bool = True,
    findings: list[dict[str, str]] | None = None,
    mode: str = "enforce",
    fingerprint: str = "aa" * 32,
    days_left: int = 300,
) -> dict[str, Any]:
    """A DomainReport.to_dict() for example.com with the given parts."""
    codes = list(findings or [])
    if record_id is None:
        codes.append(_f("sts.record.missing", "_mta-sts.example.com"))
    if not tlsrpt:
        codes.append(_f("tlsrpt.record.missing", "_smtp._tls.example.com"))
    cert = {"fingerprint_sha256": fingerprint, "not_after": "2030-01-01", "days_left": days_left}
    data = {
        "domain": "example.com",
        "status": "ok",
        "checked_at": "2025-01-01T00:00:00+00:00",
        "duration_ms": 10,
        "record": None
        if record_id is None
        else {"raw": [f"v=STSv1; id={record_id}"], "valid": True, "id": record_id},
        "policy": {
            "host": "mta-sts.example.com",
            "status": 200 if policy is not None else None,
            "text": policy,
            "parsed": {"mode": mode} if policy is not None else None,
            "certificate": cert,
        },
        "mx": [
            {"name": name, "addresses": [{"ip": "192.0.2.1", "certificate": cert}]} for name in mx
        ],
        "tlsrpt": {"raw": ["v=TLSRPTv1; rua=mailto:t@example.com"]} if tlsrpt else None,
        "findings": codes,
    }
    # The dicts must be what the engine's real report class accepts.
    DomainReport.from_dict(data)
    return data


def _f(code: str, subject: str, severity: str = "error") -> dict[str, str]:
    return {"code": code, "severity": severity, "subject": subject, "message": "", "hint": ""}


def run_chain(*reports: dict[str, Any]) -> list[drift.Drift]:
    """Compare each report with the one before, carrying state like the runner does."""
    out: list[drift.Drift] = []
    previous, state, previous_findings = None, None, None
    for current in reports:
        result = drift.compare(previous, current, state, previous_findings)
        out.append(result)
        previous, state = current, result.state
        previous_findings = [*current["findings"], *(f.to_dict() for f in result.findings)]
    return out


def test_first_run_has_no_drift():
    (first,) = run_chain(report())
    assert first.findings == []
    assert first.state["sts_id"] == "20240101"


def test_policy_changed_without_new_id_is_stale_until_fixed():
    changed = POLICY.replace("604800", "86400")
    runs = run_chain(
        report(),
        report(policy=changed),
        report(policy=changed),
        report(policy=changed, record_id="20250202"),
    )
    assert runs[1].codes() == {"sts.id.stale"}
    assert runs[1].findings[0].severity == "error"
    assert "20240101" in runs[1].findings[0].message
    # Still stale on the next run: senders still hold the old policy.
    assert runs[2].codes() == {"sts.id.stale"}
    assert ("sts.id.stale", "_mta-sts.example.com") in runs[2].still_open
    # A new id fixes it; the body changed with it, which is a (benign) policy change.
    assert runs[3].codes() == {"drift.policy.changed"}
    assert ("sts.id.stale", "_mta-sts.example.com") in runs[3].resolved


def test_restoring_the_old_body_clears_stale():
    changed = POLICY.replace("enforce", "testing")
    runs = run_chain(report(), report(policy=changed), report())
    assert runs[1].codes() == {"sts.id.stale"}
    assert runs[2].codes() == set()
    assert runs[2].resolved == [("sts.id.stale", "_mta-sts.example.com")]


def test_line_endings_alone_are_not_a_policy_change():
    runs = run_chain(report(), report(policy=POLICY.replace("\n", "\r\n")))
    assert runs[1].findings == []


def test_policy_and_id_changed_together_is_info():
    runs = run_chain(report(), report(policy=POLICY.replace("604800", "1209600"), record_id="2"))
    assert runs[1].codes() == {"drift.policy.changed"}
    assert runs[1].findings[0].severity == "info"
    assert "20240101 -> 2" in runs[1].findings[0].message


def test_new_id_with_same_policy_is_no_drift():
    runs = run_chain(report(), report(record_id="20240102"))
    assert runs[1].findings == []


def test_unknown_policy_keeps_stale_open_instead_of_flapping():
    changed = POLICY.replace("enforce", "testing")
    fetch_failed = [_f("policy.fetch.failed", "https://mta-sts.example.com/")]
    runs = run_chain(report(), report(policy=changed), report(policy=None, findings=fetch_failed))
    assert "sts.id.stale" in runs[2].codes()


def test_mx_change_names_hosts_that_came_and_went():
    runs = run_chain(
        report(mx=("mx1.example.com", "mx2.example.com")),
        report(mx=("mx1.example.com", "mx3.example.com")),
    )
    assert runs[1].codes() == {"drift.mx.changed"}
    message = runs[1].findings[0].message
    assert "added mx3.example.com" in message
    assert "removed mx2.example.com" in message
    assert runs[1].findings[0].severity == "warning"


def test_mx_lookup_failure_is_not_an_mx_change():
    failed = [_f("mx.records.lookup_failed", "example.com", "warning")]
    runs = run_chain(report(), report(mx=(), findings=failed))
    assert "drift.mx.changed" not in runs[1].codes()


def test_removed_record_is_an_error_until_it_returns():
    runs = run_chain(report(), report(record_id=None), report(record_id=None), report())
    assert runs[1].codes() == {"drift.record.removed"}
    assert runs[1].findings[0].subject == "_mta-sts.example.com"
    assert runs[2].codes() == {"drift.record.removed"}
    assert runs[3].codes() == set()


def test_removed_tlsrpt_record_is_reported():
    runs = run_chain(report(), report(tlsrpt=False))
    assert runs[1].codes() == {"drift.record.removed"}
    assert runs[1].findings[0].subject == "_smtp._tls.example.com"


def test_withdrawing_mta_sts_through_mode_none_is_not_drift():
    none = POLICY.replace("enforce", "none")
    runs = run_chain(
        report(),
        report(policy=none, record_id="2", mode="none"),
        report(record_id=None, policy=None),
    )
    assert "drift.record.removed" not in runs[2].codes()


def test_lookup_failure_is_not_a_removal():
    failed = [_f("sts.record.lookup_failed", "_mta-sts.example.com", "warning")]
    broken = report()
    broken["record"] = None
    broken["findings"] = failed
    runs = run_chain(report(), broken)
    assert "drift.record.removed" not in runs[1].codes()


def test_new_still_open_and_resolved_findings():
    a = _f("mx.cert.expiring", "mx1.example.com", "warning")
    b = _f("tlsrpt.record.invalid", "_smtp._tls.example.com")
    c = _f("policy.max_age.low", "https://mta-sts.example.com/", "warning")
    runs = run_chain(report(findings=[a, b]), report(findings=[b, c]))
    assert runs[1].new == [("policy.max_age.low", "https://mta-sts.example.com/")]
    assert runs[1].still_open == [("tlsrpt.record.invalid", "_smtp._tls.example.com")]
    assert runs[1].resolved == [("mx.cert.expiring", "mx1.example.com")]


def test_changes_for_the_history_page():
    before = report()
    after = copy.deepcopy(report(record_id="2", mx=("mx2.example.com",), fingerprint="bb" * 32))
    after["policy"]["text"] = POLICY.replace("mx1", "mx2")
    after["status"] = "warning"
    changes = drift.changes(before, after)
    assert changes["status"] == {"before": "ok", "after": "warning"}
    assert changes["record"]["after"] == ["v=STSv1; id=2"]
    assert "-mx: mx1.example.com" in changes["policy"]["diff"]
    assert "+mx: mx2.example.com" in changes["policy"]["diff"]
    assert changes["mx"] == {"added": ["mx2.example.com"], "removed": ["mx1.example.com"]}
    wheres = {row["where"] for row in changes["certificates"]}
    assert "mta-sts.example.com" in wheres
    assert drift.changes(before, copy.deepcopy(before)) == {}
    assert drift.changes(None, before) == {}


def test_expiry_thresholds():
    thresholds = [30, 14, 7, 3, 1]
    assert drift.expiry_threshold(31, thresholds) is None
    assert drift.expiry_threshold(30, thresholds) == 30
    assert drift.expiry_threshold(10, thresholds) == 14
    assert drift.expiry_threshold(1, thresholds) == 1
    assert drift.expiry_threshold(0, thresholds) == 1
    soon = drift.expiring_certificates(report(days_left=6), thresholds)
    assert {c["threshold"] for c in soon} == {7}
    assert {c["where"] for c in soon} == {"mta-sts.example.com", "mx1.example.com 192.0.2.1"}
    assert drift.expiring_certificates(report(days_left=-1), thresholds) == []


def test_state_round_trips_through_json():
    import json

    runs = run_chain(report(), report(policy=POLICY.replace("enforce", "testing")))
    stored = json.loads(json.dumps(runs[1].to_dict()))
    again = drift.compare(
        report(), report(policy=POLICY.replace("enforce", "testing")), stored["state"]
    )
    assert again.codes() == {"sts.id.stale"}
