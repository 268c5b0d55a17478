"""Run the TLSRPT SMTP receiver until interrupted."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from reports.receivers.smtp import build_controller


class Command(BaseCommand):
    help = "Receive TLSRPT reports by SMTP for <token>@REPORT_MAIL_DOMAIN."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.REPORT_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.REPORT_SMTP_PORT)
        parser.add_argument("--mail-domain", default=settings.REPORT_MAIL_DOMAIN)

    def handle(self, *args, **options) -> None:
        controller = build_controller(options["host"], options["port"], options["mail_domain"])
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        controller.start()
        self.stdout.write(
            f"TLSRPT SMTP receiver on {options['host']}:{options['port']} "
            f"for <token>@{options['mail_domain']} "
            f"(messages up to {settings.TLSRPT_MAX_MESSAGE} bytes)"
        )
        try:
            stop.wait()
        finally:
            controller.stop()
