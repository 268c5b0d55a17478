"""``DomainReport``: the result of checking one domain, and its JSON form.

The JSON form (``to_dict``) is the contract of the CLI's ``--json`` output and what the
monitoring layer stores; ``from_dict`` rebuilds a report from it so runs can be compared.

Shape::

    {"domain": "example.com", "status": "ok|warning|error",
     "checked_at": "2025-01-01T00:00:00+00:00", "duration_ms": 1234,
     "record": null | {"name", "raw": [...], "fields": {...}, "valid", "id"},
     "policy": {"url", "host", "addresses", "address", "status", "headers", "text",
                "parsed": null | {"version", "mode", "max_age", "mx", "extensions"},
                "certificate": null | CERT, "error"},
     "mx": [{"name", "preference", "covered", "matched_pattern", "error",
             "addresses": [{"ip", "starttls", "tls_version", "cipher", "banner",
                            "certificate": null | CERT, "error"}]}],
     "tlsrpt": null | {"name", "raw": [...], "fields": {...}, "valid", "rua": [...]},
     "findings": [{"code", "severity", "subject", "message", "hint"}]}

    CERT = {"subject", "issuer", "sans", "not_before", "not_after", "days_left",
            "key_type", "fingerprint_sha256", "serial", "chain_length", "name_matches",
            "trusted"}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitoring.checks.findings import Finding


@dataclass
class DomainReport:
    """Everything one check of one domain found."""

    domain: str
    status: str
    checked_at: dt.datetime
    duration_ms: int
    record: dict[str, Any] | None = None
    policy: dict[str, Any] | None = None
    mx: list[dict[str, Any]] = field(default_factory=list)
    tlsrpt: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)

    def codes(self) -> set[str]:
        """The finding codes, for quick assertions and alert matching."""
        return {f.code for f in self.findings}

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (datetimes as ISO 8601 strings in UTC)."""
        return {
            "domain": self.domain,
            "status": self.status,
            "checked_at": self.checked_at.isoformat(),
            "duration_ms": self.duration_ms,
            "record": self.record,
            "policy": self.policy,
            "mx": self.mx,
            "tlsrpt": self.tlsrpt,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DomainReport:
        """Rebuild a report stored with ``to_dict`` (missing optional keys are tolerated)."""
        checked_at = dt.datetime.fromisoformat(str(data["checked_at"]))
        if checked_at.tzinfo is None:
            checked_at = checked_at.replace(tzinfo=dt.UTC)
        return cls(
            domain=str(data["domain"]),
            status=str(data["status"]),
            checked_at=checked_at,
            duration_ms=int(data.get("duration_ms") or 0),
            record=data.get("record"),
            policy=data.get("policy"),
            mx=list(data.get("mx") or []),
            tlsrpt=data.get("tlsrpt"),
            findings=[Finding.from_dict(f) for f in data.get("findings") or []],
        )
