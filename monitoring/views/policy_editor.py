"""Change a monitored domain's policy: mode, ``mx`` or ``max_age``, with a new id.

The order matters and the page says it: publish the new policy first, then the record
with the new id (senders that see the new id fetch the policy at once, so the policy must
already be there). Moving to ``enforce`` shows the evidence first (the last 14 days of
TLSRPT failures and the current MX coverage); turning MTA-STS off goes through
``mode: none`` and waits out the old ``max_age`` before the records may go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from monitoring import generators as gen
from monitoring import wizard as wz
from monitoring.access import get_domain
from monitoring.checks.policy import parse_policy
from monitoring.models import Domain, HostedPolicy
from monitoring.views.dashboard import percent

EVIDENCE_DAYS = 14


class PolicyEditForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[
            ("testing", "testing: report failures, deliver anyway"),
            ("enforce", "enforce: refuse delivery without valid TLS"),
            ("none", "none: switch MTA-STS off"),
        ],
        widget=forms.RadioSelect,
    )
    max_age = forms.IntegerField(
        min_value=1,
        max_value=gen.policy.MAX_MAX_AGE,
        label="max_age (seconds)",
        help_text="86400 is a day, 604800 a week, 31557600 a year (the maximum).",
    )
    mx = forms.CharField(
        required=False,
        label="mx patterns, one per line",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["spec"] = gen.PolicySpec(
                mode=data["mode"], max_age=data["max_age"], mx=wz.parse_patterns(data["mx"])
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@dataclass
class Current:
    """The policy in force now, as far as we know, and where that knowledge comes from."""

    mode: str | None
    max_age: int | None
    mx: list[str]
    text: str | None
    record_id: str | None
    source: str  # "hosted", "served" or "none"


def current_policy(domain: Domain) -> Current:
    hosted = _hosted(domain)
    report = wz.last_report(domain) or {}
    record_id = (report.get("record") or {}).get("id")
    if hosted is not None and hosted.enabled:
        policy, _ = parse_policy(hosted.policy_text, hosted.host)
        return Current(
            policy.mode,
            policy.max_age,
            policy.mx,
            hosted.policy_text,
            record_id or hosted.policy_id,
            "hosted",
        )
    served = report.get("policy") or {}
    parsed = served.get("parsed") or {}
    if served.get("status") == 200 and parsed:
        max_age = parsed.get("max_age") if isinstance(parsed.get("max_age"), int) else None
        return Current(
            parsed.get("mode"),
            max_age,
            list(parsed.get("mx") or []),
            served.get("text"),
            record_id,
            "served",
        )
    return Current(None, None, [], None, record_id, "none")


@login_required
def policy_edit(request: HttpRequest, domain_uuid) -> HttpResponse:
    """GET: the form, pre-filled. POST: the plan for the new policy (nothing changes yet)."""
    domain, _ = get_domain(request, domain_uuid, write=True)
    current = current_policy(domain)
    report = wz.last_report(domain)
    initial = {
        "mode": current.mode if current.mode in gen.policy.MODES else "testing",
        "max_age": current.max_age or gen.DEFAULT_MAX_AGE,
        "mx": "\n".join(current.mx or [s.pattern for s in wz.suggestions(report)]),
    }
    form = PolicyEditForm(request.POST or None, initial=initial)
    context = {
        "domain": domain,
        "organization": domain.organization,
        "current": current,
        "form": form,
    }
    if request.method == "POST" and form.is_valid():
        context.update(plan(domain, current, form.cleaned_data["spec"]))
        return render(request, "monitoring/policy_editor_plan.html", context)
    patterns = wz.parse_patterns(form["mx"].value() or "")
    context["coverage"] = wz.coverage_view(wz.mx_hosts(report), patterns)
    return render(request, "monitoring/policy_editor.html", context)


def plan(domain: Domain, current: Current, spec: gen.PolicySpec) -> dict[str, Any]:
    """The new policy, its id, the records and what to look at before publishing."""
    now = timezone.now()
    text = gen.render_policy(spec)
    new_id = gen.new_policy_id(now, current.record_id)
    hosted = current.source == "hosted"
    report = wz.last_report(domain)
    to_enforce = spec.mode == "enforce" and current.mode != "enforce"
    turning_off = spec.mode == "none" and current.mode in ("testing", "enforce")
    wait = timedelta(seconds=current.max_age or spec.max_age)
    return {
        "spec": spec,
        "policy": text,
        "policy_id": new_id,
        "record": gen.mta_sts_record(new_id),
        "record_name": f"_mta-sts.{domain.name}",
        "hosted": hosted,
        "unchanged": current.text is not None and wz.same_policy(current.text, text),
        "to_enforce": to_enforce,
        "turning_off": turning_off,
        "remove_after": now + wait if turning_off else None,
        "wait_days": f"{wait.total_seconds() / 86400:.1f}".removesuffix(".0"),
        "coverage": wz.coverage_view(wz.mx_hosts(report), spec.mx),
        "evidence": tlsrpt_evidence(domain) if to_enforce else None,
        "mx_text": "\n".join(spec.mx),
    }


def tlsrpt_evidence(domain: Domain, days: int = EVIDENCE_DAYS) -> dict[str, Any]:
    """The last ``days`` days of TLSRPT sessions and failures, from the reports app."""
    from reports import aggregates

    scope = aggregates.Scope(organization_id=domain.organization_id, domain_id=domain.id)
    points = aggregates.daily_totals(scope, days)
    successful = sum(p.successful for p in points)
    failed = sum(p.failed for p in points)
    return {
        "days": days,
        "points": points,
        "successful": successful,
        "failed": failed,
        "total": successful + failed,
        "rate": percent(failed / (successful + failed)) if successful + failed else None,
        "by_type": aggregates.failures_by_result_type(scope, days)[:8],
        "by_mx": aggregates.failures_by_mx(scope, days)[:8],
        "reported_days": sum(1 for p in points if p.total),
    }


@login_required
@require_POST
def policy_publish(request: HttpRequest, domain_uuid) -> HttpResponse:
    """Step 1 for a hosted policy: serve the new text now (the record comes after)."""
    domain, _ = get_domain(request, domain_uuid, write=True)
    form = PolicyEditForm(request.POST)
    policy_id = request.POST.get("policy_id", "")
    if not form.is_valid() or not policy_id.isalnum() or len(policy_id) > 32:
        messages.error(request, "The policy could not be published; start again.")
        return redirect("policy_edit", domain_uuid=domain.uuid)
    text = gen.render_policy(form.cleaned_data["spec"])
    try:
        with transaction.atomic():
            HostedPolicy.objects.update_or_create(
                domain=domain,
                defaults={"policy_text": text, "policy_id": policy_id, "enabled": True},
            )
    except IntegrityError:
        messages.error(request, f"mta-sts.{domain.name} is hosted for another organization.")
        return redirect("policy_edit", domain_uuid=domain.uuid)
    context = {
        "domain": domain,
        "organization": domain.organization,
        "policy": text,
        "record": gen.mta_sts_record(policy_id),
        "record_name": f"_mta-sts.{domain.name}",
        "policy_id": policy_id,
    }
    return render(request, "monitoring/policy_editor_published.html", context)


@login_required
@require_POST
def policy_download(request: HttpRequest, domain_uuid) -> HttpResponse:
    """The new policy file, exactly as it must be served."""
    get_domain(request, domain_uuid)  # members only
    form = PolicyEditForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Invalid policy.\n", status=400, content_type="text/plain")
    text = gen.render_policy(form.cleaned_data["spec"])
    response = HttpResponse(text.encode("utf-8"), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="mta-sts.txt"'
    return response


def _hosted(domain: Domain) -> HostedPolicy | None:
    try:
        return domain.hosted_policy
    except HostedPolicy.DoesNotExist:
        return None
