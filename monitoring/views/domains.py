"""Domains of an organization: add one, add many, delete (the list is the dashboard)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from monitoring import services
from monitoring.access import get_domain, get_organization
from monitoring.forms import BulkDomainForm, DomainForm


@login_required
def domain_add(request: HttpRequest, org_uuid) -> HttpResponse:
    organization, _ = get_organization(request, org_uuid, write=True)
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = services.domain_create(
                organization=organization, name=form.cleaned_data["name"], created_by=request.user
            )
        except ValueError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Added {domain.name}; its first check is queued.")
            return redirect("domain_list", org_uuid=organization.uuid)
    return render(
        request, "monitoring/domain_add.html", {"organization": organization, "form": form}
    )


@login_required
def domain_add_many(request: HttpRequest, org_uuid) -> HttpResponse:
    organization, _ = get_organization(request, org_uuid, write=True)
    form = BulkDomainForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = services.domains_create_many(
            organization=organization, text=form.cleaned_data["names"], created_by=request.user
        )
        if result.created:
            messages.success(request, f"Added {len(result.created)} domain(s).")
        if not result.errors:
            return redirect("domain_list", org_uuid=organization.uuid)
        # Keep only the bad lines in the box so they can be fixed and sent again.
        form = BulkDomainForm(initial={"names": "\n".join(token for _, token, _ in result.errors)})
    context = {"organization": organization, "form": form, "result": result}
    return render(request, "monitoring/domain_add_many.html", context)


@login_required
def domain_delete(request: HttpRequest, domain_uuid) -> HttpResponse:
    domain, can_write = get_domain(request, domain_uuid)
    if not can_write:
        raise PermissionDenied("Your role in this organization is read-only.")
    if request.method == "POST":
        organization = domain.organization
        domain.delete()
        messages.success(request, f"Stopped monitoring {domain.name}.")
        return redirect("domain_list", org_uuid=organization.uuid)
    return render(request, "monitoring/domain_confirm_delete.html", {"domain": domain})


@login_required
@require_POST
def domain_toggle(request: HttpRequest, domain_uuid) -> HttpResponse:
    domain, _ = get_domain(request, domain_uuid, write=True)
    domain.enabled = not domain.enabled
    domain.save(update_fields=["enabled"])
    return redirect("domain_list", org_uuid=domain.organization.uuid)
