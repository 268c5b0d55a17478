"""The "check now" button: queue, rate limit, and the result without a page reload."""

from __future__ import annotations

import pytest
from celery import current_app
from django.core.cache import cache
from django.urls import reverse

from monitoring.models import CheckRun, Domain
from monitoring.runner import check_and_store

pytestmark = [pytest.mark.django_db, pytest.mark.lab]


@pytest.fixture
def domain(team, lab, settings):
    settings.CHECK_OPTIONS = lab.options()
    settings.CHECK_NOW_COOLDOWN_SECONDS = 60
    cache.clear()
    return Domain.objects.create(organization=team.org, name="plain.lab.test")


def _queued_check_ids() -> list[str]:
    """Take the run_check messages off the checks queue; return their task ids."""
    ids = []
    with current_app.connection_for_read() as conn:
        queue = conn.SimpleQueue("checks")
        while True:
            try:
                message = queue.get(block=True, timeout=0.5)
            except queue.Empty:
                break
            ids.append(message.headers["id"])
            message.ack()
        queue.close()
    return ids


def test_check_now_queues_a_check_and_polls_for_its_result(
    team, domain, django_capture_on_commit_callbacks
):
    _queued_check_ids()
    client = team.client("member")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("check_now", args=[domain.uuid]), HTTP_HX_REQUEST="true")
    assert response.status_code == 202
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    (task_id,) = _queued_check_ids()
    assert task_id.startswith("now-")
    status_url = reverse("check_now_status", args=[domain.uuid, task_id])
    assert status_url in html
    # Still running: the fragment keeps polling.
    assert b"every 1s" in client.get(status_url).content
    # The worker's part, done here in-process with the same task id.
    check_and_store(domain.id, task_id=task_id)
    done = client.get(status_url, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert done["HX-Trigger"] == "stsguard:checked"
    assert b"every 1s" not in done.content
    assert b"status-ok" in done.content
    assert CheckRun.objects.get(task_id=task_id).domain == domain


def test_check_now_is_rate_limited_per_domain(team, domain, django_capture_on_commit_callbacks):
    client = team.client("owner")
    url = reverse("check_now", args=[domain.uuid])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 202
        limited = client.post(url)
    assert limited.status_code == 429
    assert b"check again in 60 seconds" in limited.content
    assert len(_queued_check_ids()) == 1


def test_a_check_that_never_reports_back_says_so(team, domain):
    url = reverse("check_now_status", args=[domain.uuid, "now-lost"])
    html = team.client("viewer").get(url, {"started": "2000-01-01T00:00:00+00:00"}).content
    assert b"did not report back" in html
    assert b"every 1s" not in html


def test_partial_renders_a_button_for_writers_only(team, domain):
    from django.template.loader import render_to_string

    for can_write, expected in ((True, True), (False, False)):
        html = render_to_string(
            "monitoring/partials/check_now.html", {"domain": domain, "can_write": can_write}
        )
        assert ("Check now" in html) is expected
