"""The TLSRPT charts in a real browser: organization page, domain partial by htmx, drill-down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.reports.ingest_support import ingest_bytes, make_report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SENDERS = ("Google Inc.", "Microsoft Corporation", "Mail.ru")


def _thirty_days_of_reports(team) -> None:
    today = timezone.now().date()
    for back in range(30):
        day = today - timedelta(days=back)
        for n, sender in enumerate(SENDERS):
            failures = []
            if back % 4 == n:
                failures = [
                    ("certificate-expired", f"192.0.2.{n + 1}", "mx1.acme.test", 3 + back % 5),
                    ("starttls-not-supported", "198.51.100.9", "mx2.acme.test", 2),
                ]
            if back in (3, 4) and n == 0:
                failures.append(("sts-policy-fetch-error", "203.0.113.5", "", 40))
            failed = sum(f[3] for f in failures)
            ingest_bytes(
                team.org,
                make_report(
                    "acme.test",
                    day,
                    ok=200 + 17 * n + (back * 7) % 40,
                    failed=failed,
                    failures=failures,
                    submitter=sender,
                ),
            )


def _log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_report_charts_render_and_drill_down(page, live_server, team, settings):
    settings.TLSRPT_DKIM_VERIFY = False
    _thirty_days_of_reports(team)
    foreign = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((live_server.url, "data:"))
            else foreign.append(request.url)
        ),
    )
    _log_in(page, team.owner.email)

    page.get_by_role("link", name="Reports", exact=True).click()
    page.get_by_role("heading", name="TLS reports of Acme").wait_for()
    charts = page.locator("figure.chart svg.pygal-chart")
    assert charts.count() == 5
    for index in range(charts.count()):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 80
    # Bars drawn: one rect per day and series in the sessions chart.
    sessions = page.locator('figure[data-chart="sessions"] svg .series rect')
    assert sessions.count() >= 30
    assert page.get_by_role("cell", name="203.0.113.5").is_visible()

    page.get_by_role("link", name="90 days").first.click()
    page.wait_for_url("**?days=90")
    page.get_by_role("heading", name="All monitored domains, last 90 days").wait_for()
    screenshot(page, "report-charts")

    page.goto(f"/domains/{team.domain.uuid}/reports/")
    section = page.locator(f"#tlsrpt-{team.domain.uuid}")
    section.get_by_role("link", name="7 days").click()  # htmx swaps the section in place
    page.locator(f'#tlsrpt-{team.domain.uuid} a[aria-current="true"]', has_text="7 days").wait_for()
    assert page.url.endswith(f"/domains/{team.domain.uuid}/reports/")  # no navigation
    assert section.locator("svg.pygal-chart").count() >= 3
    screenshot(page, "report-charts-domain")

    page.locator("table.reports-table a").first.click()
    page.get_by_role("heading", name="The report as sent").wait_for()
    assert '"report-id"' in page.locator("#report-json").inner_text()
    assert foreign == []  # no CDN, no external font: everything from our server
