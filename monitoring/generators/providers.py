"""Suggest ``mx`` patterns for a domain's MX hosts, and check a pattern list covers them.

Wildcards: a one-label wildcard trusts every host one label under its base that can show
a valid certificate for its own name. That is safe only when the base is a zone kept for
mail routing, where nobody but the provider can get such a certificate. So a provider's
rule uses a wildcard where its MX names live in such a zone and vary per customer or by
number (``*.mail.protection.outlook.com``, ``*.aspmx.l.google.com``), and exact names
where they sit in a general-purpose domain (``smtp.google.com``, ``mx.zoho.com``,
``inbound-smtp.<region>.amazonaws.com``, whose parent also names customers' resources).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitoring.checks.policy import matches_pattern
from monitoring.generators.names import is_wildcard, normalize_host, normalize_pattern, parent_of

__all__ = ["CoverageResult", "Suggestion", "coverage", "suggest_patterns"]

_L = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EXACT = "{host}"
_PARENT = "*.{parent}"


@dataclass(frozen=True)
class Suggestion:
    """One proposed ``mx`` pattern, who runs the hosts it covers, and why it looks so."""

    pattern: str
    provider: str | None
    covers: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class CoverageResult:
    """Which MX hosts no pattern matches, and which patterns match no MX host."""

    matches: dict[str, tuple[str, ...]]  # MX host -> the patterns that match it
    uncovered: tuple[str, ...]
    unused: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """Every MX host is covered, so an enforcing sender can deliver to each."""
        return not self.uncovered


@dataclass(frozen=True)
class _Rule:
    provider: str
    host: re.Pattern[str]
    pattern: str  # _EXACT, _PARENT or a literal pattern


def _rule(provider: str, host_regex: str, pattern: str) -> _Rule:
    return _Rule(provider, re.compile(host_regex), pattern)


_M365 = "Microsoft 365"
_GOOGLE = "Google Workspace"

# First match wins. Sources: each provider's published MX set-up instructions.
RULES: tuple[_Rule, ...] = (
    _rule(_M365, rf"{_L}\.mail\.protection\.outlook\.com", "*.mail.protection.outlook.com"),
    # DNSSEC/DANE endpoints: <tenant>.<letter>-v1.mx.microsoft, the letter varies.
    _rule(_M365, rf"{_L}\.[a-z0-9]-v\d+\.mx\.microsoft", _PARENT),
    _rule(f"{_M365} (GCC High)", rf"{_L}\.mail\.protection\.office365\.us", _PARENT),
    _rule(f"{_M365} (21Vianet)", rf"{_L}\.mail\.protection\.partner\.outlook\.cn", _PARENT),
    _rule("Outlook.com", rf"{_L}\.olc\.protection\.outlook\.com", _PARENT),
    _rule(_GOOGLE, r"aspmx\.l\.google\.com", _EXACT),
    _rule(_GOOGLE, r"alt\d+\.aspmx\.l\.google\.com", "*.aspmx.l.google.com"),
    _rule(_GOOGLE, r"aspmx\d+\.googlemail\.com", _EXACT),
    _rule(_GOOGLE, r"smtp\.google\.com", _EXACT),
    _rule("Gmail", r"gmail-smtp-in\.l\.google\.com", _EXACT),
    _rule("Gmail", r"alt\d+\.gmail-smtp-in\.l\.google\.com", "*.gmail-smtp-in.l.google.com"),
    _rule("Proton Mail", r"mail(?:sec)?\.protonmail\.ch", _EXACT),
    _rule("Fastmail", rf"{_L}\.messagingengine\.com", "*.messagingengine.com"),
    _rule("Zoho Mail", r"mx\d*\.zoho(?:cloud)?\.(?:com|eu|in|jp|sa|ca|com\.au|com\.cn)", _EXACT),
    _rule("Mimecast", rf"{_L}\.mimecast(?:-offshore)?\.(?:com|co\.za)", _EXACT),
    _rule("Proofpoint", rf"{_L}\.pphosted\.com", "*.pphosted.com"),
    _rule("Proofpoint Essentials", rf"{_L}\.ppe-hosted\.com", "*.ppe-hosted.com"),
    _rule("Amazon SES / WorkMail", rf"inbound-smtp\.{_L}\.amazonaws\.com", _EXACT),
    _rule("Yandex 360", r"mx\.yandex\.(?:net|ru)", _EXACT),
    _rule("iCloud Mail", rf"{_L}\.mail\.icloud\.com", "*.mail.icloud.com"),
    _rule("Mailgun", r"mx[ab]\.(?:eu\.)?mailgun\.org", _EXACT),
    _rule("GoDaddy", rf"{_L}\.secureserver\.net", _EXACT),
)


def suggest_patterns(mx_hosts: Sequence[str]) -> list[Suggestion]:
    """Propose the ``mx`` patterns for a set of MX hosts, in the order the hosts came.

    Known providers get the patterns that provider's MX names need; other hosts get their
    exact names, folded into ``*.<parent>`` when two or more share a parent that lies
    below the organisation's own domain (``*.mx.example.com``, never ``*.example.com``).
    Raises ValueError for an empty list, a null MX or an invalid host name.
    """
    hosts = _normalize_hosts(mx_hosts)
    found: dict[str, tuple[str | None, list[str], str]] = {}
    unknown: list[str] = []
    for host in hosts:
        match = _match_rule(host)
        if match is None:
            unknown.append(host)
            continue
        provider, pattern = match
        reason = _provider_reason(provider, pattern)
        found.setdefault(pattern, (provider, [], reason))[1].append(host)
    for pattern, covered, reason in _generic_patterns(unknown):
        found.setdefault(pattern, (None, [], reason))[1].extend(covered)
    order = {host: index for index, host in enumerate(hosts)}
    suggestions = [
        Suggestion(pattern, provider, tuple(covered), reason)
        for pattern, (provider, covered, reason) in found.items()
    ]
    return sorted(suggestions, key=lambda s: order[s.covers[0]])


def coverage(mx_hosts: Iterable[str], patterns: Iterable[str]) -> CoverageResult:
    """Match MX hosts against ``mx`` patterns with the check engine's own matcher."""
    hosts = list(dict.fromkeys(normalize_host(h) for h in mx_hosts))
    pats = list(dict.fromkeys(normalize_pattern(p) for p in patterns))
    matches = {h: tuple(p for p in pats if matches_pattern(h, p)) for h in hosts}
    used = {p for matched in matches.values() for p in matched}
    return CoverageResult(
        matches=matches,
        uncovered=tuple(h for h, matched in matches.items() if not matched),
        unused=tuple(p for p in pats if p not in used),
    )


def _normalize_hosts(mx_hosts: Sequence[str]) -> list[str]:
    if isinstance(mx_hosts, str):
        raise ValueError("mx_hosts must be a list of host names, not a single string.")
    hosts = []
    for raw in mx_hosts:
        if isinstance(raw, str) and raw.strip() == ".":
            raise ValueError(
                "'.' is a null MX [RFC 7505]: the domain accepts no mail and needs no "
                "MTA-STS policy."
            )
        hosts.append(normalize_host(raw))
    if not hosts:
        raise ValueError("Give at least one MX host name.")
    return list(dict.fromkeys(hosts))


def _match_rule(host: str) -> tuple[str, str] | None:
    for rule in RULES:
        if rule.host.fullmatch(host):
            return rule.provider, rule.pattern.format(host=host, parent=parent_of(host))
    return None


def _provider_reason(provider: str, pattern: str) -> str:
    if is_wildcard(pattern):
        return f"{provider} MX hosts are named under {pattern[2:]}, a zone kept for its mail."
    return f"{provider} MX host, named exactly: its parent domain is not kept for mail alone."


def _generic_patterns(hosts: list[str]) -> list[tuple[str, list[str], str]]:
    by_parent: dict[str, list[str]] = {}
    for host in hosts:
        by_parent.setdefault(parent_of(host), []).append(host)
    out = []
    for host in hosts:
        parent = parent_of(host)
        siblings = by_parent[parent]
        if len(siblings) >= 2 and _below_registrable(parent):
            if host == siblings[0]:
                reason = f"{len(siblings)} MX hosts share {parent}, a sub-zone for mail."
                out.append((f"*.{parent}", siblings, reason))
        else:
            out.append((host, [host], "Exact MX host name."))
    return out


def _below_registrable(name: str) -> bool:
    """True when ``name`` is a strict sub-domain of the organisation's own domain.

    Without the Public Suffix List this is a cautious guess that errs towards exact names:
    the organisation's domain is taken to be the last two labels under a generic
    top-level domain, and the last three under a two-letter country code because of
    suffixes like ``co.uk`` (so ``mail.example.de`` is not trusted as a sub-zone, and
    ``mail.example.co.uk`` is). It does not know private suffixes such as ``eu.org``.
    """
    labels = name.split(".")
    registrable = 3 if len(labels[-1]) == 2 else 2
    return len(labels) > registrable
