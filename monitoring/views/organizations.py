"""Organizations: create, switch, members and invitations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from monitoring import services
from monitoring.access import get_organization, membership_for
from monitoring.forms import InvitationForm, OrganizationForm
from monitoring.middleware import SESSION_KEY
from monitoring.models import Invitation, Membership, Role


@login_required
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(
            name=form.cleaned_data["name"], owner=request.user
        )
        request.session[SESSION_KEY] = str(organization.uuid)
        messages.success(request, f"Created {organization.name}.")
        return redirect("domain_list", org_uuid=organization.uuid)
    return render(request, "monitoring/organization_create.html", {"form": form})


@login_required
@require_POST
def organization_switch(request: HttpRequest, org_uuid) -> HttpResponse:
    organization, _ = get_organization(request, org_uuid)
    request.session[SESSION_KEY] = str(organization.uuid)
    return redirect("domain_list", org_uuid=organization.uuid)


@login_required
def members(request: HttpRequest, org_uuid) -> HttpResponse:
    organization, can_write = get_organization(request, org_uuid)
    membership = membership_for(request, organization.id)
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        if not membership.can_manage:
            raise PermissionDenied("Only owners and admins may invite people.")
        if form.is_valid():
            role = form.cleaned_data["role"]
            if role == Role.OWNER and membership.role != Role.OWNER:
                raise PermissionDenied("Only an owner may invite another owner.")
            invitation = services.invitation_create(
                organization=organization,
                email=form.cleaned_data["email"],
                role=role,
                invited_by=request.user,
            )
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("members", org_uuid=organization.uuid)
    context = {
        "organization": organization,
        "membership": membership,
        "members": organization.memberships.select_related("user").order_by("user__email"),
        "invitations": organization.invitations.filter(accepted_at__isnull=True),
        "form": form,
        "can_write": can_write,
    }
    return render(request, "monitoring/members.html", context)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, org_uuid, invitation_uuid) -> HttpResponse:
    organization, _ = get_organization(request, org_uuid, manage=True)
    invitation = get_object_or_404(
        Invitation, uuid=invitation_uuid, organization=organization, accepted_at__isnull=True
    )
    invitation.delete()
    messages.success(request, f"Invitation to {invitation.email} revoked.")
    return redirect("members", org_uuid=organization.uuid)


@login_required
@require_POST
def member_remove(request: HttpRequest, org_uuid, membership_id: int) -> HttpResponse:
    organization, _ = get_organization(request, org_uuid, manage=True)
    target = get_object_or_404(Membership, id=membership_id, organization=organization)
    owners = organization.memberships.filter(role=Role.OWNER)
    if target.role == Role.OWNER and owners.count() == 1:
        messages.error(request, "An organization needs at least one owner.")
    else:
        target.delete()
        messages.success(request, f"Removed {target.user.email}.")
    return redirect("members", org_uuid=organization.uuid)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = Invitation.objects.select_related("organization").filter(token=token).first()
    if not request.user.is_authenticated:
        # New people sign up first, existing ones log in; both come back here.
        if invitation is None or not invitation.is_pending:
            return render(request, "monitoring/invitation_invalid.html", status=410)
        return render(request, "monitoring/invitation_landing.html", {"invitation": invitation})
    if request.method != "POST":
        if invitation is None:
            return render(request, "monitoring/invitation_invalid.html", status=410)
        return render(request, "monitoring/invitation_confirm.html", {"invitation": invitation})
    try:
        membership = services.invitation_accept(token=token, user=request.user)
    except services.InvitationError as exc:
        return render(
            request, "monitoring/invitation_invalid.html", {"reason": str(exc)}, status=410
        )
    request.session[SESSION_KEY] = str(membership.organization.uuid)
    messages.success(request, f"You joined {membership.organization.name}.")
    return redirect("domain_list", org_uuid=membership.organization.uuid)
