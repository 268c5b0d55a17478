"""The onboarding wizard: one step per page, resumable, state in ``OnboardingSession``.

The step logic is in ``monitoring.wizard``; these views load the session, validate the
step's form, save and move on. Each step's POST redirects (so a reload never resubmits),
and a step can be revisited up to the furthest one reached.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from monitoring import generators as gen
from monitoring import services
from monitoring import wizard as wz
from monitoring.access import get_domain, get_organization
from monitoring.checks.engine import check_domain
from monitoring.middleware import SESSION_KEY
from monitoring.models import (
    AlertChannel,
    ChannelKind,
    Domain,
    HostedPolicy,
    OnboardingSession,
    Organization,
    Role,
)
from monitoring.models.onboarding import WIZARD_STEPS
from monitoring.summary import update_summary

MAX_WIZARD_DOMAINS = 50
INTERVALS = (
    (15, "Every 15 minutes"),
    (60, "Every hour (recommended)"),
    (360, "Every 6 hours"),
    (1440, "Once a day"),
)


# -- forms -----------------------------------------------------------------------------


class InviteForm(forms.Form):
    email = forms.EmailField(required=False, label="Teammate's email")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER, required=False)


InviteFormSet = forms.formset_factory(InviteForm, extra=3, max_num=10)


class NewOrganizationForm(forms.Form):
    name = forms.CharField(max_length=100, label="Organization name")


class DomainsForm(forms.Form):
    names = forms.CharField(
        label="Domains that receive mail",
        help_text="One domain, or a list: one per line (commas and spaces also separate).",
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "example.com\nexample.org"}),
        max_length=20_000,
    )


class PolicyForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("testing", "testing"), ("enforce", "enforce")],
        initial=wz.DEFAULT_MODE,
        widget=forms.RadioSelect,
    )
    max_age = forms.TypedChoiceField(
        coerce=int,
        choices=[(seconds, label) for seconds, label, _ in wz.MAX_AGE_CHOICES],
        initial=gen.DEFAULT_MAX_AGE,
        widget=forms.RadioSelect,
    )


class ReportsForm(forms.Form):
    use_ours = forms.BooleanField(required=False, initial=True)
    own = forms.CharField(
        required=False,
        label="Your own destinations (optional)",
        help_text="mailto: addresses or https: URLs, one per line.",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "mailto:tls-reports@example.com"}),
    )


class HostingForm(forms.Form):
    choice = forms.ChoiceField(choices=wz.HOSTING_CHOICES, widget=forms.RadioSelect)


class MonitoringForm(forms.Form):
    interval = forms.TypedChoiceField(
        coerce=int, choices=INTERVALS, initial=60, label="Check every"
    )
    emails = forms.CharField(
        required=False,
        label="Send alerts by email to",
        help_text="Addresses separated by commas; leave empty to keep the channels you have.",
    )

    def clean_emails(self) -> list[str]:
        raw = self.cleaned_data.get("emails") or ""
        addresses = [a.strip().lower() for a in raw.replace(";", ",").split(",") if a.strip()]
        validator = forms.EmailField()
        return [validator.clean(a) for a in addresses]


# -- entry -----------------------------------------------------------------------------


@login_required
def wizard_start(request: HttpRequest) -> HttpResponse:
    """Resume the wizard in the current organization, or start with a new one."""
    membership = request.current_membership
    if membership and request.method != "POST":
        if not membership.can_write:
            raise PermissionDenied("Your role in this organization is read-only.")
        session = _session(membership.organization, request.user)
        if session.completed_at is not None:
            _start_again(session)
        return redirect("wizard_step", org_uuid=membership.organization.uuid, step=session.step)
    form = NewOrganizationForm(request.POST or None)
    invites = InviteFormSet(request.POST or None, prefix="invite")
    if request.method == "POST" and form.is_valid() and invites.is_valid():
        organization = services.organization_create(
            name=form.cleaned_data["name"], owner=request.user
        )
        request.session[SESSION_KEY] = str(organization.uuid)
        _send_invites(request, organization, invites, may_invite_owner=True)
        session = _session(organization, request.user)
        session.go_to(2)
        session.save()
        return redirect("wizard_step", org_uuid=organization.uuid, step=2)
    context = {"form": form, "invites": invites, **_progress(None, 1)}
    return render(request, "monitoring/wizard/start.html", context)


@login_required
def wizard_step(request: HttpRequest, org_uuid, step: int) -> HttpResponse:
    organization, _ = get_organization(request, org_uuid, write=True)
    if not 1 <= step <= WIZARD_STEPS:
        raise Http404("No such step.")
    session = _session(organization, request.user)
    if step > session.furthest_step:
        return redirect("wizard_step", org_uuid=organization.uuid, step=session.furthest_step)
    if session.step != step:
        session.go_to(step)
        session.save(update_fields=["step", "furthest_step", "updated_at"])
    return STEP_VIEWS[step](request, organization, session)


# -- step 1: organization and teammates ------------------------------------------------------


def _step_team(request: HttpRequest, org: Organization, session: OnboardingSession) -> HttpResponse:
    membership = request.current_membership
    may_manage = bool(membership and membership.organization_id == org.id and membership.can_manage)
    invites = InviteFormSet(request.POST or None, prefix="invite")
    if request.method == "POST":
        if may_manage and invites.is_valid():
            _send_invites(request, org, invites, may_invite_owner=membership.role == Role.OWNER)
        elif may_manage:
            return _render(request, "team", org, session, {"invites": invites, "may_manage": True})
        return _next(session, org)
    context = {
        "invites": invites,
        "may_manage": may_manage,
        "members": org.memberships.select_related("user").order_by("user__email"),
        "pending": org.invitations.filter(accepted_at__isnull=True),
    }
    return _render(request, "team", org, session, context)


def _send_invites(request, organization, invites, *, may_invite_owner: bool) -> None:
    for form in invites:
        email = form.cleaned_data.get("email")
        if not email:
            continue
        role = form.cleaned_data.get("role") or Role.MEMBER
        if role == Role.OWNER and not may_invite_owner:
            role = Role.ADMIN
        services.invitation_create(
            organization=organization, email=email, role=role, invited_by=request.user
        )
        messages.success(request, f"Invitation sent to {email}.")


# -- step 2: domains and discovery ---------------------------------------------------------


def _step_domains(request: HttpRequest, org: Organization, session: OnboardingSession):
    domains = wz.session_domains(session)
    if request.method == "POST" and request.POST.get("action") == "next":
        if not domains:
            messages.error(request, "Add at least one domain first.")
            return redirect("wizard_step", org_uuid=org.uuid, step=2)
        return _next(session, org)
    form = DomainsForm(request.POST or None, initial={"names": "\n".join(d.name for d in domains)})
    errors: list[tuple[int, str, str]] = []
    if request.method == "POST" and form.is_valid():
        chosen, errors = _add_domains(org, form.cleaned_data["names"], request.user)
        wanted = [str(d.uuid) for d in chosen][:MAX_WIZARD_DOMAINS]
        if wanted and wanted != session.data.get("domains"):
            session.data["domains"] = wanted
            # Later steps must be gone through again for the new list.
            session.furthest_step = 2
            session.save(update_fields=["data", "furthest_step", "updated_at"])
        if not errors:
            return redirect("wizard_step", org_uuid=org.uuid, step=2)
        domains = wz.session_domains(session)
    context = {"form": form, "domains": domains, "errors": errors, "limit": MAX_WIZARD_DOMAINS}
    return _render(request, "domains", org, session, context)


def _add_domains(org: Organization, text: str, user) -> tuple[list[Domain], list]:
    """Domains named in ``text``: new ones are created paused (monitoring starts at step 8)."""
    result = services.domains_create_many(organization=org, text=text, created_by=user)
    Domain.objects.filter(id__in=[d.id for d in result.created]).update(enabled=False)
    names = []
    for line in text.splitlines():
        names += [t for t in line.replace(",", " ").split() if not t.startswith("#")]
    wanted = []
    for token in names:
        try:
            wanted.append(gen.names.normalize_host(token))
        except ValueError:
            continue
    found = {d.name: d for d in Domain.objects.filter(organization=org, name__in=wanted)}
    chosen = [found[n] for n in dict.fromkeys(wanted) if n in found]
    errors = [e for e in result.errors if "already monitored" not in e[2]]
    return chosen, errors


@login_required
@require_GET
def wizard_discover(request: HttpRequest, org_uuid, domain_uuid) -> HttpResponse:
    """Check one domain now and show what it has today (loaded by htmx, one per domain)."""
    organization, _ = get_organization(request, org_uuid, write=True)
    domain = _org_domain(organization, domain_uuid)
    report = run_check(domain)
    context = {"domain": domain, "d": wz.discovery(report), "report": report}
    return render(request, "monitoring/wizard/_discovery.html", context)


def run_check(domain: Domain) -> dict:
    """Run the engine for ``domain`` now and store the outcome on its summary."""
    report = check_domain(domain.name, settings.CHECK_OPTIONS).to_dict()
    update_summary(domain, report)
    now = timezone.now()
    Domain.objects.filter(id=domain.id).update(status=report["status"], last_checked_at=now)
    return report


# -- step 3: the policy ------------------------------------------------------------------


def _step_policy(request: HttpRequest, org: Organization, session: OnboardingSession):
    domains = wz.session_domains(session)
    saved = session.data.get("policy") or {}
    form = PolicyForm(
        request.POST or None,
        initial={
            "mode": saved.get("mode", wz.DEFAULT_MODE),
            "max_age": saved.get("max_age", gen.DEFAULT_MAX_AGE),
        },
    )
    rows, problems = [], {}
    for domain in domains:
        field = f"mx-{domain.uuid}"
        typed = request.POST.get(field) if request.method == "POST" else None
        patterns = wz.parse_patterns(typed) if typed is not None else None
        if patterns is None:
            patterns = wz.initial_patterns(domain, session)
        rows.append(_policy_row(domain, field, patterns))
    if request.method == "POST" and form.is_valid():
        problems = _save_policy(session, form.cleaned_data, rows)
        if not problems:
            return _next(session, org)
        for row in rows:
            row["problem"] = problems.get(str(row["domain"].uuid))
    context = {
        "form": form,
        "rows": rows,
        "problems": problems,
        "max_age_choices": wz.MAX_AGE_CHOICES,
    }
    return _render(request, "policy", org, session, context)


def _policy_row(domain: Domain, field: str, patterns: list[str]) -> dict:
    report = wz.last_report(domain)
    hosts = wz.mx_hosts(report)
    return {
        "domain": domain,
        "field": field,
        "patterns": patterns,
        "text": "\n".join(patterns),
        "suggestions": wz.suggestions(report),
        "coverage": wz.coverage_view(hosts, patterns),
        "checked": report is not None,
    }


def _save_policy(session: OnboardingSession, data: dict, rows: list[dict]) -> dict[str, str]:
    problems, mx = {}, {}
    for row in rows:
        try:
            spec = gen.PolicySpec(mode=data["mode"], max_age=data["max_age"], mx=row["patterns"])
        except ValueError as exc:
            problems[str(row["domain"].uuid)] = str(exc)
            continue
        mx[str(row["domain"].uuid)] = list(spec.mx)
    if problems:
        return problems
    old_texts = {str(d.uuid): wz.policy_text(session, d) for d in (r["domain"] for r in rows)}
    session.data["policy"] = {"mode": data["mode"], "max_age": data["max_age"], "mx": mx}
    ids = session.data.setdefault("policy_ids", {})
    now = timezone.now()
    for row in rows:
        key = str(row["domain"].uuid)
        # A new id only when the policy text changes: the id is what tells senders to refetch.
        if key not in ids or old_texts[key] != wz.policy_text(session, row["domain"]):
            previous = ids.get(key) or wz.current_record_id(row["domain"])
            ids[key] = wz.fresh_policy_id(now, previous)
    if session.data.get("hosting") == "hosted":
        # Keep what we serve in step with the policy (the record comes after, in step 6).
        _apply_hosting([r["domain"] for r in rows], session, "hosted")
    return {}


@login_required
@require_POST
def domain_coverage(request: HttpRequest, domain_uuid) -> HttpResponse:
    """Live check of typed ``mx`` patterns against the domain's MX hosts (htmx)."""
    domain, _ = get_domain(request, domain_uuid)
    field = request.POST.get("field") or f"mx-{domain.uuid}"
    patterns = wz.parse_patterns(request.POST.get(field, ""))
    coverage = wz.coverage_view(wz.mx_hosts(wz.last_report(domain)), patterns)
    return render(request, "partials/coverage.html", {"coverage": coverage, "domain": domain})


# -- step 4: where TLS reports go ------------------------------------------------------------


def _step_reports(request: HttpRequest, org: Organization, session: OnboardingSession):
    ours = wz.our_destinations(org)
    saved = session.data.get("rua")
    own_saved = [u for u in saved or [] if u not in ours.uris]
    initial = {
        "use_ours": saved is None or any(u in ours.uris for u in saved),
        "own": "\n".join(own_saved),
    }
    form = ReportsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            rua = wz.clean_rua(form.cleaned_data["use_ours"], ours, form.cleaned_data["own"])
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            session.data["rua"] = rua
            return _next(session, org)
    return _render(request, "reports", org, session, {"form": form, "ours": ours})


# -- step 5: hosting the policy --------------------------------------------------------------


def _step_hosting(request: HttpRequest, org: Organization, session: OnboardingSession):
    domains = wz.session_domains(session)
    choices = dict(wz.HOSTING_CHOICES)
    chosen = request.POST.get("choice") or request.GET.get("choice")
    chosen = chosen if chosen in choices else session.data.get("hosting", "hosted")
    form = HostingForm(request.POST or None, initial={"choice": chosen})
    if request.method == "POST" and form.is_valid():
        failures = _apply_hosting(domains, session, form.cleaned_data["choice"])
        if not failures:
            session.data["hosting"] = form.cleaned_data["choice"]
            return _next(session, org)
        for failure in failures:
            form.add_error(None, failure)
    context = {
        "form": form,
        "chosen": chosen,
        "recipes": _recipes(domains, session, chosen),
        "target": wz.hosting_target(),
    }
    if request.htmx and request.method == "GET":
        return render(request, "monitoring/wizard/_recipes.html", {**context, "organization": org})
    return _render(request, "hosting", org, session, context)


def _recipes(domains: list[Domain], session: OnboardingSession, chosen: str) -> list[dict]:
    out = []
    for domain in domains:
        text = wz.policy_text(session, domain)
        if text is None:
            continue
        recipe = wz.recipes(domain, text)[chosen]
        out.append({"domain": domain, "recipe": recipe, "slug": chosen, "policy": text})
    return out


def _apply_hosting(domains: list[Domain], session: OnboardingSession, choice: str) -> list[str]:
    """Serve (or stop serving) each domain's policy here; names hosted elsewhere fail."""
    failures = []
    for domain in domains:
        text = wz.policy_text(session, domain)
        if choice != "hosted":
            HostedPolicy.objects.filter(domain=domain).update(enabled=False)
            continue
        try:
            with transaction.atomic():
                HostedPolicy.objects.update_or_create(
                    domain=domain,
                    defaults={
                        "policy_text": text or "",
                        "policy_id": wz.policy_id(session, domain) or "",
                        "enabled": True,
                    },
                )
        except IntegrityError:
            failures.append(
                f"mta-sts.{domain.name} is already hosted for another organization; "
                "choose a recipe to host it yourself, or ask us to move it."
            )
    return failures


@login_required
@require_GET
def wizard_download(request: HttpRequest, org_uuid, domain_uuid, slug: str, index: int):
    """One file of a hosting recipe, as an attachment."""
    organization, _ = get_organization(request, org_uuid, write=True)
    session, domain = _session_domain(request, organization, domain_uuid)
    recipe = _recipe_or_404(domain, session, slug)
    if not 0 <= index < len(recipe.files):
        raise Http404("No such file.")
    generated = recipe.files[index]
    return _attachment(generated.data, generated.filename, generated.media_type)


@login_required
@require_GET
def wizard_recipe_zip(request: HttpRequest, org_uuid, domain_uuid, slug: str) -> HttpResponse:
    """Every file of a recipe in a zip, paths kept (relative ones only)."""
    organization, _ = get_organization(request, org_uuid, write=True)
    session, domain = _session_domain(request, organization, domain_uuid)
    recipe = _recipe_or_404(domain, session, slug)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for generated in recipe.files:
            archive.writestr(generated.path.lstrip("/"), generated.data)
    return _attachment(buffer.getvalue(), f"mta-sts-{domain.name}-{slug}.zip", "application/zip")


def _recipe_or_404(domain: Domain, session: OnboardingSession, slug: str) -> gen.Recipe:
    text = wz.policy_text(session, domain)
    if text is None:
        raise Http404("Choose the policy first.")
    recipe = wz.recipes(domain, text).get(slug)
    if recipe is None:
        raise Http404("No such recipe.")
    return recipe


# -- step 6: DNS records -------------------------------------------------------------------


def _step_records(request: HttpRequest, org: Organization, session: OnboardingSession):
    if request.method == "POST":
        return _next(session, org)
    sets = _record_sets(session)
    return _render(request, "records", org, session, {"sets": sets})


def _record_sets(session: OnboardingSession) -> list[dict]:
    hosted = session.data.get("hosting") == "hosted"
    rua = session.data.get("rua") or []
    out = []
    for domain in wz.session_domains(session):
        record_id = wz.policy_id(session, domain)
        if not record_id:
            continue
        records = wz.dns_records(domain, record_id, rua, hosted)
        out.append(
            {
                "domain": domain,
                "records": records,
                "zone": gen.bind_zone_snippet(domain.name, records),
                "policy_id": record_id,
            }
        )
    return out


@login_required
@require_GET
def wizard_records_download(request: HttpRequest, org_uuid, fmt: str) -> HttpResponse:
    """The records of every wizard domain (or ``?domain=<uuid>``) as a zone snippet or sheet."""
    organization, _ = get_organization(request, org_uuid, write=True)
    session = _session(organization, request.user)
    sets = _record_sets(session)
    wanted = request.GET.get("domain")
    if wanted:
        sets = [s for s in sets if str(s["domain"].uuid) == wanted]
    if not sets:
        raise Http404("No records yet: choose the policy first.")
    if fmt == "zone":
        body = "\n".join(s["zone"] for s in sets)
        name = "mta-sts-records.zone"
    elif fmt == "txt":
        body = "\n".join(gen.records_text(s["domain"].name, s["records"]) for s in sets)
        name = "mta-sts-records.txt"
    else:
        raise Http404("Unknown format.")
    if len(sets) == 1:
        name = name.replace("mta-sts-records", f"{sets[0]['domain'].name}-records")
    return _attachment(body.encode("utf-8"), name, "text/plain; charset=utf-8")


# -- step 7: verify ----------------------------------------------------------------------


def _step_verify(request: HttpRequest, org: Organization, session: OnboardingSession):
    if request.method == "POST":
        return _next(session, org)
    return _render(request, "verify", org, session, {"domains": wz.session_domains(session)})


@login_required
@require_GET
def wizard_verify(request: HttpRequest, org_uuid, domain_uuid) -> HttpResponse:
    """Check one domain now and judge each requirement (htmx; re-run by its button)."""
    organization, _ = get_organization(request, org_uuid, write=True)
    session, domain = _session_domain(request, organization, domain_uuid)
    report = run_check(domain)
    items = wz.requirements(
        domain,
        report,
        expected_text=wz.policy_text(session, domain),
        expected_id=wz.policy_id(session, domain),
        rua=session.data.get("rua") or [],
        hosted=session.data.get("hosting") == "hosted",
    )
    context = {
        "organization": organization,
        "domain": domain,
        "items": items,
        "green": wz.all_green(items),
        "checked_at": timezone.now(),
    }
    return render(request, "monitoring/wizard/_verify.html", context)


# -- step 8: monitoring on -------------------------------------------------------------------


def _step_monitoring(request: HttpRequest, org: Organization, session: OnboardingSession):
    domains = wz.session_domains(session)
    form = MonitoringForm(request.POST or None)
    channels = list(AlertChannel.objects.filter(organization=org, enabled=True))
    if request.method == "POST" and form.is_valid():
        _monitoring_on(org, domains, form.cleaned_data)
        session.completed_at = timezone.now()
        session.save(update_fields=["completed_at", "updated_at"])
        messages.success(
            request, f"Monitoring is on for {len(domains)} domain(s). Welcome to stsguard."
        )
        return redirect("domain_list", org_uuid=org.uuid)
    context = {"form": form, "channels": channels, "channels_url": _channels_url(org)}
    return _render(request, "monitoring", org, session, context)


def _monitoring_on(org: Organization, domains: list[Domain], data: dict) -> None:
    now = timezone.now()
    Domain.objects.filter(id__in=[d.id for d in domains]).update(
        enabled=True, check_interval=timedelta(minutes=data["interval"]), next_check_at=now
    )
    if data["emails"]:
        AlertChannel.objects.create(
            organization=org,
            kind=ChannelKind.EMAIL,
            name="Email: " + ", ".join(data["emails"])[:90],
            config={"emails": data["emails"]},
        )


def _channels_url(org: Organization) -> str | None:
    for name in ("channel_list", "alert_channels", "channels"):
        try:
            return reverse(name, args=[org.uuid])
        except NoReverseMatch:
            continue
    return None


# -- helpers -----------------------------------------------------------------------------


def _start_again(session: OnboardingSession) -> None:
    """A finished wizard opened again sets up more domains; reports and hosting are kept."""
    keep = {k: v for k, v in session.data.items() if k in ("rua", "hosting")}
    session.data, session.completed_at = keep, None
    session.step = session.furthest_step = 2
    session.save()


def _session(organization: Organization, user) -> OnboardingSession:
    session, _ = OnboardingSession.objects.get_or_create(organization=organization, user=user)
    return session


def _session_domain(request, organization, domain_uuid) -> tuple[OnboardingSession, Domain]:
    session = _session(organization, request.user)
    domain = _org_domain(organization, domain_uuid)
    if str(domain.uuid) not in session.data.get("domains", []):
        raise Http404("This domain is not part of your set-up.")
    return session, domain


def _org_domain(organization: Organization, domain_uuid) -> Domain:
    domain = (
        Domain.objects.filter(organization=organization, uuid=domain_uuid)
        .select_related("organization")
        .first()
    )
    if domain is None:
        raise Http404("No such domain.")
    return domain


def _next(session: OnboardingSession, org: Organization) -> HttpResponse:
    session.go_to(session.step + 1)
    session.save()
    return redirect("wizard_step", org_uuid=org.uuid, step=session.step)


def _progress(session: OnboardingSession | None, current: int) -> dict:
    furthest = session.furthest_step if session else 1
    return {
        "steps": wz.STEPS,
        "current": wz.step_by_number(current),
        "furthest": furthest,
        "percent": round(100 * (current - 1) / (WIZARD_STEPS - 1)),
        "nav": "wizard",
    }


def _render(request, slug: str, org: Organization, session: OnboardingSession, context: dict):
    step = next(s for s in wz.STEPS if s.slug == slug)
    full = {"organization": org, "session": session, **_progress(session, step.number), **context}
    return render(request, f"monitoring/wizard/step_{slug}.html", full)


def _attachment(data: bytes, filename: str, media_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=media_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


STEP_VIEWS: dict[int, Callable[..., HttpResponse]] = {
    1: _step_team,
    2: _step_domains,
    3: _step_policy,
    4: _step_reports,
    5: _step_hosting,
    6: _step_records,
    7: _step_verify,
    8: _step_monitoring,
}
