"""The domain page in a browser, for a lab domain with problems."""

from __future__ import annotations

import pytest

from monitoring.checks.records import parse_sts
from monitoring.models import Domain, Membership, Organization, Role
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard import checked, log_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.django_db(transaction=True)]


def test_domain_page_findings_facts_and_copyable_fixes(page, settings, lab):
    settings.CHECK_OPTIONS = lab.options()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    org = Organization.objects.create(name="Acme", slug="acme")
    user = make_user("ops@acme.test")
    Membership.objects.create(user=user, organization=org, role=Role.OWNER)
    domain = Domain.objects.create(organization=org, name="mx-not-covered.lab.test")
    checked(domain.id)

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, "ops@acme.test")
    page.get_by_role("link", name="mx-not-covered.lab.test").click()
    page.get_by_role("heading", name="mx-not-covered.lab.test", exact=True).wait_for()
    page.get_by_role("heading", name="MX host not covered by the policy").wait_for()
    assert page.get_by_text("Why it matters").count() >= 1
    # The MX table: both hosts, their TLS and certificates.
    table = page.locator("table.mx")
    assert table.locator("td strong", has_text="mx2.mx-not-covered.lab.test").count() == 1
    assert table.get_by_text("TLSv1.3").count() == 2
    # The fix: a corrected policy and a record with a new id, copied with one click.
    fixes = page.locator(".finding pre")
    texts = [fixes.nth(i).inner_text() for i in range(fixes.count())]
    record = next(t for t in texts if t.startswith("v=STSv1"))
    parsed, findings = parse_sts("_mta-sts.x", [[record]])
    assert parsed is not None and parsed.valid and not findings
    policy = next(t for t in texts if t.startswith("version: STSv1"))
    assert "mx: mx2.mx-not-covered.lab.test" in policy
    copy = page.locator(".finding").first.get_by_role("button", name="Copy").last
    copy.click()
    page.wait_for_function("document.getElementById('live').textContent.includes('Copied')")
    assert page.evaluate("navigator.clipboard.readText()").startswith("v=STSv1")
    # History (issue 4) loads by htmx.
    page.locator(".history").get_by_text("Loading the latest runs").wait_for(state="detached")
    screenshot(page, "domain-page")
