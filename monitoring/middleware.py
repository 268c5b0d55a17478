"""Remember which of a user's organizations they are working in."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from monitoring.models import Membership

SESSION_KEY = "current_org"


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership the user last switched to, or their first one."""
    if not request.user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=request.user).select_related("organization")
    wanted = request.session.get(SESSION_KEY)
    if wanted:
        chosen = memberships.filter(organization__uuid=wanted).first()
        if chosen is not None:
            return chosen
    return memberships.order_by("organization__name").first()


class CurrentOrganizationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.current_membership = SimpleLazyObject(lambda: current_membership(request))
        return self.get_response(request)
