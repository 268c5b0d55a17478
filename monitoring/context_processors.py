from __future__ import annotations

from django.http import HttpRequest

from monitoring.models import Membership


def organizations(request: HttpRequest) -> dict:
    """The user's organizations and the current one, for the navigation bar."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = request.current_membership
    return {
        "current_membership": membership if membership else None,
        "current_organization": membership.organization if membership else None,
        "my_memberships": Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name"),
    }
