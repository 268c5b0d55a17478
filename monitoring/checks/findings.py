"""The finding catalogue: every code the checker can report, with its texts.

Codes are a public contract (CHECKS.md): add freely, never rename. Each entry carries a
default severity, a title, why it matters, and message/hint templates. Templates use
``{subject}`` (what the finding is about) and ``{value}`` (what was observed); callers
may pass more names as keyword arguments to ``make``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)
_RANK = {ERROR: 2, WARNING: 1, INFO: 0}


@dataclass(frozen=True)
class Spec:
    """One catalogue entry. ``by_mode``: error under enforce, warning otherwise."""

    code: str
    severity: str
    title: str
    why: str
    message: str
    hint: str
    by_mode: bool = False


@dataclass(frozen=True)
class Finding:
    """One observation about a domain, as shown to users and stored with a run."""

    code: str
    severity: str
    subject: str
    message: str
    hint: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            code=str(data["code"]),
            severity=str(data["severity"]),
            subject=str(data.get("subject", "")),
            message=str(data.get("message", "")),
            hint=str(data.get("hint", "")),
        )


_SPECS = [
    # 1. The _mta-sts TXT record
    Spec(
        "sts.record.missing", INFO, "No MTA-STS record",
        "Senders look for a policy only after they find the _mta-sts TXT record; without it "
        "MTA-STS is off and mail may be delivered without TLS.",
        "No v=STSv1 TXT record at {subject}: {value}",
        'Publish one TXT record at {subject}: "v=STSv1; id=20250101T000000" (the id is 1-32 '
        "letters or digits; change it every time the policy changes).",
    ),
    Spec(
        "sts.record.multiple", ERROR, "Several MTA-STS records",
        "With more than one v=STSv1 record senders must treat the domain as having no policy.",
        "More than one v=STSv1 record at {subject}: {value}",
        "Delete all but one v=STSv1 TXT record at {subject}.",
    ),
    Spec(
        "sts.record.invalid", ERROR, "MTA-STS record invalid",
        "Senders ignore a record they cannot parse, so the policy is never fetched.",
        "The record at {subject} is not valid: {value}",
        'Rewrite the record as "v=STSv1; id=<1-32 letters or digits>", fields separated by '
        '";", exact case, e.g. "v=STSv1; id=20250101T000000".',
    ),
    Spec(
        "sts.record.lookup_failed", WARNING, "MTA-STS record lookup failed",
        "Senders that cannot look up the record fall back to their cached policy or none.",
        "Could not look up {subject}: {value}",
        "Make every authoritative name server of the domain answer TXT queries for {subject} "
        "quickly (no timeouts, no SERVFAIL); if the zone is signed, check its DNSSEC signatures.",
    ),
    # 2. Fetching the policy
    Spec(
        "policy.fetch.failed", ERROR, "Policy could not be fetched",
        "Senders that cannot fetch the policy cannot apply it.",
        "Could not fetch the policy from {subject}: {value}",
        "Serve the policy at {subject}: give the mta-sts host an A/AAAA record and answer "
        "HTTPS on port 443 within a few seconds.",
    ),
    Spec(
        "policy.fetch.blocked_address", ERROR, "Policy host has a forbidden address",
        "Senders on the internet cannot reach private, loopback or link-local addresses.",
        "The policy host resolves to an address that is not public: {value}",
        "Point the A/AAAA records of the host in {subject} at public addresses only.",
    ),
    Spec(
        "policy.fetch.tls_invalid", ERROR, "Policy host certificate invalid",
        "Senders only accept a policy fetched over HTTPS with a valid certificate.",
        "The certificate served for {subject} is not valid: {value}",
        "Install a certificate from a public CA whose subjectAltName includes the mta-sts "
        "host name, serve the full chain (leaf and intermediates), and renew it in time.",
    ),
    Spec(
        "policy.fetch.http_status", ERROR, "Policy URL does not answer 200",
        "Only a 200 response is a policy; anything else means no policy for senders.",
        "{subject} answered HTTP {value}",
        "Make the web server answer 200 with the policy text at exactly {subject} "
        "(no authentication, no rewrite to another path).",
    ),
    Spec(
        "policy.fetch.redirect", ERROR, "Policy URL redirects",
        "Senders never follow redirects, so a redirected policy is no policy.",
        "{subject} redirects: {value}",
        "Serve the policy directly with status 200 at {subject}; remove the redirect "
        "(including HTTP-to-HTTPS or www redirects for this path).",
    ),
    Spec(
        "policy.fetch.content_type", ERROR, "Policy served with the wrong media type",
        "Senders may refuse a policy not served as text/plain.",
        "The policy is served with Content-Type {value}",
        'Serve the file with "Content-Type: text/plain" (a "; charset=utf-8" parameter is fine).',
    ),
    Spec(
        "policy.fetch.too_large", ERROR, "Policy too large",
        "Senders refuse policy bodies over 64 KiB.",
        "The policy body is {value}, over the 64 KiB limit",
        "Serve only the policy: version, mode, max_age and mx lines, well under 64 KiB.",
    ),
    Spec(
        "policy.cert.expiring", WARNING, "Policy host certificate expires soon",
        "Once it expires senders can no longer fetch the policy.",
        "The certificate for {subject} expires {value}",
        "Renew the certificate of the mta-sts host now and check the renewal job runs and "
        "reloads the web server.",
    ),
    # 3. The policy body
    Spec(
        "policy.syntax.invalid", ERROR, "Policy text malformed",
        "Senders that cannot parse the policy ignore it.",
        "The policy text is not valid: {value}",
        'Write one "key: value" per line with no space before the colon or at the start of '
        "a line, no byte order mark or control characters, lines ending in LF or CRLF.",
    ),
    Spec(
        "policy.version.invalid", ERROR, "Policy version wrong",
        'A policy without "version: STSv1" is not an MTA-STS policy.',
        "The policy version is {value}",
        'Make the first line exactly "version: STSv1".',
    ),
    Spec(
        "policy.mode.invalid", ERROR, "Policy mode wrong",
        "Without a valid mode senders cannot apply the policy.",
        "The policy mode is {value}",
        'Add "mode: testing" while you watch the reports, then "mode: enforce" (lower case).',
    ),
    Spec(
        "policy.max_age.invalid", ERROR, "Policy max_age wrong",
        "Without a valid max_age senders cannot cache the policy.",
        "The policy max_age is {value}",
        'Set max_age to whole seconds, at most 31557600, e.g. "max_age: 604800" (a week).',
    ),
    Spec(
        "policy.max_age.low", WARNING, "Policy max_age short",
        "Senders forget a short-lived policy quickly, leaving a window for downgrade attacks.",
        "The policy max_age is {value}, under a day",
        'Raise max_age to at least 86400; "max_age: 604800" (a week) or more once stable.',
    ),
    Spec(
        "policy.mx.missing", ERROR, "Policy lists no MX host",
        "Under testing or enforce, a policy without mx lines matches no MX host at all.",
        'The policy has no "mx:" line (mode {value})',
        'Add one "mx: <host>" line per MX host, e.g. "mx: mail.example.com", or a wildcard '
        'such as "mx: *.example.com".',
    ),
    Spec(
        "policy.mx.invalid", ERROR, "Policy mx pattern invalid",
        "An invalid pattern matches nothing, so the MX host it was meant for is refused.",
        "The policy mx pattern {value} is not a host name or a one-label wildcard",
        'Write each mx as a host name in A-labels (e.g. "mx: mail.example.com"), optionally '
        'starting with "*." for one whole left-most label; no IPs, ports or URLs.',
    ),
    Spec(
        "policy.mode.testing", INFO, "Policy in testing mode",
        "Under testing senders report TLS failures but still deliver without TLS.",
        "The policy mode is {value}: failures are reported, nothing is enforced yet",
        'When TLSRPT reports show no failures for a few weeks, set "mode: enforce" and '
        "change the record id.",
    ),
    Spec(
        "policy.mode.none", WARNING, "Policy switched off",
        "Under mode none senders drop any cached policy: MTA-STS no longer protects mail.",
        "The policy mode is {value}: MTA-STS is switched off",
        'To protect mail again set "mode: testing" or "mode: enforce" and change the record '
        "id; to withdraw, keep this policy until cached policies expire, then remove it.",
    ),
    # 4. MX coverage
    Spec(
        "mx.records.missing", ERROR, "No MX records",
        "Without MX records mail goes to the domain's address record, which the policy "
        "cannot cover.",
        "{subject} has no MX records: {value}",
        "Publish MX records for {subject} naming the hosts that receive its mail.",
    ),
    Spec(
        "mx.records.lookup_failed", WARNING, "MX lookup failed",
        "The MX hosts could not be checked because the MX lookup did not answer.",
        "Could not look up the MX records of {subject}: {value}",
        "Make every authoritative name server of {subject} answer MX queries quickly "
        "(no timeouts, no SERVFAIL).",
    ),
    Spec(
        "mx.records.null", INFO, "Null MX: the domain receives no mail",
        "A null MX (RFC 7505) says the domain accepts no mail, so MTA-STS has nothing to protect.",
        "{subject} publishes a null MX ({value}): it does not receive mail",
        "Nothing to do if the domain sends no mail in; otherwise replace the null MX with "
        "real MX records.",
    ),
    Spec(
        "mx.not_covered", ERROR, "MX host not covered by the policy",
        "Senders that enforce the policy refuse to deliver to an MX host it does not list.",
        "MX host {subject} matches no mx pattern in the policy ({value})",
        'Add "mx: {subject}" (or a wildcard for its parent domain) to the policy, then '
        "change the record id.",
        by_mode=True,
    ),
    Spec(
        "policy.mx.unused", WARNING, "Policy mx pattern unused",
        "A stale pattern may authorise a host you no longer control.",
        "Unused policy mx pattern: {value}",
        "Remove the stale mx line (or restore the MX record it was for), then change the "
        "record id.",
    ),
    # 5. Each MX host's TLS
    Spec(
        "mx.connect.failed", ERROR, "MX host unreachable",
        "Senders cannot deliver to an MX host they cannot reach on port 25.",
        "Cannot reach the SMTP server {subject}: {value}",
        "Make {subject} accept connections on port 25 from the internet and greet with a "
        "220 banner within a few seconds.",
    ),
    Spec(
        "mx.connect.blocked_address", ERROR, "MX host has a forbidden address",
        "Senders on the internet cannot deliver to private, loopback or link-local addresses.",
        "MX host {subject} resolves to an address that is not public: {value}",
        "Point the A/AAAA records of {subject} at public addresses only.",
    ),
    Spec(
        "mx.starttls.unsupported", ERROR, "No working STARTTLS",
        "Under MTA-STS senders refuse to deliver to an MX host without STARTTLS.",
        "{subject} does not offer working STARTTLS: {value}",
        "Enable STARTTLS with a certificate on {subject} (Postfix: smtpd_tls_security_level "
        "= may, smtpd_tls_chain_files) and test with "
        "openssl s_client -starttls smtp -connect {subject}:25.",
        by_mode=True,
    ),
    Spec(
        "mx.tls.weak_protocol", WARNING, "Old TLS version",
        "TLS 1.0 and 1.1 are deprecated (RFC 8996); many senders refuse them.",
        "{subject} negotiated {value}",
        "Enable TLS 1.2 and 1.3 on {subject} (Postfix: smtpd_tls_protocols = >=TLSv1.2) and "
        "update its TLS library.",
    ),
    Spec(
        "mx.cert.expired", ERROR, "MX certificate outside its dates",
        "Senders enforcing MTA-STS refuse an expired or not yet valid certificate.",
        "The certificate of {subject} is not valid now: {value}",
        "Renew the certificate of {subject} and reload the mail server so it serves it.",
        by_mode=True,
    ),
    Spec(
        "mx.cert.untrusted", ERROR, "MX certificate not trusted",
        "Senders enforcing MTA-STS refuse a certificate that does not chain to a public root.",
        "The certificate of {subject} does not chain to a trusted root: {value}",
        "Use a certificate from a public CA on {subject} and serve the intermediate "
        "certificates with it (the full chain file, not the leaf alone).",
        by_mode=True,
    ),
    Spec(
        "mx.cert.name_mismatch", ERROR, "MX certificate for another name",
        "Senders enforcing MTA-STS check the certificate names the MX host they connect to.",
        "The certificate of {subject} does not name it: {value}",
        "Get a certificate whose subjectAltName includes {subject} (or a one-label wildcard "
        "for its parent), or point the MX record at a name the certificate covers.",
        by_mode=True,
    ),
    Spec(
        "mx.cert.expiring", WARNING, "MX certificate expires soon",
        "Once it expires senders enforcing MTA-STS stop delivering to this host.",
        "The certificate of {subject} expires {value}",
        "Renew the certificate of {subject} now and check the renewal reloads the mail server.",
    ),
    # 6. The _smtp._tls TXT record
    Spec(
        "tlsrpt.record.missing", WARNING, "No TLSRPT record",
        "Without TLSRPT senders have nowhere to report TLS failures, so they go unseen.",
        "No v=TLSRPTv1 TXT record at {subject}: {value}",
        'Publish a TXT record at {subject}: "v=TLSRPTv1; rua=mailto:tls-reports@<your domain>".',
    ),
    Spec(
        "tlsrpt.record.multiple", ERROR, "Several TLSRPT records",
        "With more than one v=TLSRPTv1 record senders send no reports.",
        "More than one v=TLSRPTv1 record at {subject}: {value}",
        "Delete all but one v=TLSRPTv1 TXT record at {subject}; list several addresses in "
        "one rua, separated by commas.",
    ),
    Spec(
        "tlsrpt.record.invalid", ERROR, "TLSRPT record invalid",
        "Senders ignore a TLSRPT record they cannot parse and send no reports.",
        "The record at {subject} is not valid: {value}",
        'Write it as "v=TLSRPTv1; rua=mailto:tls-reports@<your domain>" (mailto: or https: '
        'URIs, commas between them, exact case "v=TLSRPTv1").',
    ),
    Spec(
        "tlsrpt.record.lookup_failed", WARNING, "TLSRPT record lookup failed",
        "Senders that cannot look up the record send no reports.",
        "Could not look up {subject}: {value}",
        "Make every authoritative name server of the domain answer TXT queries for {subject} "
        "quickly (no timeouts, no SERVFAIL).",
    ),
    # 7. Between runs (drift)
    Spec(
        "sts.id.stale", ERROR, "Policy changed without a new id",
        "Senders refetch the policy only when the record id changes, so they keep the old one.",
        "The policy changed but the record id is still {value}",
        "Change the id in the _mta-sts TXT record every time the policy changes, e.g. "
        "id=<today's date and time>.",
    ),
    Spec(
        "drift.mx.changed", WARNING, "MX hosts changed",
        "A new MX host must be covered by the policy and have a valid certificate.",
        "The MX hosts of {subject} changed: {value}",
        "If intended, check every new host is covered by the policy and serves a valid "
        "certificate; otherwise restore the MX records.",
    ),
    Spec(
        "drift.policy.changed", INFO, "Policy changed",
        "Senders pick up the new policy because the record id changed too.",
        "The policy changed together with the record id: {value}",
        "Nothing to do if the change was intended.",
    ),
    Spec(
        "drift.record.removed", ERROR, "Record removed",
        "Senders that cached an enforce policy keep enforcing it without a way to update it.",
        "{subject} was removed: {value}",
        'Restore the record. To withdraw MTA-STS, publish "mode: none" with a new id, wait '
        "for max_age, then remove the records.",
    ),
]  # fmt: skip

CATALOGUE: dict[str, Spec] = {spec.code: spec for spec in _SPECS}


class _Template(dict[str, Any]):
    """Leaves unknown placeholders visible instead of raising: a text bug never crashes a run."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def severity_for(code: str, mode: str | None) -> str:
    """The default severity, made mode-dependent for what only breaks mail under enforce."""
    spec = CATALOGUE[code]
    if spec.by_mode:
        return ERROR if mode == "enforce" else WARNING
    return spec.severity


def make(
    code: str,
    subject: str,
    value: object = "",
    mode: str | None = None,
    severity: str | None = None,
    **context: object,
) -> Finding:
    """Build a finding from the catalogue.

    ``mode`` is the policy mode (for mode-dependent codes); ``severity`` overrides the
    catalogue when the contract gives a code two severities (e.g. sts.record.missing).
    """
    spec = CATALOGUE[code]
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    names = _Template(subject=subject, value=value, **context)
    return Finding(
        code=code,
        severity=severity or severity_for(code, mode),
        subject=subject,
        message=spec.message.format_map(names),
        hint=spec.hint.format_map(names),
    )


def worst_status(findings: Iterable[Finding]) -> str:
    """``ok``, ``warning`` or ``error``: the worst finding decides; info does not count."""
    rank = max((_RANK.get(f.severity, 0) for f in findings), default=0)
    return {2: "error", 1: "warning"}.get(rank, "ok")
