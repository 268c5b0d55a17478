"""The demo seed is idempotent and gives the newcomer domains and two weeks of reports."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from monitoring.demo_reports import FAILURES, demo_reports
from monitoring.management.commands.seed_demo import DEMO_DOMAINS, DEMO_EMAIL
from monitoring.models import Membership
from reports.models import FailureDetail, RawReport, Report

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_complete():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    membership = Membership.objects.get(user__email=DEMO_EMAIL)
    assert membership.role == "owner"
    names = set(membership.organization.domains.values_list("name", flat=True))
    assert names == set(DEMO_DOMAINS)
    reports = Report.objects.filter(organization=membership.organization)
    # 14 days x 3 submitters for every domain but the one without a TLSRPT record.
    assert reports.count() == 14 * 3 * (len(DEMO_DOMAINS) - 1)
    assert RawReport.objects.count() == reports.count()
    failing = set(FailureDetail.objects.values_list("domain__name", flat=True).distinct())
    assert failing == set(FAILURES)


def test_no_lab_seeds_the_user_and_organization_only():
    call_command("seed_demo", "--no-lab", stdout=io.StringIO())
    membership = Membership.objects.get(user__email=DEMO_EMAIL)
    assert membership.organization.domains.count() == 0
    assert Report.objects.count() == 0


def test_demo_reports_are_rfc8460_shaped_and_deterministic():
    first = demo_reports(["mx-expired.lab.test"], days=2)
    assert first == demo_reports(["mx-expired.lab.test"], days=2)
    document = json.loads(first[0])
    assert {"organization-name", "date-range", "contact-info", "report-id", "policies"} <= set(
        document
    )
    detail = document["policies"][0]["failure-details"][0]
    assert detail["result-type"] == "certificate-expired"
