"""Create (or reuse) the demo user and organization, with lab domains when the lab runs."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from monitoring.demo_reports import demo_reports
from monitoring.models import Domain, Membership, Organization, Role

DEMO_EMAIL = "demo@stsguard.test"
DEMO_PASSWORD = "demo-password"
DEMO_ORG = "Demo Mail Co"

# A readable mix: healthy set-ups and one of each common way to get MTA-STS wrong.
DEMO_DOMAINS = [
    "plain.lab.test",
    "two-mx.lab.test",
    "wildcard.lab.test",
    "cname-ok.lab.test",
    "testing-mode.lab.test",
    "no-sts.lab.test",
    "record-multiple.lab.test",
    "policy-expired-cert.lab.test",
    "policy-redirect.lab.test",
    "policy-max-age-low.lab.test",
    "mode-none.lab.test",
    "mx-not-covered.lab.test",
    "mx-no-starttls.lab.test",
    "mx-expired.lab.test",
    "mx-expiring.lab.test",
    "tlsrpt-missing.lab.test",
]


class Command(BaseCommand):
    help = "Create the demo user and organization (idempotent); add the lab's demo domains."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-lab", action="store_true", help="add no lab domains (DEMO=0: real DNS)"
        )
        parser.add_argument(
            "--all-scenarios", action="store_true", help="add every lab scenario domain"
        )

    @transaction.atomic
    def handle(self, *args: Any, **opts: Any) -> None:
        users = get_user_model()
        user = users.objects.filter(username=DEMO_EMAIL).first()
        if user is None:
            user = users.objects.create_user(
                username=DEMO_EMAIL, email=DEMO_EMAIL, password=DEMO_PASSWORD
            )
        organization, _ = Organization.objects.get_or_create(
            slug="demo", defaults={"name": DEMO_ORG}
        )
        Membership.objects.get_or_create(
            user=user, organization=organization, defaults={"role": Role.OWNER}
        )
        added = 0
        if not opts["no_lab"]:
            for name in self._domains(opts["all_scenarios"]):
                _, created = Domain.objects.get_or_create(
                    organization=organization,
                    name=name,
                    defaults={"created_by": user, "next_check_at": timezone.now()},
                )
                added += created
            reports = self._seed_reports(organization)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: log in at /accounts/login/ as {DEMO_EMAIL} / {DEMO_PASSWORD} "
                f"({organization.domains.count()} domains, {added} new; "
                f"{reports if not opts['no_lab'] else 0} demo TLS reports added)."
            )
        )

    @staticmethod
    def _seed_reports(organization: Organization) -> int:
        """Two weeks of TLSRPT reports for the demo domains, once (ingest de-duplicates)."""
        from reports import batch_ingest
        from reports.models import Report

        if Report.objects.filter(organization=organization).exists():
            return 0
        names = list(organization.domains.values_list("name", flat=True))
        documents = demo_reports(names)
        items = [(f"demo-{n}.json", data, None) for n, data in enumerate(documents)]
        outcomes, _ = batch_ingest.ingest_many(
            organization_id=organization.id, items=items, source="upload"
        )
        batch_ingest.evaluate_outcomes(outcomes)
        return len(documents)

    @staticmethod
    def _domains(every: bool) -> list[str]:
        if not every:
            return DEMO_DOMAINS
        from tests.lab.scenarios import SCENARIOS

        return [s.domain for s in SCENARIOS if not s.guard_only]
