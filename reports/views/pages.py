"""Read-only report pages: organization and domain charts, lists, drill-down."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from monitoring.access import get_domain, get_organization
from reports import ingest
from reports.aggregates import Scope
from reports.errors import ReportRejected
from reports.models import RawReport, RawStatus, Report
from reports.views.common import (
    chart_context,
    days_param,
    get_raw,
    get_report,
    policies_context,
    render_page,
)

PAGE_SIZE = 50
PRETTY_LIMIT = 1024 * 1024  # pretty-print JSON on the page up to this size


@login_required
def org_reports(request: HttpRequest, org_uuid) -> HttpResponse:
    """The organization's TLSRPT charts, recent reports, unmatched and refused inputs."""
    organization, can_write = get_organization(request, org_uuid)
    days = days_param(request)
    context = chart_context(Scope(organization.id), days)
    context.update(
        organization=organization,
        can_write=can_write,
        recent=Report.objects.filter(organization=organization)
        .select_related("domain")
        .order_by("-start_datetime", "-id")[:20],
        unmatched_count=Report.objects.filter(organization=organization, domain=None).count(),
        refused_count=RawReport.objects.filter(
            organization=organization, status__in=[RawStatus.REJECTED, RawStatus.ERROR]
        ).count(),
        pending_count=RawReport.objects.filter(
            organization=organization, status=RawStatus.PENDING
        ).count(),
        chart_url=request.path,
    )
    return render_page(request, "reports/org_reports.html", context)


@login_required
def report_list(request: HttpRequest, org_uuid) -> HttpResponse:
    """Every report of the organization; ``?unmatched=1`` for unknown policy domains."""
    organization, can_write = get_organization(request, org_uuid)
    reports = Report.objects.filter(organization=organization).select_related("domain")
    unmatched = request.GET.get("unmatched") == "1"
    if unmatched:
        reports = reports.filter(domain=None)
    page = Paginator(reports.order_by("-start_datetime", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "organization": organization,
        "can_write": can_write,
        "page": page,
        "unmatched": unmatched,
    }
    return render_page(request, "reports/report_list.html", context)


@login_required
def raw_list(request: HttpRequest, org_uuid) -> HttpResponse:
    """Inputs as received, newest first, filterable by status (refused ones by default)."""
    organization, can_write = get_organization(request, org_uuid)
    status = request.GET.get("status", "problems")
    raws = RawReport.objects.filter(organization=organization).defer("data")
    if status == "problems":
        raws = raws.filter(status__in=[RawStatus.REJECTED, RawStatus.ERROR])
    elif status in RawStatus.values:
        raws = raws.filter(status=status)
    page = Paginator(raws.order_by("-received_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "organization": organization,
        "can_write": can_write,
        "page": page,
        "status": status,
        "statuses": RawStatus.choices,
    }
    return render_page(request, "reports/raw_list.html", context)


@login_required
def domain_reports(request: HttpRequest, domain_uuid) -> HttpResponse:
    """One domain's charts, the policies senders saw, and its reports."""
    domain, can_write = get_domain(request, domain_uuid)
    days = days_param(request)
    context = chart_context(Scope(domain.organization_id, domain.id), days)
    context.update(policies_context(domain, days))
    context.update(
        domain=domain,
        organization=domain.organization,
        can_write=can_write,
        reports=Report.objects.filter(domain=domain).order_by("-start_datetime", "-id")[:50],
        endpoint=getattr(domain, "report_endpoint", None),
    )
    return render_page(request, "reports/domain_reports.html", context)


@login_required
def domain_charts(request: HttpRequest, domain_uuid) -> HttpResponse:
    """The per-domain chart partial, for htmx (and for the domain page to embed)."""
    domain, _ = get_domain(request, domain_uuid)
    days = days_param(request)
    context = chart_context(Scope(domain.organization_id, domain.id), days)
    context["domain"] = domain
    return render(request, "reports/partials/domain_charts.html", context)


@login_required
def report_detail(request: HttpRequest, report_uuid) -> HttpResponse:
    """One report: summary, each policy with the text the sender saw, failure details."""
    report, can_write = get_report(request, report_uuid)
    policies = list(report.policies.prefetch_related("failures"))
    document, error = _document(report)
    pretty = ""
    if document is not None and len(document) <= PRETTY_LIMIT:
        pretty = json.dumps(json.loads(document), indent=2, ensure_ascii=False)
    context = {
        "report": report,
        "organization": report.organization,
        "policies": policies,
        "raw": report.raw,
        "json_pretty": pretty,
        "json_size": len(document) if document is not None else 0,
        "json_error": error,
        "can_write": can_write,
    }
    return render_page(request, "reports/report_detail.html", context)


@login_required
def report_json(request: HttpRequest, report_uuid) -> HttpResponse:
    """The report's JSON exactly as the sender wrote it (decompressed)."""
    report, _ = get_report(request, report_uuid)
    document, error = _document(report)
    if document is None:
        return HttpResponse(error, status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(document, content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="tlsrpt-{report.uuid}.json"'
    return response


def _document(report: Report) -> tuple[bytes | None, str]:
    try:
        documents = ingest.documents_of(report.raw)
    except ReportRejected as exc:
        return None, f"the stored input no longer decodes: {exc.reason}"
    if report.document_index >= len(documents):
        return None, "the stored input holds fewer reports than when it was parsed"
    return documents[report.document_index], ""


@login_required
def raw_detail(request: HttpRequest, raw_uuid) -> HttpResponse:
    """A raw input: how it came, what became of it (reason), reports, DKIM, headers."""
    raw, can_write = get_raw(request, raw_uuid)
    preview = bytes(raw.data[:4096]).decode("utf-8", "replace")
    context = {
        "raw": raw,
        "organization": raw.organization,
        "reports": raw.reports.select_related("domain"),
        "preview": preview,
        "printable": raw.kind == "message" or preview.lstrip().startswith(("{", "[")),
        "can_write": can_write,
    }
    return render_page(request, "reports/raw_detail.html", context)


@login_required
def raw_download(request: HttpRequest, raw_uuid) -> HttpResponse:
    """The stored bytes, as an attachment (never rendered: they came from a stranger)."""
    raw, _ = get_raw(request, raw_uuid)
    response = HttpResponse(bytes(raw.data), content_type="application/octet-stream")
    suffix = "eml" if raw.kind == "message" else "bin"
    response["Content-Disposition"] = f'attachment; filename="raw-{raw.uuid}.{suffix}"'
    return response
