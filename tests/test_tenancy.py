"""Every view, for three people: the owner may, the viewer may look but not write,
the stranger (a member of another organization) sees nothing at all."""

from __future__ import annotations

import pytest
from django.urls import reverse

from monitoring.models import Domain, Invitation, Membership

pytestmark = pytest.mark.django_db


def _read_urls(team):
    org = team.org.uuid
    return [reverse("domain_list", args=[org]), reverse("members", args=[org])]


def _write_requests(team):
    """(method, url, data) for every view that changes something."""
    org, dom = team.org.uuid, team.domain.uuid
    inv = Invitation.objects.create(organization=team.org, email="x@acme.test", role="member")
    member_ms = Membership.objects.get(user=team.member, organization=team.org)
    return [
        ("get", reverse("domain_add", args=[org]), None),
        ("post", reverse("domain_add", args=[org]), {"name": "new.acme.test"}),
        ("get", reverse("domain_add_many", args=[org]), None),
        ("post", reverse("domain_add_many", args=[org]), {"names": "a.acme.test\nb.acme.test"}),
        ("post", reverse("domain_toggle", args=[dom]), {}),
        ("get", reverse("domain_delete", args=[dom]), None),
        ("post", reverse("domain_delete", args=[dom]), {}),
        ("post", reverse("members", args=[org]), {"email": "new@acme.test", "role": "viewer"}),
        ("post", reverse("invitation_revoke", args=[org, inv.uuid]), {}),
        ("post", reverse("member_remove", args=[org, member_ms.id]), {}),
    ]


def test_owner_and_viewer_can_read(team):
    for who in ("owner", "viewer"):
        client = team.client(who)
        for url in _read_urls(team):
            assert client.get(url).status_code == 200, (who, url)


def test_stranger_gets_404_everywhere(team):
    client = team.client("stranger")
    for url in _read_urls(team):
        assert client.get(url).status_code == 404, url
    for method, url, data in _write_requests(team):
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 404, (method, url)
    assert client.post(reverse("org_switch", args=[team.org.uuid])).status_code == 404
    assert Domain.objects.filter(organization=team.org).count() == 1
    assert team.org.memberships.count() == 3


def test_viewer_gets_403_on_every_write(team):
    client = team.client("viewer")
    for method, url, data in _write_requests(team):
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 403, (method, url)
    # Nothing changed behind the 403s.
    assert list(team.org.domains.values_list("name", flat=True)) == ["acme.test"]
    assert Domain.objects.get(id=team.domain.id).enabled is True
    assert team.org.memberships.count() == 3
    assert not Invitation.objects.filter(email="new@acme.test").exists()


def test_member_may_change_domains_but_not_the_team(team):
    client = team.client("member")
    url = reverse("domain_add", args=[team.org.uuid])
    assert client.post(url, {"name": "m.acme.test"}).status_code == 302
    assert team.org.domains.filter(name="m.acme.test").exists()
    invite = reverse("members", args=[team.org.uuid])
    assert client.post(invite, {"email": "z@acme.test", "role": "viewer"}).status_code == 403


def test_owner_can_do_every_write(team):
    client = team.client("owner")
    for method, url, data in _write_requests(team):
        response = getattr(client, method)(url, data or {})
        assert response.status_code in (200, 302), (method, url, response.status_code)
    assert team.org.domains.filter(name__in=["new.acme.test", "a.acme.test"]).count() == 2
    assert not Domain.objects.filter(id=team.domain.id).exists()
    assert not team.org.memberships.filter(user=team.member).exists()


def test_domain_list_shows_only_own_domains(team):
    body = team.client("owner").get(reverse("domain_list", args=[team.org.uuid])).content.decode()
    assert "acme.test" in body
    assert "other.test" not in body


def test_anonymous_is_sent_to_login(team):
    from django.test import Client

    response = Client().get(reverse("domain_list", args=[team.org.uuid]))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
