"""``manage.py check_domain DOMAIN [DOMAIN ...] [--json]``: run the check engine now.

Network settings come from the MTASTS_* environment variables through
``settings.CHECK_OPTIONS``. Exit status 0 unless ``--fail-on`` says otherwise, so scripts
can read the JSON and decide.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.checks.engine import check_many
from monitoring.checks.names import normalize_domain
from monitoring.checks.render import render_reports

_FAIL_ON = {"never": set(), "warning": {"warning", "error"}, "error": {"error"}}


class Command(BaseCommand):
    help = (
        "Check the MTA-STS record and policy, the MX hosts' STARTTLS and certificates and "
        "the TLSRPT record of each DOMAIN; print a readable report or, with --json, a JSON "
        "array with one object per domain in the order given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("domains", nargs="+", metavar="DOMAIN")
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        parser.add_argument(
            "--concurrency", type=int, default=10, help="domains checked at once (default 10)"
        )
        parser.add_argument(
            "--fail-on",
            choices=sorted(_FAIL_ON),
            default="never",
            help="exit with status 1 when a domain's status is this bad (default never)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            names = [normalize_domain(name) for name in options["domains"]]
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        reports = asyncio.run(check_many(names, settings.CHECK_OPTIONS, options["concurrency"]))
        self.stdout.write(render_reports(reports, as_json=options["json"]))
        failing = _FAIL_ON[options["fail_on"]]
        bad = [r.domain for r in reports if r.status in failing]
        if bad:
            raise CommandError(f"{', '.join(bad)}: status {options['fail_on']} or worse")
