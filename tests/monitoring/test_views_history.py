"""The history page and partial: runs, what changed between them, alerts sent."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import CheckRun, Domain, Notification
from monitoring.runner import Observed, check_and_store, store_run
from tests.monitoring.conftest import make_channels

pytestmark = [pytest.mark.django_db, pytest.mark.lab]

DOMAIN = "two-mx.lab.test"


@pytest.fixture
def history(team, lab, settings, alert_settings, http_receiver):
    """Three runs: healthy, then policy body + id + MX changed together, then the same."""
    settings.CHECK_OPTIONS = lab.options()
    settings.ALERTS_CONFIRM_RUNS = 1
    make_channels(team.org, http_receiver, min_severity="info")
    domain = Domain.objects.create(organization=team.org, name=DOMAIN)
    check_and_store(domain.id)
    with lab.changed(DOMAIN):
        lab.set_mx(DOMAIN, [(10, f"mx1.{DOMAIN}")])
        body = f"version: STSv1\nmode: testing\nmx: mx1.{DOMAIN}\nmax_age: 604800\n"
        lab.set_policy(DOMAIN, body)
        lab.set_sts_id(DOMAIN, "20250101T000000")
        check_and_store(domain.id)
        check_and_store(domain.id)
    return domain


def test_history_page_shows_the_diffs_and_the_alerts_sent(team, history):
    page = team.client("viewer").get(reverse("domain_history", args=[history.uuid]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="run run-') == 3
    # The record, the policy text (a difflib diff), the MX set.
    assert "v=STSv1; id=20250101T000000" in html
    assert "-mode: enforce" in html
    assert "+mode: testing" in html
    assert f"removed mx2.{DOMAIN}" in html
    # The alerts raised by that run, and what was sent.
    assert "drift.policy.changed" in html
    assert "drift.mx.changed" in html
    assert "Alerts sent" in html
    assert Notification.objects.filter(alert__code="drift.mx.changed").count() == 4
    assert "Slack hook" in html


def test_only_changes_filter_hides_quiet_runs(team, history):
    url = reverse("domain_history", args=[history.uuid]) + "?changes=1"
    html = team.client("owner").get(url).content.decode()
    # The first run has nothing before it and the third changed nothing: one eventful run.
    assert html.count('class="run run-') == 1


def test_partial_is_compact_for_the_domain_page(team, history):
    url = reverse("domain_history_partial", args=[history.uuid])
    html = team.client("viewer").get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html
    assert html.count('class="run run-') == 3
    assert "+mode: testing" in html


def test_partial_loader_includes_itself_via_htmx(team, history):
    from django.template.loader import render_to_string

    html = render_to_string("monitoring/partials/history.html", {"domain": history})
    assert f'hx-get="{reverse("domain_history_partial", args=[history.uuid])}"' in html
    assert "stsguard:checked from:body" in html


def test_failed_runs_show_their_error(team, history):
    def crash(_name: str) -> dict:
        raise RuntimeError("lab on fire")

    check_and_store(history.id, engine=crash)
    html = team.client("viewer").get(reverse("domain_history", args=[history.uuid])).content
    assert b"lab on fire" in html
    assert CheckRun.objects.filter(domain=history).count() == 4


def test_pages_of_runs(team, lab, settings):
    settings.CHECK_OPTIONS = lab.options()
    domain = Domain.objects.create(organization=team.org, name="plain.lab.test")
    check_and_store(domain.id)
    facts = CheckRun.objects.get(domain=domain).facts
    for _ in range(30):
        now = timezone.now()
        store_run(domain, Observed(now, now, facts))
    url = reverse("domain_history", args=[domain.uuid])
    first = team.client("owner").get(url).content.decode()
    assert first.count('class="run run-') == 25
    assert "Older" in first
    second = team.client("owner").get(url + "?page=2").content.decode()
    assert second.count('class="run run-') == 6
