"""Email: one message with a text and an HTML part, through Django's configured mail backend."""

from __future__ import annotations

import smtplib
from typing import Any, ClassVar

from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from monitoring.alerts import messages
from monitoring.alerts.base import Transport, TransportError


class EmailTransport(Transport):
    """``config = {"emails": ["ops@example.com", ...]}``."""

    kind: ClassVar[str] = "email"

    def send(self, payload: dict[str, Any]) -> None:
        recipients = [str(a) for a in self.config.get("emails", []) if a]
        if not recipients:
            raise TransportError("the channel has no addresses", permanent=True)
        context = {
            "p": payload,
            "headline": messages.headline(payload),
            "title": messages.title_of(payload),
            "colour": messages.colour_of(payload),
            "lines": messages.text_lines(payload),
        }
        message = EmailMultiAlternatives(
            subject=messages.headline(payload)[:200],
            body=render_to_string("monitoring/emails/alert.txt", context),
            to=recipients,
            headers={"X-Stsguard-Event": str(payload.get("event", ""))},
        )
        message.attach_alternative(
            render_to_string("monitoring/emails/alert.html", context), "text/html"
        )
        try:
            get_connection(fail_silently=False).send_messages([message])
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(
                f"every recipient was refused: {exc.recipients}", permanent=True
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx: the server will never take it as it is; 4xx: try again later.
            text = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            raise TransportError(text, permanent=exc.smtp_code >= 500) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"mail server unavailable: {exc!r}") from exc
