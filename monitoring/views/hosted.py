"""Hosted policies seen from the app: the Caddy "ask" endpoint and the policy preview.

The public answers are given by ``monitoring.hosting_middleware`` before Django's host
checks; these views give the same answers when the request reaches the URL resolver
(e.g. the ask endpoint called with an allowed Host).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from monitoring.access import get_domain
from monitoring.hosting_middleware import POLICY_CONTENT_TYPE, ask_response


@require_GET
def tls_ask(request: HttpRequest) -> HttpResponse:
    return ask_response(request)


@login_required
@require_GET
def hosted_policy_preview(request: HttpRequest, domain_uuid) -> HttpResponse:
    """The exact bytes we serve for a hosted domain, for members to look at."""
    domain, _ = get_domain(request, domain_uuid)
    policy = getattr(domain, "hosted_policy", None)
    if policy is None:
        raise Http404("This domain's policy is not hosted here.")
    return HttpResponse(policy.policy_bytes, content_type=POLICY_CONTENT_TYPE)
