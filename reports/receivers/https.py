"""``POST /tlsrpt/<token>/``: the HTTPS receiver of RFC 8460 section 3 (``rua=https:``).

Answers 201 as soon as the body is stored; parsing runs in a task. The body is read
from the request stream up to the limit plus one byte, never through ``request.body``
(which would apply DATA_UPLOAD_MAX_MEMORY_SIZE and refuse reports over 2.5 MB).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reports import ingest
from reports.models import ReportEndpoint, Source
from reports.receivers import ratelimit

log = logging.getLogger(__name__)

ACCEPTED_TYPES = frozenset(
    {
        "application/tlsrpt+gzip",
        "application/tlsrpt+json",
        # Leniently: what senders actually send.
        "application/gzip",
        "application/x-gzip",
        "application/json",
        "application/octet-stream",
    }
)


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@csrf_exempt
@require_POST
def receive(request: HttpRequest, token: str) -> HttpResponse:
    """Store one report body for the endpoint's organization; 201 with the raw id."""
    endpoint = (
        ReportEndpoint.objects.select_related("organization", "domain").filter(token=token).first()
    )
    if endpoint is None:
        return _error(404, "unknown report address")
    window = settings.TLSRPT_RATE_WINDOW
    if not ratelimit.hit("tlsrpt", token, limit=settings.TLSRPT_RATE_LIMIT, window=window):
        return _error(
            429, "too many reports", **{"Retry-After": str(ratelimit.retry_after(window))}
        )
    content_type = request.META.get("CONTENT_TYPE", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_TYPES:
        return _error(415, "send application/tlsrpt+gzip or application/tlsrpt+json")
    limit = settings.TLSRPT_MAX_COMPRESSED
    declared = request.META.get("CONTENT_LENGTH") or ""
    if not declared.isdigit():
        # Without a length Django's stream reads nothing (chunked uploads): say so.
        return _error(411, "a Content-Length is required")
    if int(declared) > limit:
        return _error(413, f"the limit is {limit} bytes")
    data = request.read(limit + 1)
    if len(data) > limit:
        return _error(413, f"the limit is {limit} bytes")
    if not data:
        return _error(400, "empty body")
    raw = ingest.store_raw(
        organization=endpoint.organization,
        endpoint=endpoint,
        data=data,
        source=Source.HTTPS,
        content_type=content_type,
        headers={
            "Content-Type": content_type[:255],
            "Remote-Addr": request.META.get("REMOTE_ADDR", ""),
            "User-Agent": request.META.get("HTTP_USER_AGENT", "")[:255],
        },
        kind="body",
    )
    log.info("tlsrpt: stored %d bytes by HTTPS as raw %s", len(data), raw.uuid)
    return JsonResponse({"id": str(raw.uuid), "status": "accepted"}, status=201)
