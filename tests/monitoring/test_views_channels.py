"""The alert channels page: add, edit, disable, delete, send a test, and what it shows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from monitoring.alerts.delivery import deliver
from monitoring.models import AlertChannel, Notification, NotificationKind

pytestmark = pytest.mark.django_db


def _add(client, team, **data):
    form = {"name": "Ops", "kind": "email", "min_severity": "warning", **data}
    return client.post(reverse("channel_add", args=[team.org.uuid]), form)


def test_add_an_email_channel_limited_to_one_domain(team):
    client = team.client("member")
    response = _add(client, team, emails="a@acme.test, B@acme.test\nbad", domains=[])
    assert response.status_code == 200
    assert b"bad is not an email address" in response.content
    response = _add(
        client, team, emails="a@acme.test, B@acme.test", domains=[team.domain.id],
        daily_digest="on", min_severity="error",
    )  # fmt: skip
    assert response.status_code == 302
    channel = AlertChannel.objects.get()
    assert channel.config == {"emails": ["a@acme.test", "b@acme.test"]}
    assert list(channel.domains.all()) == [team.domain]
    assert channel.daily_digest
    assert channel.min_severity == "error"


def test_another_organizations_domain_cannot_be_routed(team):
    response = _add(team.client("owner"), team, emails="a@acme.test",
                    domains=[team.other_domain.id])  # fmt: skip
    assert response.status_code == 200
    assert not AlertChannel.objects.exists()


def test_url_kinds_need_an_https_url(team, settings):
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = False
    client = team.client("owner")
    response = _add(client, team, kind="slack", url="http://hooks.slack.test/x")
    assert b"Enter an https:// URL." in response.content
    response = _add(client, team, kind="slack", url="")
    assert b"A webhook URL is required" in response.content
    assert _add(client, team, kind="slack", url="https://hooks.slack.test/x").status_code == 302
    assert AlertChannel.objects.get().config == {"url": "https://hooks.slack.test/x"}


def test_disabled_channel_shows_why_and_a_new_url_re_enables_it(team):
    channel = AlertChannel.objects.create(
        organization=team.org, kind="slack", name="Slack", config={"url": "https://a.test/1"},
        enabled=False, disabled_reason="HTTP 404: no_service",
    )  # fmt: skip
    client = team.client("owner")
    page = client.get(reverse("alert_channels", args=[team.org.uuid]))
    assert b"Disabled: HTTP 404: no_service" in page.content
    edit = reverse("channel_edit", args=[channel.uuid])
    assert b"no_service" in client.get(edit).content
    client.post(edit, {"name": "Slack", "url": "https://a.test/2", "min_severity": "warning"})
    channel.refresh_from_db()
    assert channel.enabled
    assert channel.disabled_reason == ""
    assert channel.kind == "slack"  # the kind cannot be changed by editing


def test_toggle_and_delete(team):
    channel = AlertChannel.objects.create(
        organization=team.org, kind="email", name="Mail", config={"emails": ["a@acme.test"]}
    )
    client = team.client("owner")
    client.post(reverse("channel_toggle", args=[channel.uuid]))
    channel.refresh_from_db()
    assert not channel.enabled
    assert channel.disabled_reason == "Disabled by a user."
    client.post(reverse("channel_toggle", args=[channel.uuid]))
    channel.refresh_from_db()
    assert channel.enabled
    client.post(reverse("channel_delete", args=[channel.uuid]))
    assert not AlertChannel.objects.exists()


def test_send_test_with_htmx_polls_until_delivered(team, http_receiver, alert_settings):
    channel = AlertChannel.objects.create(
        organization=team.org, kind="webhook", name="Hook",
        config={"url": http_receiver.url("/hook")},
    )  # fmt: skip
    client = team.client("owner")
    response = client.post(reverse("channel_test", args=[channel.uuid]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"Sending a test" in response.content
    assert b'hx-trigger="every 1s"' in response.content
    notification = Notification.objects.get(kind=NotificationKind.TEST)
    assert deliver(notification.id).status == "sent"
    status = client.get(
        reverse("channel_test_status", args=[channel.uuid, notification.uuid]),
        HTTP_HX_REQUEST="true",
    )
    assert b"Test delivered" in status.content
    assert b"every 1s" not in status.content
    (received,) = http_receiver.to("/hook")
    assert received.json()["event"] == "test"


def test_failed_test_says_why_but_does_not_disable(team, http_receiver, alert_settings):
    http_receiver.script["/gone"] = [404]
    channel = AlertChannel.objects.create(
        organization=team.org, kind="teams", name="Teams",
        config={"url": http_receiver.url("/gone")},
    )  # fmt: skip
    client = team.client("owner")
    client.post(reverse("channel_test", args=[channel.uuid]), HTTP_HX_REQUEST="true")
    notification = Notification.objects.get()
    assert deliver(notification.id).status == "failed"
    status = client.get(reverse("channel_test_status", args=[channel.uuid, notification.uuid]))
    assert b"Test failed" in status.content
    assert b"HTTP 404" in status.content
    channel.refresh_from_db()
    assert channel.enabled


def test_webhook_secret_is_shown_to_writers_on_edit(team):
    channel = AlertChannel.objects.create(
        organization=team.org, kind="webhook", name="Hook", config={"url": "https://h.test/"}
    )
    page = team.client("owner").get(reverse("channel_edit", args=[channel.uuid]))
    assert channel.secret.encode() in page.content


def test_nav_has_an_alerts_link(team):
    page = team.client("viewer").get(reverse("alert_channels", args=[team.org.uuid]))
    assert reverse("alert_channels", args=[team.org.uuid]).encode() in page.content
