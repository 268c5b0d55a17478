"""The dashboard: every domain of the organization at a glance, with bulk actions.

A page costs a fixed number of queries whatever the number of domains: the row data is
denormalised on ``DomainSummary`` (one join), open alerts are a correlated sub-query, and
the status counts are one aggregate.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from monitoring.access import get_organization
from monitoring.models import Alert, Domain, DomainSummary, Organization

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
CERT_WARNING_DAYS = 14
SPARK_WIDTH, SPARK_HEIGHT = 56, 20

_STATUS_RANK = Case(
    When(status="error", then=Value(0)),
    When(status="warning", then=Value(1)),
    When(status="pending", then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)

# Each sort key: the ordering ascending; a leading "-" in the URL reverses it.
SORTS: dict[str, tuple] = {
    "name": ("name",),
    "status": ("status_rank", "name"),
    "mode": ("summary__mode", "name"),
    "certs": ("summary__min_cert_days", "name"),
    "tlsrpt": ("summary__tlsrpt_rate_7d", "name"),
    "alerts": ("open_alerts", "name"),
    "checked": ("last_checked_at", "name"),
}
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Domain"),
    ("status", "Status"),
    ("mode", "Mode"),
    ("", "Policy id"),
    ("", "MX covered"),
    ("certs", "Cert days left"),
    ("tlsrpt", "TLSRPT 7 days"),
    ("alerts", "Open alerts"),
    ("checked", "Last checked"),
)

log = logging.getLogger(__name__)


class FilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search domains")
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any status"),
            ("error", "Error"),
            ("warning", "Warning"),
            ("ok", "OK"),
            ("pending", "Not checked yet"),
            ("paused", "Paused"),
        ],
    )
    mode = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any mode"),
            ("enforce", "enforce"),
            ("testing", "testing"),
            ("none", "none"),
            ("nopolicy", "No policy"),
        ],
    )
    problems = forms.BooleanField(required=False, label="Only domains with problems")
    sort = forms.CharField(required=False)
    per_page = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=DEFAULT_PAGE_SIZE,
        initial=DEFAULT_PAGE_SIZE,
        choices=[(n, f"{n} per page") for n in PAGE_SIZES],
        label="Rows",
    )


def open_alerts_subquery() -> Subquery:
    counted = (
        Alert.objects.filter(domain=OuterRef("pk"), resolved_at__isnull=True)
        .order_by()
        .values("domain")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(counted, output_field=IntegerField())


def dashboard_queryset(organization: Organization) -> QuerySet[Domain]:
    """The organization's domains with everything a row shows, in one query."""
    return (
        Domain.objects.filter(organization=organization)
        .select_related("summary")
        .defer("summary__report")
        .annotate(open_alerts=Coalesce(open_alerts_subquery(), 0), status_rank=_STATUS_RANK)
    )


def apply_filters(qs: QuerySet[Domain], data: dict) -> QuerySet[Domain]:
    if data.get("q"):
        qs = qs.filter(name__icontains=data["q"].strip().lower())
    status = data.get("status")
    if status == "paused":
        qs = qs.filter(enabled=False)
    elif status:
        qs = qs.filter(status=status)
    mode = data.get("mode")
    if mode == "nopolicy":
        qs = qs.filter(Q(summary__isnull=True) | Q(summary__mode=""))
    elif mode:
        qs = qs.filter(summary__mode=mode)
    if data.get("problems"):
        qs = qs.filter(
            Q(status__in=["warning", "error"])
            | Q(open_alerts__gt=0)
            | Q(summary__min_cert_days__lte=CERT_WARNING_DAYS)
        )
    return qs


def apply_sort(qs: QuerySet[Domain], sort: str) -> tuple[QuerySet[Domain], str]:
    key = sort.lstrip("-")
    if key not in SORTS:
        return qs.order_by("status_rank", "name"), ""
    descending = sort.startswith("-")
    fields = []
    for name in SORTS[key]:
        expr = F(name)
        if name == "name" and key != "name":
            fields.append(expr.asc())  # the tie-breaker always reads A to Z
        else:
            fields.append(expr.desc(nulls_last=True) if descending else expr.asc(nulls_last=True))
    return qs.order_by(*fields), sort


def status_counts(organization: Organization) -> dict[str, int]:
    """How many domains are in each state, in one aggregate query."""
    return Domain.objects.filter(organization=organization).aggregate(
        total=Count("id"),
        error=Count("id", filter=Q(status="error")),
        warning=Count("id", filter=Q(status="warning")),
        ok=Count("id", filter=Q(status="ok")),
        pending=Count("id", filter=Q(status="pending")),
        paused=Count("id", filter=Q(enabled=False)),
    )


SPARK_FLOOR = 0.9  # success rates live near 100%: a 0-100 scale would show a flat line


def sparkline(values: Sequence[float | None]) -> dict | None:
    """Points for an inline SVG polyline of daily rates (0..1); gaps split the line.

    The bottom of the box is 90%, or lower when a day was worse, so that the dips that
    matter (99% to 95%) are visible; the top is always 100%.
    """
    known = [max(0.0, min(1.0, v)) for v in values if v is not None]
    if not known:
        return None
    floor = min(SPARK_FLOOR, min(known))
    span = (1 - floor) or 1.0
    step = (SPARK_WIDTH - 4) / max(1, len(values) - 1)
    segments: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        x = round(2 + index * step, 1)
        y = round(2 + (1 - max(floor, min(1.0, value))) / span * (SPARK_HEIGHT - 4), 1)
        segments[-1].append(f"{x},{y}")
    # A lone day between gaps becomes a flat dash, so it still shows.
    lines = [" ".join(seg if len(seg) > 1 else [seg[0], _nudge(seg[0])]) for seg in segments if seg]
    return {"lines": lines, "width": SPARK_WIDTH, "height": SPARK_HEIGHT}


def _nudge(point: str) -> str:
    x, y = point.split(",")
    return f"{float(x) + 3:.1f},{y}"


def percent(rate: float | None) -> str:
    """98.7 for 0.987; whole numbers without a decimal (100, not 100.0)."""
    if rate is None:
        return ""
    return f"{rate * 100:.1f}".removesuffix(".0")


@dataclass
class Row:
    """One dashboard row, formatted in Python: a template node per cell is what costs."""

    uuid: str
    name: str
    url: str
    paused: bool
    status: str
    status_label: str
    mode: str
    mode_label: str
    policy_id: str
    coverage: str
    coverage_class: str
    cert: str
    cert_class: str
    cert_title: str
    rate: str
    rate_class: str
    spark: dict | None
    alerts: int
    checked_iso: str
    checked_label: str
    checked_title: str


def build_row(domain: Domain, now: dt.datetime) -> Row:
    summary: DomainSummary | None = getattr(domain, "summary", None)
    checked = domain.last_checked_at
    row = Row(
        uuid=str(domain.uuid),
        name=domain.name,
        url=reverse("domain_detail", args=[domain.uuid]),
        paused=not domain.enabled,
        status=domain.status,
        status_label="Not checked" if domain.status == "pending" else domain.get_status_display(),
        mode="",
        mode_label="—" if checked is None else "no policy",
        policy_id="",
        coverage="—",
        coverage_class="muted",
        cert="—",
        cert_class="muted",
        cert_title="",
        rate="",
        rate_class="",
        spark=None,
        alerts=domain.open_alerts,
        checked_iso=checked.isoformat() if checked else "",
        checked_label=ago(checked, now) if checked else "not yet",
        checked_title=checked.strftime("%Y-%m-%d %H:%M UTC") if checked else "",
    )
    if summary is not None:
        _summary_cells(row, summary)
    return row


def _summary_cells(row: Row, summary: DomainSummary) -> None:
    if summary.mode:
        row.mode = row.mode_label = summary.mode
    row.policy_id = summary.policy_id
    if summary.mx_total and summary.mode:
        row.coverage = summary.coverage_label
        row.coverage_class = "good" if summary.fully_covered else "bad"
    elif summary.mx_total:
        row.coverage = f"{summary.mx_total} MX, no policy"
    days = summary.min_cert_days
    if days is not None:
        row.cert, row.cert_title = f"{days} d", summary.min_cert_host
        row.cert_class = "bad" if days <= 0 else "warn" if days <= CERT_WARNING_DAYS else ""
    rate = summary.tlsrpt_rate_7d
    if rate is not None:
        row.rate = percent(rate) + "%"
        row.rate_class = "bad" if rate < 0.95 else "warn" if rate < 0.99 else ""
        row.spark = sparkline(summary.tlsrpt_daily)
        if row.spark:
            days_text = ", ".join(
                percent(v) + "%" if v is not None else "no data" for v in summary.tlsrpt_daily
            )
            row.spark["label"] = f"Daily TLS success, oldest first: {days_text}"


def ago(when: dt.datetime, now: dt.datetime) -> str:
    """A short "how long ago" (Django's timesince is several times slower per row)."""
    seconds = max(0, int((now - when).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def _query_string(data: dict, **changes) -> str:
    merged = {k: v for k, v in {**data, **changes}.items() if v not in (None, "", False)}
    if merged.get("per_page") == DEFAULT_PAGE_SIZE:
        merged.pop("per_page")
    return urlencode(merged)


@login_required
def dashboard(request: HttpRequest, org_uuid) -> HttpResponse:
    organization, can_write = get_organization(request, org_uuid)
    form = FilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = apply_filters(dashboard_queryset(organization), data)
    qs, sort = apply_sort(qs, data.get("sort") or "")
    per_page = data.get("per_page") or DEFAULT_PAGE_SIZE
    page = Paginator(qs, per_page).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [build_row(domain, now) for domain in page.object_list]
    base = {k: v for k, v in data.items() if k != "sort"}
    context = {
        "organization": organization,
        "can_write": can_write,
        "form": form,
        "page": page,
        "rows": rows,
        "counts": status_counts(organization),
        "sort": sort,
        "columns": [
            (key, label, _sort_link(base, key, sort)) if key else (key, label, None)
            for key, label in COLUMNS
        ],
        "page_query": _query_string({**base, "sort": sort}),
        "cert_warning_days": CERT_WARNING_DAYS,
        "filtered": any(data.get(k) for k in ("q", "status", "mode", "problems")),
    }
    template = "monitoring/dashboard_table.html" if request.htmx else "monitoring/domain_list.html"
    return render(request, template, context)


def _sort_link(base: dict, key: str, current: str) -> dict:
    descending = current == key
    return {
        "query": _query_string(base, sort=f"-{key}" if descending else key),
        "active": current.lstrip("-") == key,
        "descending": current.startswith("-"),
    }


BULK_ACTIONS = ("check", "pause", "resume", "delete")


@login_required
@require_POST
def bulk_action(request: HttpRequest, org_uuid) -> HttpResponse:
    """Check now, pause, resume or delete the ticked domains of this organization."""
    organization, _ = get_organization(request, org_uuid, write=True)
    action = request.POST.get("action", "")
    uuids = request.POST.getlist("domains")
    back = request.POST.get("next") or ""
    target = Domain.objects.filter(organization=organization, uuid__in=_uuids(uuids))
    if action not in BULK_ACTIONS or not uuids:
        messages.error(request, "Tick at least one domain and choose an action.")
        return _back(organization, back)
    if action == "delete" and request.POST.get("confirm") != "yes":
        context = {"organization": organization, "domains": target.order_by("name"), "next": back}
        return render(request, "monitoring/dashboard_confirm_delete.html", context)
    count = _apply(action, target)
    messages.success(request, _done_message(action, count))
    return _back(organization, back)


def _apply(action: str, target: QuerySet[Domain]) -> int:
    now = timezone.now()
    with transaction.atomic():
        if action == "check":
            transaction.on_commit(_nudge_dispatcher)
            return target.filter(enabled=True).update(next_check_at=now)
        if action == "pause":
            return target.update(enabled=False)
        if action == "resume":
            transaction.on_commit(_nudge_dispatcher)
            return target.update(enabled=True, next_check_at=now)
        _, per_model = target.delete()
        return per_model.get(Domain._meta.label, 0)


def _nudge_dispatcher() -> None:
    """Run the dispatcher now rather than at its next tick; the domains are due either way."""
    from monitoring.tasks import dispatch_due_checks

    try:
        dispatch_due_checks.apply_async(retry=False)
    except Exception:
        # A dead broker: beat's next tick claims the domains, they stay due until then.
        log.warning("could not queue an immediate dispatch; the next tick will run it")


def _done_message(action: str, count: int) -> str:
    return {
        "check": f"{count} domain(s) queued for a check now.",
        "pause": f"Paused monitoring of {count} domain(s).",
        "resume": f"Resumed monitoring of {count} domain(s); each is checked now.",
        "delete": f"Stopped monitoring and deleted {count} domain(s).",
    }[action]


def _uuids(values: list[str]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return out


def _back(organization: Organization, query: str) -> HttpResponse:
    response = redirect("domain_list", org_uuid=organization.uuid)
    if query and query.startswith("?"):
        response["Location"] += query
    return response
