"""``manage.py check_domain DOMAIN [DOMAIN ...] [--json]``: run the check engine now.

Network settings come from the MTASTS_* environment variables through
``settings.CHECK_OPTIONS``. Exit status: 0 when every domain is ok, 1 when the worst is a
warning, 2 when any domain has an error, 3 when the arguments are not domain names.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.checks.engine import check_many
from monitoring.checks.names import normalize_domain
from monitoring.checks.render import render_reports

EXIT_STATUS = {"ok": 0, "warning": 1, "error": 2}
USAGE_ERROR = 3


class Command(BaseCommand):
    help = (
        "Check the MTA-STS record and policy, the MX hosts' STARTTLS and certificates and "
        "the TLSRPT record of each DOMAIN; print a readable report or, with --json, a JSON "
        "array with one object per domain in the order given. Exit status 0 when all are "
        "ok, 1 when the worst is a warning, 2 when any has an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("domains", nargs="+", metavar="DOMAIN")
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        parser.add_argument(
            "--concurrency", type=int, default=10, help="domains checked at once (default 10)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            names = [normalize_domain(name) for name in options["domains"]]
        except ValueError as exc:
            raise CommandError(str(exc), returncode=USAGE_ERROR) from None
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1", returncode=USAGE_ERROR)
        reports = asyncio.run(check_many(names, settings.CHECK_OPTIONS, options["concurrency"]))
        self.stdout.write(render_reports(reports, as_json=options["json"]))
        status = max((EXIT_STATUS.get(r.status, 2) for r in reports), default=0)
        if status:
            self.stdout.flush()
            sys.exit(status)
