"""Report actions that change something: upload, re-parse, addresses, IMAP mailbox."""

from __future__ import annotations

import mailbox
import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from monitoring.access import get_domain, get_organization, membership_for
from reports import ingest
from reports.forms import ImapMailboxForm, UploadForm
from reports.models import ImapMailbox, RawKind, ReportEndpoint, Source, new_token
from reports.views.common import get_raw, render_page


def split_upload(name: str, data: bytes) -> list[tuple[str, bytes, str | None]]:
    """(name, bytes, kind) per input; an ``.mbox`` file gives one per message."""
    if not name.lower().endswith(".mbox"):
        return [(name, data, None)]
    with tempfile.NamedTemporaryFile(suffix=".mbox") as handle:
        handle.write(data)
        handle.flush()
        box = mailbox.mbox(handle.name, create=False)
        try:
            return [
                (f"{name}#{index + 1}", box.get_bytes(key), RawKind.MESSAGE)
                for index, key in enumerate(box.keys())
            ]
        finally:
            box.close()


@login_required
def upload(request: HttpRequest, org_uuid) -> HttpResponse:
    """Upload several report files; each is stored, then parsed by a worker."""
    organization, _ = get_organization(request, org_uuid, write=True)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        stored = 0
        with transaction.atomic():
            for uploaded in form.cleaned_data["files"]:
                data = uploaded.read(settings.TLSRPT_MAX_MESSAGE + 1)
                for name, part, kind in split_upload(uploaded.name, data):
                    ingest.store_raw(
                        organization=organization,
                        data=part,
                        source=Source.UPLOAD,
                        filename=name,
                        content_type=uploaded.content_type or "",
                        kind=kind,
                    )
                    stored += 1
        messages.success(request, f"Stored {stored} input(s); they are being parsed.")
        return redirect("report_raw_list", org_uuid=organization.uuid)
    return render_page(request, "reports/upload.html", {"organization": organization, "form": form})


@login_required
@require_POST
def reparse(request: HttpRequest, raw_uuid) -> HttpResponse:
    """Parse a stored input again now (after a parser fix, or to retry an error)."""
    raw, _ = get_raw(request, raw_uuid, write=True)
    outcome = ingest.parse_raw(raw.id)
    status = outcome.raw.get_status_display() if outcome else "gone"
    messages.info(request, f"Parsed again: {status}.")
    return redirect("report_raw_detail", raw_uuid=raw.uuid)


@login_required
def setup(request: HttpRequest, org_uuid) -> HttpResponse:
    """Where senders send reports (URL, mail address, TXT record) and the IMAP mailbox."""
    organization, can_write = get_organization(request, org_uuid)
    membership = membership_for(request, organization.id)
    can_manage = bool(membership and membership.can_manage)
    endpoint = ingest.endpoint_for(organization)
    mailbox_row = ImapMailbox.objects.filter(organization=organization).first()
    form = ImapMailboxForm(instance=mailbox_row or ImapMailbox(organization=organization))
    context = {
        "organization": organization,
        "can_write": can_write,
        "can_manage": can_manage,
        "endpoint": endpoint,
        "https_url": settings.SITE_URL + endpoint.https_path,
        "domain_endpoints": ReportEndpoint.objects.filter(
            organization=organization, domain__isnull=False
        ).select_related("domain"),
        "mailbox": mailbox_row,
        "form": form,
        "site_url": settings.SITE_URL,
    }
    return render_page(request, "reports/setup.html", context)


@login_required
@require_POST
def rotate_token(request: HttpRequest, org_uuid) -> HttpResponse:
    """Give the organization a new report address; the old one stops working at once."""
    organization, _ = get_organization(request, org_uuid, manage=True)
    endpoint = ingest.endpoint_for(organization)
    ReportEndpoint.objects.filter(id=endpoint.id).update(token=new_token())
    messages.success(request, "New report address made; update your _smtp._tls records.")
    return redirect("report_setup", org_uuid=organization.uuid)


@login_required
@require_POST
def domain_endpoint(request: HttpRequest, domain_uuid) -> HttpResponse:
    """Create (or renew) a report address used by one domain only."""
    domain, _ = get_domain(request, domain_uuid, write=True)
    endpoint, created = ReportEndpoint.objects.get_or_create(
        domain=domain, defaults={"organization_id": domain.organization_id}
    )
    if not created:
        ReportEndpoint.objects.filter(id=endpoint.id).update(token=new_token())
    messages.success(request, f"Report address for {domain.name} is ready.")
    return redirect("domain_reports", domain_uuid=domain.uuid)


@login_required
def imap_settings(request: HttpRequest, org_uuid) -> HttpResponse:
    """Save the IMAP mailbox settings (owners and admins: they hold a password)."""
    organization, _ = get_organization(request, org_uuid, manage=True)
    if request.method != "POST":
        return redirect("report_setup", org_uuid=organization.uuid)
    instance = ImapMailbox.objects.filter(organization=organization).first()
    form = ImapMailboxForm(
        request.POST, instance=instance or ImapMailbox(organization=organization)
    )
    if form.is_valid():
        form.save()
        messages.success(request, "Mailbox saved; it is polled every few minutes.")
        return redirect("report_setup", org_uuid=organization.uuid)
    endpoint = ingest.endpoint_for(organization)
    context = {
        "organization": organization,
        "can_write": True,
        "can_manage": True,
        "endpoint": endpoint,
        "https_url": settings.SITE_URL + endpoint.https_path,
        "domain_endpoints": [],
        "mailbox": instance,
        "form": form,
        "site_url": settings.SITE_URL,
    }
    return render_page(request, "reports/setup.html", context, status=400)
