"""Slack: an incoming-webhook message in Block Kit (domain, finding, value seen, fix)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from monitoring.alerts import messages
from monitoring.alerts.base import HttpTransport

MAX_TEXT = 2900  # Slack refuses section text over 3000 characters


class SlackTransport(HttpTransport):
    """``config = {"url": "https://hooks.slack.com/services/..."}``."""

    kind: ClassVar[str] = "slack"

    def send(self, payload: dict[str, Any]) -> None:
        self.post(json.dumps(slack_message(payload)).encode(), {})


def slack_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The Block Kit body; ``text`` is the fallback shown in notifications."""
    headline = messages.headline(payload)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
    ]
    if payload.get("event") == "digest":
        items = "\n".join(f"• {item}" for item in payload.get("items", []))
        blocks.append(_section(items or "Nothing changed."))
    else:
        emoji = messages.SEVERITY_EMOJI.get(str(payload.get("severity")), "")
        blocks.append(
            {
                "type": "section",
                "fields": [
                    _mrkdwn(f"*Domain*\n{payload.get('domain', '')}"),
                    _mrkdwn(f"*Severity*\n{emoji} {payload.get('severity', '')}"),
                    _mrkdwn(f"*Finding*\n`{payload.get('code', '')}`"),
                    _mrkdwn(f"*About*\n{payload.get('subject', '') or '-'}"),
                ],
            }
        )
        if payload.get("message"):
            blocks.append(_section(f"*Seen:* {payload['message']}"))
        if payload.get("hint") and payload.get("event") != "resolved":
            blocks.append(_section(f"*Fix:* {payload['hint']}"))
    if payload.get("url"):
        blocks.append(
            {"type": "context", "elements": [_mrkdwn(f"<{payload['url']}|Open in stsguard>")]}
        )
    return {"text": headline, "blocks": blocks}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text[:MAX_TEXT]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}
