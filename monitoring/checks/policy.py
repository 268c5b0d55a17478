"""The MTA-STS policy body [RFC 8461 3.2]: parsing and MX pattern matching.

The HTTPS fetch lives in ``fetch.py``; this module is pure text handling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from monitoring.checks.findings import WARNING, Finding, make
from monitoring.checks.names import is_valid_pattern, matches_pattern

__all__ = ["MODES", "Policy", "is_valid_pattern", "matches_pattern", "parse_policy"]

MODES = ("enforce", "testing", "none")
MAX_AGE_LIMIT = 31_557_600
MAX_AGE_LOW = 86_400
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_MAX_AGE = re.compile(r"^[0-9]{1,10}$")
_WSP = " \t"
_BOM = "\ufeff"
_SHOWN = 3  # problems quoted in one message


@dataclass
class Policy:
    """The fields of a policy; repeated keys other than ``mx``: the first wins."""

    version: str | None = None
    mode: str | None = None
    max_age: int | None = None  # None unless valid
    max_age_text: str | None = None
    mx: list[str] = field(default_factory=list)  # every pattern as written
    extensions: dict[str, str] = field(default_factory=dict)

    @property
    def patterns(self) -> list[str]:
        """The valid mx patterns, the only ones that can match a host."""
        return [p for p in self.mx if is_valid_pattern(p)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "mode": self.mode,
            "max_age": self.max_age if self.max_age is not None else self.max_age_text,
            "mx": self.mx,
            "extensions": self.extensions,
        }


@dataclass
class _Lines:
    fields: list[tuple[int, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_policy(body: bytes | str, subject: str) -> tuple[Policy, list[Finding]]:
    """Parse a policy body; findings are about ``subject`` (the policy URL).

    Parsing is strict in what it reports and lenient in what it extracts: a line with a
    stray space is reported as a syntax error, yet its field is still read, so one
    mistake gives one finding rather than a cascade.
    """
    text, lines = _decode(body)
    for number, line in enumerate(_split_lines(text), start=1):
        _read_line(number, line, lines)
    policy = _collect(lines.fields)
    findings = _syntax_findings(lines, subject)
    findings += _field_findings(policy, subject)
    return policy, findings


def _decode(body: bytes | str) -> tuple[str, _Lines]:
    lines = _Lines()
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            lines.errors.append(f"bytes that are not UTF-8 at offset {exc.start}")
            text = body.decode("utf-8", "replace")
    else:
        text = body
    if text.startswith(_BOM):
        lines.errors.append("a byte order mark (BOM) before the first line")
        text = text[1:]
    return text, lines


def _split_lines(text: str) -> list[str]:
    """Lines ending in LF or CRLF; the last line ending is optional."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def _read_line(number: int, line: str, out: _Lines) -> None:
    if not line.strip(_WSP):
        out.warnings.append(f"line {number} is blank (strict parsers reject blank lines)")
        return
    control = next((c for c in line if (ord(c) < 32 and c != "\t") or ord(c) == 127), None)
    if control is not None:
        out.errors.append(f"line {number} contains the control character {control!r}: {line!r}")
    if line[0] in _WSP:
        out.errors.append(f"line {number} starts with white space: {line!r}")
    key, colon, value = line.partition(":")
    if not colon:
        out.errors.append(f"line {number} is not 'key: value': {line!r}")
        return
    if key != key.rstrip(_WSP):
        out.errors.append(f"line {number} has white space before the colon: {line!r}")
    key = key.strip(_WSP)
    value = value.strip(_WSP)
    if not _KEY.match(key):
        out.errors.append(f"line {number} has an invalid key {key!r}")
        return
    if not value:
        out.errors.append(f"line {number} has no value for {key!r}")
        return
    out.fields.append((number, key, value))


def _collect(fields: list[tuple[int, str, str]]) -> Policy:
    policy = Policy()
    seen: dict[str, str] = {}
    for _number, key, value in fields:
        if key == "mx":
            policy.mx.append(value)
        else:
            seen.setdefault(key, value)
    policy.version = seen.pop("version", None)
    policy.mode = seen.pop("mode", None)
    policy.max_age_text = seen.pop("max_age", None)
    if policy.max_age_text is not None and _MAX_AGE.match(policy.max_age_text):
        value = int(policy.max_age_text)
        policy.max_age = value if value <= MAX_AGE_LIMIT else None
    policy.extensions = seen
    return policy


def _summary(problems: list[str]) -> str:
    shown = "; ".join(problems[:_SHOWN])
    more = len(problems) - _SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")


def _syntax_findings(lines: _Lines, subject: str) -> list[Finding]:
    if lines.errors:
        return [make("policy.syntax.invalid", subject, _summary(lines.errors + lines.warnings))]
    if lines.warnings:
        return [make("policy.syntax.invalid", subject, _summary(lines.warnings), severity=WARNING)]
    return []


def _case_hint(policy: Policy, key: str) -> str:
    other = next((k for k in policy.extensions if k.lower() == key), None)
    return f" (found {other!r}; keys are case-sensitive)" if other else ""


def _field_findings(policy: Policy, subject: str) -> list[Finding]:
    findings: list[Finding] = []
    if policy.version is None:
        findings.append(
            make("policy.version.invalid", subject, "missing" + _case_hint(policy, "version"))
        )
    elif policy.version != "STSv1":
        findings.append(make("policy.version.invalid", subject, f"{policy.version!r}, not 'STSv1'"))
    findings += _mode_findings(policy, subject)
    findings += _max_age_findings(policy, subject)
    findings += _mx_findings(policy, subject)
    return findings


def _mode_findings(policy: Policy, subject: str) -> list[Finding]:
    if policy.mode is None:
        return [make("policy.mode.invalid", subject, "missing" + _case_hint(policy, "mode"))]
    if policy.mode not in MODES:
        value = f"{policy.mode!r}, not one of enforce, testing, none (values are case-sensitive)"
        return [make("policy.mode.invalid", subject, value)]
    if policy.mode == "testing":
        return [make("policy.mode.testing", subject, "'testing'")]
    if policy.mode == "none":
        return [make("policy.mode.none", subject, "'none'")]
    return []


def _max_age_findings(policy: Policy, subject: str) -> list[Finding]:
    raw = policy.max_age_text
    if raw is None:
        return [make("policy.max_age.invalid", subject, "missing" + _case_hint(policy, "max_age"))]
    if not _MAX_AGE.match(raw):
        return [make("policy.max_age.invalid", subject, f"{raw!r}, not 1 to 10 digits")]
    if policy.max_age is None:
        return [make("policy.max_age.invalid", subject, f"{raw}, over the 31557600 maximum")]
    if policy.max_age < MAX_AGE_LOW:
        return [make("policy.max_age.low", subject, f"{policy.max_age} seconds")]
    return []


def _mx_findings(policy: Policy, subject: str) -> list[Finding]:
    findings: list[Finding] = []
    invalid = [p for p in policy.mx if not is_valid_pattern(p)]
    if invalid:
        shown = ", ".join(repr(p) for p in invalid)
        findings.append(make("policy.mx.invalid", subject, shown))
    if not policy.mx and policy.mode != "none":
        findings.append(make("policy.mx.missing", subject, repr(policy.mode or "missing")))
    return findings
