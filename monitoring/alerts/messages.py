"""Words shared by every channel: the headline and labels of a notification payload.

Every payload (see ``monitoring.alerting``) has ``event``, ``severity``, ``domain``,
``code``, ``subject``, ``message`` (what was seen), ``hint`` (how to fix) and ``url``;
a digest adds ``items`` (one line each) and ``period``.
"""

from __future__ import annotations

from typing import Any

from monitoring.checks.findings import CATALOGUE

EVENT_LABELS = {
    "opened": "Problem",
    "resolved": "Resolved",
    "reminder": "Still open",
    "expiry": "Certificate expiring",
    "digest": "Daily digest",
    "test": "Test",
}
SEVERITY_EMOJI = {
    "error": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":information_source:",
}
SEVERITY_COLOURS = {"error": "#d1242f", "warning": "#bf8700", "info": "#0969da", "ok": "#1a7f37"}


def title_of(payload: dict[str, Any]) -> str:
    """The finding's catalogue title, else its code (e.g. TLSRPT codes from issue 5)."""
    spec = CATALOGUE.get(str(payload.get("code", "")))
    return spec.title if spec else str(payload.get("title") or payload.get("code") or "")


def headline(payload: dict[str, Any]) -> str:
    """One line: "[Problem] example.com: Policy changed without a new id"."""
    event = str(payload.get("event", ""))
    label = EVENT_LABELS.get(event, event.title())
    if event == "digest":
        return (
            f"[{label}] {payload.get('organization', '')}: {len(payload.get('items', []))} changes"
        )
    if event == "test":
        return f"[{label}] stsguard test message for {payload.get('channel', 'this channel')}"
    return f"[{label}] {payload.get('domain', '')}: {title_of(payload)}"


def colour_of(payload: dict[str, Any]) -> str:
    if payload.get("event") == "resolved":
        return SEVERITY_COLOURS["ok"]
    return SEVERITY_COLOURS.get(str(payload.get("severity", "")), SEVERITY_COLOURS["info"])


def text_lines(payload: dict[str, Any]) -> list[str]:
    """The body as plain lines, for email text parts and chat fallbacks."""
    lines = [headline(payload), ""]
    if payload.get("event") == "digest":
        lines += [f"- {item}" for item in payload.get("items", [])]
    else:
        for label, key in (
            ("Domain", "domain"),
            ("Severity", "severity"),
            ("Finding", "code"),
            ("About", "subject"),
            ("Seen", "message"),
            ("Fix", "hint"),
        ):
            if payload.get(key):
                lines.append(f"{label}: {payload[key]}")
    if payload.get("url"):
        lines += ["", str(payload["url"])]
    return lines
