"""The dashboard in a browser: a broken and a healthy lab domain, filters, sort, bulk, phone."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.utils import timezone

from monitoring.models import Domain, Membership, Organization, Role
from monitoring.runner import check_and_store
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, make_user
from tests.ui.support import add_tlsrpt

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.django_db(transaction=True)]

HEALTHY = ["plain.lab.test", "two-mx.lab.test", "testing-mode.lab.test"]
BROKEN = ["mx-not-covered.lab.test", "mx-expiring.lab.test", "tlsrpt-missing.lab.test"]


def checked(domain_id: int) -> None:
    """Check and store a domain from a thread of its own: Playwright's sync API keeps an
    event loop running in this one, and the check engine runs its own."""
    worker = threading.Thread(target=check_and_store, args=(domain_id,))
    worker.start()
    worker.join(timeout=60)


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/domains/**")


@pytest.fixture
def fleet(settings, lab):
    settings.CHECK_OPTIONS = lab.options()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    org = Organization.objects.create(name="Example MSP", slug="msp")
    user = make_user("ops@msp.test")
    Membership.objects.create(user=user, organization=org, role=Role.OWNER)
    today = timezone.now().date()
    for name in HEALTHY + BROKEN:
        domain = Domain.objects.create(organization=org, name=name)
        for back in range(7):
            failed = 40 if name == "mx-expiring.lab.test" and back < 3 else back % 2
            add_tlsrpt(domain, today - dt.timedelta(days=back), 1000, failed)
        checked(domain.id)
    Domain.objects.create(organization=org, name="new-client.example")
    return org


def test_dashboard_with_broken_and_healthy_domains(page, fleet):
    log_in(page, "ops@msp.test")
    page.get_by_role("heading", name="Domains of Example MSP").wait_for()
    rows = page.locator("#domains tbody tr")
    assert rows.count() == 7
    # Worst first: the errors lead.
    assert "mx-not-covered.lab.test" in rows.nth(0).inner_text()
    broken = page.get_by_role("row", name="mx-not-covered.lab.test")
    assert "1/2" in broken.inner_text() and "enforce" in broken.inner_text()
    expiring = page.get_by_role("row", name="mx-expiring.lab.test")
    assert "98.3%" in expiring.inner_text()  # 7000 of 7120 sessions succeeded
    assert expiring.locator("svg.spark polyline").count() == 1
    screenshot(page, "dashboard-desktop")

    # Filter by status (htmx swaps only the table) and search.
    page.get_by_label("Status", exact=True).select_option("ok")
    page.wait_for_function("document.querySelectorAll('#domains tbody tr').length === 3")
    assert "status=ok" in page.url
    page.get_by_label("Search").fill("two")
    page.wait_for_function("document.querySelectorAll('#domains tbody tr').length === 1")
    page.get_by_label("Search").fill("")
    page.get_by_label("Status", exact=True).select_option("")
    page.get_by_label("Has problems").check()
    page.wait_for_function("document.querySelectorAll('#domains tbody tr').length === 3")
    page.get_by_label("Has problems").uncheck()
    page.wait_for_function("document.querySelectorAll('#domains tbody tr').length === 7")

    # Sort by name, then the other way round.
    page.get_by_role("link", name="Domain", exact=True).click()
    page.wait_for_function(
        "document.querySelector('#domains tbody tr td').innerText.includes('mx-expiring')"
    )
    page.get_by_role("link", name="Domain", exact=True).click()
    page.wait_for_function(
        "document.querySelector('#domains tbody tr td').innerText.includes('two-mx')"
    )

    # Bulk: pause two domains.
    page.get_by_label("Select plain.lab.test").check()
    page.get_by_label("Select two-mx.lab.test").check()
    page.get_by_role("button", name="Pause").click()
    page.get_by_text("Paused monitoring of 2 domain(s).").wait_for()
    assert Domain.objects.filter(enabled=False).count() == 2


def test_dashboard_on_a_phone(page, fleet):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "ops@msp.test")
    page.get_by_role("heading", name="Domains of Example MSP").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(page, "dashboard-phone")
    page.get_by_role("link", name="mx-not-covered.lab.test").click()
    page.get_by_role("heading", name="mx-not-covered.lab.test", exact=True).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "domain-page-phone")
