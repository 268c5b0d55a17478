"""Every view of the dashboard, domain page, policy editor and wizard, for three people:
the owner may, the viewer may look but not write, the stranger sees nothing at all."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from monitoring.models import Domain, HostedPolicy, OnboardingSession
from tests.ui.support import report, store

pytestmark = pytest.mark.django_db

POLICY = {"mode": "testing", "max_age": "86400", "mx": "mx1.acme.test", "policy_id": "n1"}


@pytest.fixture
def world(team):
    store(team.domain, report("acme.test"))
    HostedPolicy.objects.create(domain=team.domain, policy_text="version: STSv1\r\n")
    for user in (team.owner, team.viewer, team.stranger):
        OnboardingSession.objects.create(
            organization=team.org, user=user, furthest_step=8,
            data={"domains": [str(team.domain.uuid)], "policy": {"mode": "testing",
                  "max_age": 86400, "mx": {str(team.domain.uuid): ["mx1.acme.test"]}},
                  "policy_ids": {str(team.domain.uuid): "20260101T000000"}, "rua": []},
        )  # fmt: skip
    return team


def _reads(team) -> list[tuple[str, str, dict]]:
    org, dom = team.org.uuid, team.domain.uuid
    return [
        ("get", reverse("domain_list", args=[org]), {}),
        ("get", reverse("domain_list", args=[org]) + "?status=ok&sort=-certs", {}),
        ("get", reverse("domain_detail", args=[dom]), {}),
        ("get", reverse("hosted_policy_preview", args=[dom]), {}),
        ("post", reverse("domain_coverage", args=[dom]), {"mx": "*.acme.test", "field": "mx"}),
        ("post", reverse("policy_download", args=[dom]), POLICY),
    ]


def _writes(team) -> list[tuple[str, str, dict]]:
    org, dom = team.org.uuid, team.domain.uuid
    bulk = reverse("dashboard_bulk", args=[org])
    return [
        ("post", bulk, {"action": "pause", "domains": [str(dom)]}),
        ("post", bulk, {"action": "delete", "domains": [str(dom)]}),
        ("get", reverse("policy_edit", args=[dom]), {}),
        ("post", reverse("policy_edit", args=[dom]), POLICY),
        ("post", reverse("policy_publish", args=[dom]), POLICY),
        ("get", reverse("wizard_step", args=[org, 1]), {}),
        ("get", reverse("wizard_step", args=[org, 6]), {}),
        ("get", reverse("wizard_download", args=[org, dom, "caddy", 1]), {}),
        ("get", reverse("wizard_recipe_zip", args=[org, dom, "caddy"]), {}),
        ("get", reverse("wizard_records_download", args=[org, "txt"]), {}),
        # Last: it replaces the wizard's domains.
        ("post", reverse("wizard_step", args=[org, 2]), {"names": "new.acme.test"}),
    ]


def test_owner_and_viewer_can_read(world):
    for who in ("owner", "viewer"):
        client = world.client(who)
        for method, url, data in _reads(world):
            assert getattr(client, method)(url, data).status_code == 200, (who, url)


def test_viewer_gets_403_on_every_write(world):
    client = world.client("viewer")
    for method, url, data in _writes(world):
        assert getattr(client, method)(url, data).status_code == 403, (method, url)
    assert Domain.objects.get(id=world.domain.id).enabled
    assert not Domain.objects.filter(name="new.acme.test").exists()
    assert HostedPolicy.objects.get().policy_text == "version: STSv1\r\n"


def test_stranger_gets_404_everywhere(world):
    client = world.client("stranger")
    for method, url, data in _reads(world) + _writes(world):
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    assert Domain.objects.filter(organization=world.org).count() == 1


def test_owner_can_do_every_write(world):
    client = world.client("owner")
    for method, url, data in _writes(world):
        assert getattr(client, method)(url, data).status_code in (200, 302), (method, url)


def test_anonymous_is_sent_to_login(world):
    for method, url, data in _reads(world) + _writes(world):
        response = getattr(Client(), method)(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
