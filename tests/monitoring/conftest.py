"""Fixtures for monitoring tests: real local receivers for every channel kind, and the lab."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from monitoring.models import AlertChannel, ChannelKind, Organization


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """An HTTP server on loopback that records every POST and answers scripted statuses."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    # path -> statuses to answer, first one first; when empty, 200.
    script: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def answer(self, path: str) -> int:
        with self.lock:
            queue = self.script.get(path) or []
            return queue.pop(0) if queue else 200


def _handler(receiver_ref: list[HttpReceiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = receiver_ref[0]
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = receiver.answer(self.path)
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            reply = b"ok" if status < 400 else b"no_service"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    ref: list[HttpReceiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    receiver = HttpReceiver(server)
    ref.append(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


class _Inbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@dataclass
class SmtpReceiver:
    host: str
    port: int
    inbox: _Inbox

    @property
    def messages(self) -> list[Message]:
        with self.inbox.lock:
            return list(self.inbox.messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpReceiver("127.0.0.1", controller.port, inbox)
    finally:
        controller.stop()


@pytest.fixture
def alert_settings(settings, smtp_receiver):
    """Channels may target loopback; mail goes to the local SMTP receiver; fast retries."""
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
    settings.ALERTS_RETRY_BASE_SECONDS = 0
    settings.ALERTS_HTTP_TIMEOUT = 5
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_receiver.host
    settings.EMAIL_PORT = smtp_receiver.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.SITE_URL = "https://stsguard.test"
    return settings


def make_channels(
    org: Organization, receiver: HttpReceiver, *, min_severity: str = "warning"
) -> dict[str, AlertChannel]:
    """One channel of each kind for ``org``, the HTTP ones pointing at ``receiver``."""
    made = {
        "email": AlertChannel.objects.create(
            organization=org,
            kind=ChannelKind.EMAIL,
            name="Ops mail",
            config={"emails": ["ops@acme.test"]},
            min_severity=min_severity,
        )
    }
    for kind in (ChannelKind.SLACK, ChannelKind.TEAMS, ChannelKind.WEBHOOK):
        made[kind.value] = AlertChannel.objects.create(
            organization=org,
            kind=kind,
            name=f"{kind.label} hook",
            config={"url": receiver.url(f"/{kind.value}")},
            min_severity=min_severity,
        )
    return made


needs_redis = pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"),
    reason="needs a real Redis broker: CELERY_BROKER_URL=redis://...",
)


@pytest.fixture
def worker_env(lab, smtp_receiver, tmp_path):
    """The environment of a worker subprocess: the test database, the lab, local mail."""
    from tests.monitoring.processes import session_database_url

    return {
        "DATABASE_URL": session_database_url(),
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "SECRET_KEY": "test-only-secret-key",
        "DEBUG": "0",
        "VAR_DIR": str(tmp_path / "worker-var"),
        "SITE_URL": "https://stsguard.test",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp_receiver.host,
        "EMAIL_PORT": str(smtp_receiver.port),
        "ALERTS_ALLOW_PRIVATE_TARGETS": "1",
        "ALERTS_CONFIRM_RUNS": "2",
        "ALERTS_RECHECK_SECONDS": "0",
        "ALERTS_RETRY_BASE_SECONDS": "1",
        "ALERTS_HTTP_TIMEOUT": "5",
        "CHECK_DB_RETRY_SECONDS": "1",
        "CELERY_VISIBILITY_TIMEOUT": "6",
        "LOG_LEVEL": "INFO",
        **lab.env(),
    }


@pytest.fixture
def purged_queues():
    """Empty the broker's queues before and after, so no stray task from elsewhere runs."""
    from celery import current_app

    current_app.control.purge()
    yield
    current_app.control.purge()
