"""One domain: its findings with fixes, the facts seen, history, TLSRPT charts, check now."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone

from monitoring.access import get_domain
from monitoring.checks.findings import CATALOGUE
from monitoring.fixes import FixContext, fix_for
from monitoring.models import Alert, CheckRun, Domain, DomainSummary
from monitoring.wizard import our_destinations

AREAS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("changes", "Changes since the last check", ("drift.", "sts.id.stale")),
    ("record", "The _mta-sts record", ("sts.",)),
    ("policy", "The policy", ("policy.",)),
    ("mx", "MX hosts and certificates", ("mx.",)),
    ("tlsrpt", "TLS reporting (TLSRPT)", ("tlsrpt.",)),
)
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
DRIFT_PREFIXES = ("drift.", "sts.id.stale")
# Partials of the history (issue 4) and reports (issue 5) parts, included when present.
CHECK_NOW_PARTIAL = "monitoring/partials/check_now.html"
HISTORY_PARTIAL = "monitoring/partials/history.html"
CHARTS_PARTIAL = "reports/partials/domain_charts.html"


@dataclass
class ShownFinding:
    code: str
    severity: str
    subject: str
    message: str
    hint: str
    title: str
    why: str
    fixes: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Area:
    key: str
    title: str
    findings: list[ShownFinding]

    @property
    def worst(self) -> str:
        return self.findings[0].severity if self.findings else "ok"

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for finding in self.findings:
            out[finding.severity] = out.get(finding.severity, 0) + 1
        return out


@login_required
def domain_detail(request: HttpRequest, domain_uuid) -> HttpResponse:
    domain, can_write = get_domain(request, domain_uuid)
    summary = _summary(domain)
    report = (summary.report if summary else None) or {}
    findings = list(report.get("findings") or []) + _drift_findings(domain)
    ours = our_destinations(domain.organization).uris
    ctx = FixContext(domain=domain.name, report=report, rua=ours, now=timezone.now())
    areas = group_findings(findings, ctx)
    context = {
        "domain": domain,
        "organization": domain.organization,
        "can_write": can_write,
        "summary": summary,
        "report": report,
        "areas": areas,
        "problems": any(area.worst in ("error", "warning") for area in areas),
        "facts": facts(report),
        "alerts": list(Alert.objects.filter(domain=domain, resolved_at__isnull=True)[:20]),
        "runs": list(CheckRun.objects.filter(domain=domain).defer("facts")[:10]),
        "hosted": getattr(domain, "hosted_policy", None),
        "check_now_partial": optional_template(CHECK_NOW_PARTIAL),
        "history_partial": optional_template(HISTORY_PARTIAL),
        "charts_partial": optional_template(CHARTS_PARTIAL),
    }
    return render(request, "monitoring/domain_detail.html", context)


def group_findings(findings: Sequence[Mapping[str, Any]], ctx: FixContext) -> list[Area]:
    """Findings in areas, worst area first; within an area, worst finding first."""
    buckets: dict[str, list[ShownFinding]] = {key: [] for key, _, _ in AREAS}
    ids = itertools.count(1)
    for raw in findings:
        key = area_of(raw.get("code", ""))
        buckets[key].append(_shown(raw, ctx, ids))
    areas = []
    for key, title, _ in AREAS:
        items = sorted(buckets[key], key=lambda f: SEVERITY_RANK.get(f.severity, 3))
        if items:
            areas.append(Area(key, title, items))
    return sorted(areas, key=lambda a: SEVERITY_RANK.get(a.worst, 3))


def area_of(code: str) -> str:
    for key, _, prefixes in AREAS:
        if code.startswith(prefixes):
            return key
    return "policy"


def _shown(raw: Mapping[str, Any], ctx: FixContext, ids: Iterator[int]) -> ShownFinding:
    code = str(raw.get("code", ""))
    spec = CATALOGUE.get(code)
    severity = str(raw.get("severity", "info"))
    fixes = fix_for(raw, ctx) if severity != "info" else []
    return ShownFinding(
        code=code,
        severity=severity,
        subject=str(raw.get("subject", "")),
        message=str(raw.get("message", "")),
        hint=str(raw.get("hint", "")),
        title=spec.title if spec else code,
        why=spec.why if spec else "",
        fixes=[{"label": f.label, "text": f.text, "id": f"fix-{next(ids)}"} for f in fixes],
    )


def facts(report: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a report arranged for the page: one row per MX address."""
    rows = []
    for host in sorted(report.get("mx") or [], key=lambda h: h.get("preference", 0)):
        addresses = host.get("addresses") or [{}]
        for index, address in enumerate(addresses):
            rows.append(
                {"host": host, "address": address, "first": index == 0, "span": len(addresses)}
            )
    policy = report.get("policy") or {}
    return {
        "record": report.get("record"),
        "policy": policy,
        "policy_cert": policy.get("certificate"),
        "content_type": (policy.get("headers") or {}).get("content-type"),
        "mx_rows": rows,
        "tlsrpt": report.get("tlsrpt"),
    }


def optional_template(name: str) -> str | None:
    """``name`` if that template exists (another part of the product may not be there)."""
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return None
    return name


def _drift_findings(domain: Domain) -> list[dict[str, Any]]:
    """Between-run findings of the latest stored run (the engine's report has none)."""
    run = CheckRun.objects.filter(domain=domain).only("id").first()
    if run is None:
        return []
    return [
        {
            "code": f.code,
            "severity": f.severity,
            "subject": f.subject,
            "message": f.message,
            "hint": f.hint,
        }
        for f in run.findings.all()
        if f.code.startswith(DRIFT_PREFIXES)
    ]


def _summary(domain: Domain) -> DomainSummary | None:
    try:
        return domain.summary
    except DomainSummary.DoesNotExist:
        return None
