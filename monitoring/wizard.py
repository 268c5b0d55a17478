"""The onboarding wizard's step logic: what each step needs, produces and checks.

Views (``monitoring.views.wizard``) stay thin: they load the ``OnboardingSession``, call
these functions and render. State lives in ``OnboardingSession.data``::

    {"domains": [<domain uuid>, ...],
     "policy": {"mode": "testing", "max_age": 604800, "mx": {<uuid>: [pattern, ...]}},
     "policy_ids": {<uuid>: "20261123T184500"},
     "rua": ["https://...", "mailto:..."],
     "hosting": "hosted" | "nginx" | ...}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from monitoring import generators as gen
from monitoring.checks.findings import CATALOGUE
from monitoring.generators.records import normalize_rua_uri
from monitoring.models import Domain, DomainSummary, OnboardingSession, Organization

DEFAULT_MODE = "testing"


@dataclass(frozen=True)
class Step:
    number: int
    slug: str
    title: str


STEPS: tuple[Step, ...] = (
    Step(1, "team", "Organization and team"),
    Step(2, "domains", "Domains"),
    Step(3, "policy", "Policy"),
    Step(4, "reports", "TLS reports"),
    Step(5, "hosting", "Hosting the policy"),
    Step(6, "records", "DNS records"),
    Step(7, "verify", "Verify"),
    Step(8, "monitoring", "Monitoring"),
)

MAX_AGE_CHOICES: tuple[tuple[int, str, str], ...] = (
    (
        86_400,
        "1 day",
        "Quick to change or withdraw; senders forget the policy soon after a "
        "missed refresh, leaving a window for a downgrade.",
    ),
    (
        604_800,
        "1 week (recommended to start)",
        "A safe start: a mistake lasts at most a week "
        "in senders' caches, and protection holds through short outages.",
    ),
    (
        2_592_000,
        "30 days",
        "Stronger protection once the set-up is stable; a mistake can take a month to clear.",
    ),
    (
        31_557_600,
        "1 year (maximum)",
        "The strongest protection for a stable set-up; any "
        "change of MX provider must be planned a year ahead.",
    ),
)

HOSTING_CHOICES: tuple[tuple[str, str], ...] = (
    ("hosted", "Hosted by us: one CNAME, we serve the policy and its certificate"),
    ("github-pages", "GitHub Pages"),
    ("netlify", "Netlify"),
    ("cloudflare-workers", "Cloudflare Workers"),
    ("nginx", "nginx on your server"),
    ("apache", "Apache httpd on your server"),
    ("caddy", "Caddy on your server"),
)


def step_by_number(number: int) -> Step:
    return STEPS[max(1, min(len(STEPS), number)) - 1]


# -- domains and discovery --------------------------------------------------------------


def session_domains(session: OnboardingSession) -> list[Domain]:
    """The session's domains that still exist in its organization, in the order given."""
    wanted = [str(u) for u in session.data.get("domains", [])]
    found = {
        str(d.uuid): d
        for d in Domain.objects.filter(organization=session.organization, uuid__in=wanted)
        .select_related("summary")
        .select_related("hosted_policy")
    }
    return [found[u] for u in wanted if u in found]


def last_report(domain: Domain) -> dict[str, Any] | None:
    summary = _summary(domain)
    return summary.report if summary is not None else None


def mx_hosts(report: Mapping[str, Any] | None) -> list[str]:
    """The MX host names a report saw, best preference first."""
    hosts = sorted((report or {}).get("mx") or [], key=lambda h: h.get("preference", 0))
    return [h["name"] for h in hosts if h.get("name")]


def suggestions(report: Mapping[str, Any] | None) -> list[gen.Suggestion]:
    hosts = mx_hosts(report)
    if not hosts:
        return []
    try:
        return gen.suggest_patterns(hosts)
    except ValueError:
        return []


@dataclass
class Discovery:
    """What a first look at a domain found, phrased for a newcomer."""

    mx: list[dict[str, Any]]
    providers: list[str]
    record: str | None
    policy_text: str | None
    policy_mode: str | None
    tlsrpt: str | None
    problems: list[dict[str, Any]]
    status: str


def discovery(report: Mapping[str, Any]) -> Discovery:
    record = report.get("record") or {}
    policy = report.get("policy") or {}
    tlsrpt = report.get("tlsrpt") or {}
    parsed = policy.get("parsed") or {}
    served = policy.get("status") == 200
    problems = [
        {**f, "title": _title(f["code"])}
        for f in report.get("findings") or []
        if f.get("severity") in ("error", "warning")
    ]
    return Discovery(
        mx=sorted(report.get("mx") or [], key=lambda h: h.get("preference", 0)),
        providers=sorted({s.provider for s in suggestions(report) if s.provider}),
        record=(record.get("raw") or [None])[0],
        policy_text=policy.get("text") if served else None,
        policy_mode=parsed.get("mode") if served else None,
        tlsrpt=(tlsrpt.get("raw") or [None])[0],
        problems=_worst_first(problems),
        status=str(report.get("status", "")),
    )


# -- the policy -------------------------------------------------------------------------


def initial_patterns(domain: Domain, session: OnboardingSession) -> list[str]:
    """Patterns chosen before, else the suggestions from discovery."""
    chosen = session.data.get("policy", {}).get("mx", {}).get(str(domain.uuid))
    if chosen:
        return list(chosen)
    return [s.pattern for s in suggestions(last_report(domain))]


def parse_patterns(text: str) -> list[str]:
    """Patterns typed one per line (commas and spaces also separate); blanks dropped."""
    return [p for p in text.replace(",", " ").split() if p and not p.startswith("#")]


@dataclass
class CoverageView:
    """The live check of typed patterns against the MX hosts seen by the last check."""

    hosts: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    uncovered: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)
    no_mx: bool = False

    @property
    def complete(self) -> bool:
        return not self.errors and not self.uncovered and not self.no_mx


def coverage_view(mx: Sequence[str], patterns: Iterable[str]) -> CoverageView:
    good, errors = [], []
    for pattern in patterns:
        try:
            good.append(gen.names.normalize_pattern(pattern))
        except ValueError as exc:
            errors.append(str(exc))
    if not mx:
        return CoverageView(errors=errors, no_mx=True)
    result = gen.coverage(mx, good)
    return CoverageView(
        hosts=list(result.matches.items()),
        uncovered=result.uncovered,
        unused=result.unused,
        errors=errors,
    )


def policy_spec(session: OnboardingSession, domain: Domain) -> gen.PolicySpec | None:
    policy = session.data.get("policy") or {}
    patterns = (policy.get("mx") or {}).get(str(domain.uuid))
    if not policy or patterns is None:
        return None
    return gen.PolicySpec(mode=policy["mode"], max_age=int(policy["max_age"]), mx=patterns)


def policy_text(session: OnboardingSession, domain: Domain) -> str | None:
    spec = policy_spec(session, domain)
    return gen.render_policy(spec) if spec is not None else None


def policy_id(session: OnboardingSession, domain: Domain) -> str | None:
    return (session.data.get("policy_ids") or {}).get(str(domain.uuid))


def fresh_policy_id(now: dt.datetime, previous: str | None) -> str:
    return gen.new_policy_id(now, previous)


def current_record_id(domain: Domain) -> str | None:
    report = last_report(domain) or {}
    return (report.get("record") or {}).get("id")


# -- TLSRPT destinations -----------------------------------------------------------------


@dataclass(frozen=True)
class Destinations:
    """Where this product receives an organization's TLSRPT reports."""

    https: str | None
    mailto: str | None

    @property
    def uris(self) -> list[str]:
        return [u for u in (self.https, self.mailto) if u]


def our_destinations(organization: Organization) -> Destinations:
    """The organization's report URL and address (the reports app's ``ReportEndpoint``).

    The HTTPS URI needs a host name: with ``SITE_URL`` on an IP address (development)
    only the mail address is offered.
    """
    from reports.models import ReportEndpoint

    endpoint = ReportEndpoint.objects.filter(organization=organization, domain=None).first()
    if endpoint is None:
        endpoint = ReportEndpoint.objects.create(organization=organization)
    site = urlsplit(settings.SITE_URL)
    https = _valid_uri(f"https://{site.netloc}{endpoint.https_path}") if site.netloc else None
    return Destinations(https=https, mailto=_valid_uri(f"mailto:{endpoint.mail_address}"))


def _valid_uri(uri: str) -> str | None:
    try:
        return normalize_rua_uri(uri)
    except ValueError:
        return None


def clean_rua(use_ours: bool, ours: Destinations, own_text: str) -> list[str]:
    """The rua list: ours (if chosen) then the team's own; ValueError if empty or bad."""
    uris = list(ours.uris) if use_ours else []
    for token in own_text.replace(",", " ").split():
        uris.append(normalize_rua_uri(token))
    if not uris:
        raise ValueError("Choose at least one place to receive the reports.")
    gen.tlsrpt_record(uris)  # the whole record must be valid too
    return list(dict.fromkeys(uris))


# -- hosting, records -----------------------------------------------------------------


def hosting_target() -> str:
    return settings.HOSTED_POLICY_TARGET


def recipes(domain: Domain, text: str) -> dict[str, gen.Recipe]:
    return gen.hosting_recipes(domain.name, text, our_host=hosting_target())


def dns_records(
    domain: Domain, record_id: str, rua: Sequence[str], hosted: bool
) -> list[gen.DnsRecord]:
    """The records to publish, in order: the CNAME (hosted), the policy id, TLSRPT."""
    records = []
    if hosted:
        records.append(gen.hosted_cname_record(domain.name, hosting_target()))
    records.append(gen.mta_sts_dns_record(domain.name, record_id))
    if rua:
        records.append(gen.tlsrpt_dns_record(domain.name, rua))
    return records


# -- verify ------------------------------------------------------------------------------


@dataclass
class Requirement:
    key: str
    title: str
    ok: bool
    findings: list[dict[str, Any]] = field(default_factory=list)
    fix: str = ""
    fix_label: str = ""
    note: str = ""


_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("record", ("sts.record.",)),
    ("served", ("policy.fetch.", "policy.cert.")),
    (
        "valid",
        (
            "policy.syntax.",
            "policy.version.",
            "policy.mode.",
            "policy.max_age.",
            "policy.mx.missing",
            "policy.mx.invalid",
        ),
    ),
    ("coverage", ("mx.not_covered", "policy.mx.unused", "mx.records.")),
    ("mx_tls", ("mx.connect.", "mx.starttls.", "mx.tls.", "mx.cert.")),
    ("tlsrpt", ("tlsrpt.",)),
)


def requirements(
    domain: Domain,
    report: Mapping[str, Any],
    *,
    expected_text: str | None,
    expected_id: str | None,
    rua: Sequence[str],
    hosted: bool,
) -> list[Requirement]:
    """Each thing that must hold for the set-up to work, judged from a fresh report.

    A requirement fails on any error or warning finding in its group; info notes (such as
    "mode testing") never fail it. The record must carry the generated id and the served
    policy must say what was generated, or senders would keep an older policy.
    """
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in _GROUPS}
    for finding in report.get("findings") or []:
        for key, prefixes in _GROUPS:
            if finding["code"].startswith(prefixes):
                grouped[key].append({**finding, "title": _title(finding["code"])})
                break
    failing = {
        key: [f for f in found if f["severity"] in ("error", "warning")]
        for key, found in grouped.items()
    }
    served = (report.get("policy") or {}).get("status") == 200
    present = {
        "record": bool((report.get("record") or {}).get("id")),
        "served": served,
        "valid": served,
        "coverage": served,
        "mx_tls": True,
        "tlsrpt": bool(report.get("tlsrpt")),
    }
    # What to show beside a requirement that fails: its problems, else its notes.
    shown = {key: failing[key] or grouped[key] for key in grouped}
    ok = {key: present[key] and not failing[key] for key in grouped}
    host = f"mta-sts.{domain.name}"
    record_text = gen.mta_sts_record(expected_id) if expected_id else ""
    items = [
        Requirement(
            "record",
            f"_mta-sts.{domain.name} TXT record published with id {expected_id or '(new)'}",
            ok["record"],
            shown["record"],
            fix=record_text,
            fix_label=f"TXT at _mta-sts.{domain.name}",
        ),
        Requirement(
            "served",
            f"Policy served at https://{host}/.well-known/mta-sts.txt",
            ok["served"],
            shown["served"],
            fix=(f"{host}. CNAME {hosting_target()}." if hosted else (expected_text or "")),
            fix_label=("DNS record" if hosted else "Serve exactly this file"),
        ),
        Requirement(
            "valid",
            "Policy is valid and says what was generated",
            ok["valid"],
            shown["valid"],
            fix=expected_text or "",
            fix_label="The policy file",
        ),
        Requirement(
            "coverage",
            "Every MX host is listed in the policy",
            ok["coverage"],
            shown["coverage"],
            fix=expected_text or "",
            fix_label="The policy file",
        ),
        Requirement(
            "mx_tls",
            "Every MX host offers STARTTLS with a valid certificate",
            ok["mx_tls"],
            shown["mx_tls"],
        ),
        Requirement(
            "tlsrpt",
            f"_smtp._tls.{domain.name} TXT record sends TLS reports",
            ok["tlsrpt"],
            shown["tlsrpt"],
            fix=gen.tlsrpt_record(rua) if rua else "",
            fix_label=f"TXT at _smtp._tls.{domain.name}",
        ),
    ]
    _check_record_id(items[0], report, expected_id)
    _check_policy_matches(items[2], report, expected_text)
    _check_rua(items[5], report, rua)
    if not served:
        for item in items[2:4]:
            item.note = item.note or "Checked once the policy is served."
            item.fix = ""  # the file to serve is shown once, beside "Policy served"
    return items


def _check_rua(item: Requirement, report: Mapping[str, Any], expected: Sequence[str]) -> None:
    seen = (report.get("tlsrpt") or {}).get("rua") or []
    missing = [uri for uri in expected if uri not in seen]
    if item.ok and missing:
        item.ok = False
        item.note = (
            f"The record sends reports to {', '.join(seen) or 'nowhere'}, not to "
            f"{', '.join(missing)}: publish the record below instead."
        )


def _check_record_id(item: Requirement, report: Mapping[str, Any], expected: str | None) -> None:
    seen = (report.get("record") or {}).get("id")
    if item.ok and expected and seen and seen != expected:
        item.ok = False
        item.note = (
            f"The record carries id {seen}, not {expected}: senders that cached the old "
            "policy will not fetch the new one until the id changes."
        )


def _check_policy_matches(
    item: Requirement, report: Mapping[str, Any], expected_text: str | None
) -> None:
    policy = report.get("policy") or {}
    if not item.ok or not expected_text or policy.get("status") != 200:
        return
    if not same_policy(policy.get("text") or "", expected_text):
        item.ok = False
        item.note = "The policy served differs from the one generated; serve exactly this file."


def same_policy(served: str, expected: str) -> bool:
    # Line endings may differ (LF vs CRLF) without changing what senders read.
    def lines(text: str) -> list[str]:
        return [line.rstrip("\r") for line in text.strip().splitlines() if line.strip()]

    return sorted(lines(served)) == sorted(lines(expected))


def all_green(items: Iterable[Requirement]) -> bool:
    return all(item.ok for item in items)


# -- helpers ---------------------------------------------------------------------------

_RANK = {"error": 0, "warning": 1, "info": 2}


def _worst_first(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(findings, key=lambda f: _RANK.get(f.get("severity", "info"), 3))


def _title(code: str) -> str:
    spec = CATALOGUE.get(code)
    return spec.title if spec else code


def _summary(domain: Domain) -> DomainSummary | None:
    try:
        return domain.summary
    except DomainSummary.DoesNotExist:
        return None
