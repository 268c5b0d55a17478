"""The SMTP receiver (aiosmtpd): mail to ``<token>@<REPORT_MAIL_DOMAIN>`` is a report.

Unknown addresses are refused at RCPT with 550, so nothing is stored for them; a message
over ``TLSRPT_MAX_MESSAGE`` is refused during DATA with 552 by aiosmtpd itself (and the
limit is advertised with SIZE). An accepted message is stored whole, once per
organization it was addressed to, before the 250 is sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from reports import ingest
from reports.models import RawKind, ReportEndpoint, Source

log = logging.getLogger(__name__)


def find_endpoint(address: str, mail_domain: str) -> ReportEndpoint | None:
    """The endpoint a recipient address names, or None (wrong domain, unknown token)."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at or domain.lower().rstrip(".") != mail_domain or not local:
        return None
    close_old_connections()
    return ReportEndpoint.objects.select_related("organization").filter(token=local.lower()).first()


def store_message(
    endpoints: list[ReportEndpoint], data: bytes, envelope_facts: dict[str, str]
) -> list[str]:
    """Store the message once per organization; returns the raw uuids."""
    close_old_connections()
    stored: list[str] = []
    seen: set[int] = set()
    for endpoint in endpoints:
        if endpoint.organization_id in seen:
            continue
        seen.add(endpoint.organization_id)
        raw = ingest.store_raw(
            organization=endpoint.organization,
            endpoint=endpoint,
            data=data,
            source=Source.SMTP,
            kind=RawKind.MESSAGE,
            headers=dict(envelope_facts),
        )
        stored.append(str(raw.uuid))
    return stored


@dataclass
class ReportHandler:
    """aiosmtpd handler; DB work runs in a worker thread, off the event loop."""

    mail_domain: str

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ) -> str:
        endpoint = await sync_to_async(find_endpoint, thread_sensitive=False)(
            address, self.mail_domain
        )
        if endpoint is None:
            return "550 5.1.1 No such report address here"
        endpoints = getattr(envelope, "report_endpoints", [])
        endpoints.append(endpoint)
        envelope.report_endpoints = endpoints  # type: ignore[attr-defined]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        facts = {
            "Envelope-From": str(envelope.mail_from or "")[:255],
            "Envelope-To": ", ".join(envelope.rcpt_tos)[:1000],
            "Peer": str(session.peer[0]) if session.peer else "",
            "HELO": str(session.host_name or "")[:255],
        }
        try:
            stored = await sync_to_async(store_message, thread_sensitive=False)(
                getattr(envelope, "report_endpoints", []), data, facts
            )
        except Exception:
            log.exception("tlsrpt smtp: storing a message failed")
            return "451 4.3.0 Could not store the message, try again later"
        log.info("tlsrpt smtp: stored %d bytes as %s", len(data), ", ".join(stored))
        return "250 2.0.0 Report stored"


def build_controller(
    host: str | None = None, port: int | None = None, mail_domain: str | None = None
) -> Controller:
    """A Controller (not started) for the receiver with the settings' limits."""
    handler = ReportHandler(mail_domain=(mail_domain or settings.REPORT_MAIL_DOMAIN).lower())
    return Controller(
        handler,
        hostname=host or settings.REPORT_SMTP_HOST,
        port=port if port is not None else settings.REPORT_SMTP_PORT,
        data_size_limit=settings.TLSRPT_MAX_MESSAGE,
        decode_data=False,
        server_hostname=settings.REPORT_MAIL_DOMAIN,
        ident="stsguard TLSRPT receiver",
    )
