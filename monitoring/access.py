"""Who may see and change what. Helpers return the object and whether the user may write.

A user who is not a member gets a 404, so nothing leaks about other organizations; a member
whose role is read-only gets a 403 on any write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404

from monitoring.models import Domain, Membership, Organization

if TYPE_CHECKING:
    from django.http import HttpRequest


def membership_for(request: HttpRequest, organization_id: int) -> Membership | None:
    """The request user's membership in an organization, cached on the request."""
    if not request.user.is_authenticated:
        return None
    cache: dict[int, Membership | None] = request.__dict__.setdefault("_memberships", {})
    if organization_id not in cache:
        cache[organization_id] = (
            Membership.objects.filter(user=request.user, organization_id=organization_id)
            .select_related("organization")
            .first()
        )
    return cache[organization_id]


def _authorise(membership: Membership | None, *, write: bool, manage: bool) -> bool:
    if membership is None:
        raise Http404("No such organization.")
    if manage and not membership.can_manage:
        raise PermissionDenied("Only owners and admins may do this.")
    if write and not membership.can_write:
        raise PermissionDenied("Your role in this organization is read-only.")
    return membership.can_write


def get_organization(
    request: HttpRequest, org_uuid: UUID | str, *, write: bool = False, manage: bool = False
) -> tuple[Organization, bool]:
    """The organization with ``org_uuid`` if the user belongs to it, and whether they may write."""
    organization = Organization.objects.filter(uuid=org_uuid).first()
    if organization is None:
        raise Http404("No such organization.")
    can_write = _authorise(membership_for(request, organization.id), write=write, manage=manage)
    return organization, can_write


def get_domain(
    request: HttpRequest, domain_uuid: UUID | str, *, write: bool = False
) -> tuple[Domain, bool]:
    """The domain with ``domain_uuid`` if the user belongs to its organization, and write access."""
    domain = Domain.objects.select_related("organization").filter(uuid=domain_uuid).first()
    if domain is None:
        raise Http404("No such domain.")
    can_write = _authorise(
        membership_for(request, domain.organization_id), write=write, manage=False
    )
    return domain, can_write
