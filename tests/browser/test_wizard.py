"""The whole onboarding wizard in a browser on a lab domain, ending in a green verify."""

from __future__ import annotations

import re

import pytest

from monitoring.models import AlertChannel, Domain, OnboardingSession
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.django_db(transaction=True)]

DOMAIN = "no-sts.lab.test"


def test_wizard_from_nothing_to_green_and_monitored(page, settings, lab, tmp_path):
    settings.CHECK_OPTIONS = lab.options()
    settings.SITE_URL = "https://stsguard.test"
    settings.REPORT_MAIL_DOMAIN = "reports.stsguard.test"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user("alice@newco.test")
    page.goto("/accounts/login/?next=/onboarding/")
    page.get_by_label("Email").fill("alice@newco.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # 1. Organization and teammates.
    page.get_by_role("heading", name="Step 1 of 8: Organization and team").wait_for()
    page.get_by_label("Organization name").fill("NewCo")
    page.get_by_label("Teammate 1 email").fill("bob@newco.test")
    page.get_by_label("Role of teammate 1").select_option("admin")
    screenshot(page, "wizard-1-team")
    page.get_by_role("button", name="Create organization and continue").click()

    # 2. Domains, with live discovery.
    page.get_by_role("heading", name="Step 2 of 8: Domains").wait_for()
    page.get_by_label("Domains that receive mail").fill(DOMAIN)
    page.get_by_role("button", name="Look them up").click()
    page.get_by_text("mx1.no-sts.lab.test").first.wait_for()
    screenshot(page, "wizard-2-domains")
    page.get_by_role("button", name="Continue to the policy").click()

    # 3. Policy: testing is the default; the pattern is pre-filled and checked as typed.
    page.get_by_role("heading", name="Step 3 of 8: Policy").wait_for()
    assert page.get_by_label("testing", exact=False).first.is_checked()
    box = page.get_by_label(f"mx patterns for {DOMAIN}, one per line")
    assert box.input_value() == "mx1.no-sts.lab.test"
    page.get_by_text("Every MX host is covered").wait_for()
    box.fill("mx9.no-sts.lab.test")
    page.get_by_text("is not covered").wait_for()
    box.fill("mx1.no-sts.lab.test")
    page.get_by_text("Every MX host is covered").wait_for()
    screenshot(page, "wizard-3-policy")
    page.get_by_role("button", name="Continue").click()

    # 4. TLS reports go to us by default.
    page.get_by_role("heading", name="Step 4 of 8: TLS reports").wait_for()
    assert page.get_by_text("https://stsguard.test/tlsrpt/").count() == 1
    page.get_by_role("button", name="Continue").click()

    # 5. Hosting: pick nginx, download the policy file.
    page.get_by_role("heading", name="Step 5 of 8: Hosting the policy").wait_for()
    page.get_by_label("nginx on your server").check()
    page.get_by_role("heading", name=f"nginx for {DOMAIN}").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download /var/www/mta-sts.no-sts.lab.test/").click()
    policy_file = tmp_path / "mta-sts.txt"
    download.value.save_as(policy_file)
    policy = policy_file.read_bytes()
    assert policy.startswith(b"version: STSv1\r\nmode: testing\r\n")
    screenshot(page, "wizard-5-hosting")
    page.get_by_role("button", name="Continue").click()

    # 6. DNS records.
    page.get_by_role("heading", name="Step 6 of 8: DNS records").wait_for()
    values = page.locator("table.recs code[id^=rec-]").all_inner_texts()
    sts = next(v for v in values if v.startswith("v=STSv1"))
    tlsrpt = next(v for v in values if v.startswith("v=TLSRPTv1"))
    assert re.fullmatch(r"v=STSv1; id=\d{8}T\d{6}", sts)
    screenshot(page, "wizard-6-records")

    # 7. Verify before anything is published: red, with the fix beside each failure.
    page.get_by_role("button", name="I have published them: verify").click()
    page.get_by_role("heading", name="Step 7 of 8: Verify").wait_for()
    page.get_by_text("not yet", exact=True).wait_for()
    assert page.locator(".req-fail").count() >= 3
    assert page.locator(".req-fail pre", has_text=sts).count() == 1
    screenshot(page, "wizard-7-verify-before")

    # The team publishes: the policy first, then the records (here, into the lab).
    with lab.changed(DOMAIN):
        lab.set_policy(DOMAIN, policy, behaviour="ok")
        lab.set_txt(f"_mta-sts.{DOMAIN}", [sts])
        lab.set_txt(f"_smtp._tls.{DOMAIN}", [tlsrpt])
        page.get_by_role("button", name="Check again").click()

        # Every requirement turns green.
        page.get_by_text("all green").wait_for()
        assert page.locator(".req-ok").count() == 6
        assert page.locator(".req-fail").count() == 0
        screenshot(page, "wizard-7-verify")
        page.get_by_role("button", name="Turn monitoring on").click()

    # 8. Monitoring on.
    page.get_by_role("heading", name="Step 8 of 8: Monitoring").wait_for()
    page.get_by_label("Check every").select_option("60")
    page.get_by_label("Send alerts by email to").fill("ops@newco.test")
    screenshot(page, "wizard-8-monitoring")
    page.get_by_role("button", name="Finish and go to the dashboard").click()
    page.get_by_text("Monitoring is on for 1 domain(s).").wait_for()

    domain = Domain.objects.get(name=DOMAIN)
    assert domain.enabled and domain.organization.name == "NewCo"
    assert AlertChannel.objects.get(organization=domain.organization).config == {
        "emails": ["ops@newco.test"]
    }
    assert OnboardingSession.objects.get(user__email="alice@newco.test").completed_at
