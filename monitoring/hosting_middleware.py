"""Serve hosted MTA-STS policies for ``mta-sts.<domain>`` Host names, before anything else.

Hosted host names are whatever our customers' domains are, so they can never be listed in
``ALLOWED_HOSTS``. This middleware sits first in ``MIDDLEWARE``: it validates the Host
header itself, answers the policy URL of a hosted name with the exact bytes (never a
redirect: it runs before ``SecurityMiddleware`` and ``CommonMiddleware`` could send one),
and answers Caddy's on-demand-TLS question, which arrives with Caddy's own Host header.
Every other request goes on to Django untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from monitoring.checks.names import normalize_domain
from monitoring.models.hosted import POLICY_HOST_PREFIX, HostedPolicy

POLICY_PATH = "/.well-known/mta-sts.txt"
ASK_PATH = "/internal/tls-ask"
POLICY_CONTENT_TYPE = "text/plain; charset=utf-8"


def hosted_host(raw_host: str) -> str | None:
    """The normalised ``mta-sts.`` host name in a Host header, or None if it is not one."""
    host = raw_host.strip().lower()
    if host.startswith("["):
        return None  # an IPv6 literal is never a hosted name
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if not host.startswith(POLICY_HOST_PREFIX):
        return None
    try:
        name = normalize_domain(host)
    except ValueError:
        return None
    return name if name.startswith(POLICY_HOST_PREFIX) and name.count(".") >= 2 else None


def enabled_policy(host: str) -> HostedPolicy | None:
    return HostedPolicy.objects.filter(host=host, enabled=True).only("policy_text").first()


def policy_response(request: HttpRequest, host: str) -> HttpResponse:
    """The policy of ``host``: 200 with its bytes, 404 when not hosted, 405 for a POST."""
    if request.path != POLICY_PATH:
        return _not_found()
    policy = enabled_policy(host)
    if policy is None:
        return _not_found()
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405, content_type=POLICY_CONTENT_TYPE)
        response["Allow"] = "GET, HEAD"
        return response
    body = policy.policy_bytes
    response = HttpResponse(b"" if request.method == "HEAD" else body)
    response["Content-Type"] = POLICY_CONTENT_TYPE
    response["Content-Length"] = str(len(body))
    # Senders cache by the record id, not HTTP; a short lifetime keeps edits quick.
    response["Cache-Control"] = "max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def ask_response(request: HttpRequest) -> HttpResponse:
    """Caddy's on-demand TLS check: 200 only when ``?domain=`` is a hosted policy host."""
    host = hosted_host(request.GET.get("domain", ""))
    if host is None or not HostedPolicy.objects.filter(host=host, enabled=True).exists():
        return _not_found()
    return HttpResponse(b"ok\n", content_type=POLICY_CONTENT_TYPE)


def _not_found() -> HttpResponse:
    return HttpResponse(b"Not found\n", status=404, content_type=POLICY_CONTENT_TYPE)


class HostedPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == ASK_PATH:
            return ask_response(request)
        host = hosted_host(request.META.get("HTTP_HOST", ""))
        if host is not None:
            # A hosted name only ever serves its policy: nothing else of the app is reachable.
            return policy_response(request, host)
        return self.get_response(request)
