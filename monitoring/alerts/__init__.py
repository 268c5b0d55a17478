"""Alert channels: one module per kind (email, slack, teams, webhook) over a common base.

``transport_for(channel)`` gives the sender for a stored ``AlertChannel``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitoring.alerts.base import Transport, TransportError

if TYPE_CHECKING:
    from monitoring.models import AlertChannel


def transport_classes() -> dict[str, type[Transport]]:
    """Every channel kind and its transport class."""
    from monitoring.alerts.email import EmailTransport
    from monitoring.alerts.slack import SlackTransport
    from monitoring.alerts.teams import TeamsTransport
    from monitoring.alerts.webhook import WebhookTransport

    return {t.kind: t for t in (EmailTransport, SlackTransport, TeamsTransport, WebhookTransport)}


def transport_for(channel: AlertChannel) -> Transport:
    """The sender for ``channel``; TransportError(permanent) for an unknown kind."""
    cls = transport_classes().get(channel.kind)
    if cls is None:
        raise TransportError(f"unknown channel kind {channel.kind!r}", permanent=True)
    return cls(channel)


__all__ = ["Transport", "TransportError", "transport_classes", "transport_for"]
