"""Microsoft Teams: an incoming-webhook (or Workflows) message carrying an Adaptive Card."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from monitoring.alerts import messages
from monitoring.alerts.base import HttpTransport


class TeamsTransport(HttpTransport):
    """``config = {"url": "https://<tenant>.webhook.office.com/..."}``."""

    kind: ClassVar[str] = "teams"

    def send(self, payload: dict[str, Any]) -> None:
        self.post(json.dumps(teams_message(payload)).encode(), {})


def teams_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The message envelope Teams webhooks and Workflows accept, with one Adaptive Card."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": messages.headline(payload),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": "Good" if payload.get("event") == "resolved" else _colour(payload),
        }
    ]
    if payload.get("event") == "digest":
        body += [
            {"type": "TextBlock", "text": f"- {item}", "wrap": True}
            for item in payload.get("items", [])
        ]
    else:
        facts = [
            {"title": label, "value": str(payload[key])}
            for label, key in (
                ("Domain", "domain"),
                ("Severity", "severity"),
                ("Finding", "code"),
                ("About", "subject"),
                ("Seen", "message"),
                ("Fix", "hint"),
            )
            if payload.get(key)
        ]
        body.append({"type": "FactSet", "facts": facts})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if payload.get("url"):
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open in stsguard", "url": payload["url"]}
        ]
    return {
        "type": "message",
        "summary": messages.headline(payload)[:200],
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def _colour(payload: dict[str, Any]) -> str:
    return {"error": "Attention", "warning": "Warning"}.get(str(payload.get("severity")), "Default")
