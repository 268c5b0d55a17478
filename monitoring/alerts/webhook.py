"""Generic webhook: the payload as JSON, signed with HMAC-SHA256 over timestamp and body.

Headers: ``X-Stsguard-Timestamp`` (Unix seconds), ``X-Stsguard-Signature``
(``sha256=<hex of HMAC(secret, "<timestamp>.<body>")>``), ``X-Stsguard-Event`` and
``X-Stsguard-Delivery`` (the notification's UUID, the same on every retry so a receiver
can drop duplicates). Signing the timestamp lets receivers refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

from monitoring.alerts.base import HttpTransport

SIGNATURE_HEADER = "X-Stsguard-Signature"
TIMESTAMP_HEADER = "X-Stsguard-Timestamp"


class WebhookTransport(HttpTransport):
    """``config = {"url": "https://hooks.example.com/stsguard"}``; the secret is on the row."""

    kind: ClassVar[str] = "webhook"

    def send(self, payload: dict[str, Any]) -> None:
        body = json.dumps({"version": 1, **payload}, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.channel.secret, timestamp, body),
            "X-Stsguard-Event": str(payload.get("event", "")),
            "X-Stsguard-Delivery": str(payload.get("delivery", "")),
        }
        self.post(body, headers)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
