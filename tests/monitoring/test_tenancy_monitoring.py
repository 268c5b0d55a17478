"""Every issue-4 view for owner, viewer and stranger: the stranger sees nothing (404), the
viewer may look but gets 403 on every write, the owner may do everything."""

from __future__ import annotations

import pytest
from django.urls import reverse

from monitoring.models import AlertChannel, Notification, NotificationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(team):
    return AlertChannel.objects.create(
        organization=team.org, kind="webhook", name="Hook", config={"url": "https://h.test/x"}
    )


@pytest.fixture
def test_message(channel):
    return Notification.objects.create(
        channel=channel, kind=NotificationKind.TEST, dedup_key="test:1", payload={}
    )


def _reads(team, channel, test_message):
    dom = team.domain.uuid
    return [
        reverse("domain_history", args=[dom]),
        reverse("domain_history_partial", args=[dom]),
        reverse("check_now_status", args=[dom, "now-unknown"]),
        reverse("alert_channels", args=[team.org.uuid]),
        reverse("channel_test_status", args=[channel.uuid, test_message.uuid]),
    ]


def _writes(team, channel):
    org, dom = team.org.uuid, team.domain.uuid
    form = {
        "name": "Ops",
        "kind": "email",
        "emails": "ops@acme.test",
        "min_severity": "warning",
    }
    return [
        ("post", reverse("check_now", args=[dom]), {}),
        ("get", reverse("channel_add", args=[org]), None),
        ("post", reverse("channel_add", args=[org]), form),
        ("get", reverse("channel_edit", args=[channel.uuid]), None),
        ("post", reverse("channel_edit", args=[channel.uuid]), {**form, "kind": "webhook",
                                                                "url": "https://h.test/y"}),
        ("post", reverse("channel_toggle", args=[channel.uuid]), {}),
        ("post", reverse("channel_test", args=[channel.uuid]), {}),
        ("post", reverse("channel_delete", args=[channel.uuid]), {}),
    ]  # fmt: skip


def test_owner_and_viewer_can_read(team, channel, test_message):
    for who in ("owner", "viewer"):
        client = team.client(who)
        for url in _reads(team, channel, test_message):
            assert client.get(url).status_code == 200, (who, url)


def test_stranger_gets_404_everywhere(team, channel, test_message):
    client = team.client("stranger")
    for url in _reads(team, channel, test_message):
        assert client.get(url).status_code == 404, url
    for method, url, data in _writes(team, channel):
        assert getattr(client, method)(url, data or {}).status_code == 404, (method, url)
    assert AlertChannel.objects.filter(organization=team.org).count() == 1
    assert Notification.objects.count() == 1


def test_viewer_gets_403_on_every_write(team, channel, test_message):
    client = team.client("viewer")
    for method, url, data in _writes(team, channel):
        assert getattr(client, method)(url, data or {}).status_code == 403, (method, url)
    channel.refresh_from_db()
    assert channel.enabled
    assert channel.config == {"url": "https://h.test/x"}
    assert AlertChannel.objects.filter(organization=team.org).count() == 1
    assert Notification.objects.count() == 1


def test_owner_can_do_every_write(team, channel, test_message, settings):
    settings.CHECK_NOW_COOLDOWN_SECONDS = 0
    client = team.client("owner")
    for method, url, data in _writes(team, channel):
        assert getattr(client, method)(url, data or {}).status_code in (200, 202, 302), url
    assert not AlertChannel.objects.filter(id=channel.id).exists()


def test_strangers_channel_is_not_reachable_through_my_organization(team):
    theirs = AlertChannel.objects.create(
        organization=team.other_org, kind="email", name="Theirs", config={"emails": ["a@b.c"]}
    )
    client = team.client("owner")
    assert client.get(reverse("channel_edit", args=[theirs.uuid])).status_code == 404
    assert client.post(reverse("channel_test", args=[theirs.uuid])).status_code == 404
    page = client.get(reverse("alert_channels", args=[team.org.uuid]))
    assert b"Theirs" not in page.content
