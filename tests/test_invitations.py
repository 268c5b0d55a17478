"""Invitations: mailed, single-use, expiring, and accepted by new and existing users."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitoring import services
from monitoring.models import Invitation, Membership, Role
from tests.conftest import PASSWORD, client_for, make_user

pytestmark = pytest.mark.django_db


def _invite(team, email="new@acme.test", role="viewer") -> Invitation:
    response = team.client("owner").post(
        reverse("members", args=[team.org.uuid]), {"email": email, "role": role}
    )
    assert response.status_code == 302
    return Invitation.objects.get(email=email)


def test_invitation_is_mailed_with_its_link(team):
    invitation = _invite(team)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@acme.test"]
    assert reverse("invitation_accept", args=[invitation.token]) in mail.outbox[0].body


def test_new_user_signs_up_then_accepts(team):
    invitation = _invite(team)
    accept = reverse("invitation_accept", args=[invitation.token])
    client = Client()
    landing = client.get(accept)
    assert landing.status_code == 200
    assert b"Join Acme" in landing.content
    signup = client.post(
        reverse("signup"),
        {"email": "new@acme.test", "password1": PASSWORD, "password2": PASSWORD, "next": accept},
    )
    assert signup.status_code == 302
    assert signup["Location"] == accept
    response = client.post(accept)
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="new@acme.test", organization=team.org)
    assert membership.role == Role.VIEWER


def test_existing_user_accepts_and_keeps_other_organizations(team):
    invitation = _invite(team, email="stranger@other.test", role="member")
    client = client_for(team.stranger)
    assert client.post(reverse("invitation_accept", args=[invitation.token])).status_code == 302
    orgs = set(team.stranger.memberships.values_list("organization__slug", flat=True))
    assert orgs == {"acme", "other"}


def test_invitation_is_single_use(team):
    invitation = _invite(team)
    first, second = make_user("a@x.test"), make_user("b@x.test")
    url = reverse("invitation_accept", args=[invitation.token])
    assert client_for(first).post(url).status_code == 302
    response = client_for(second).post(url)
    assert response.status_code == 410
    assert b"already been used" in response.content
    assert not Membership.objects.filter(user=second, organization=team.org).exists()
    with pytest.raises(services.InvitationError):
        services.invitation_accept(token=invitation.token, user=second)


def test_expired_invitation_is_refused(team):
    invitation = _invite(team)
    Invitation.objects.filter(id=invitation.id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    user = make_user("late@x.test")
    response = client_for(user).post(reverse("invitation_accept", args=[invitation.token]))
    assert response.status_code == 410
    assert b"expired" in response.content
    assert not Membership.objects.filter(user=user).exists()
    assert Client().get(reverse("invitation_accept", args=[invitation.token])).status_code == 410


def test_unknown_token_is_refused(team):
    user = make_user("guess@x.test")
    response = client_for(user).post(reverse("invitation_accept", args=["not-a-token"]))
    assert response.status_code == 410


def test_accepting_never_downgrades_a_role(team):
    invitation = services.invitation_create(
        organization=team.org, email="owner@acme.test", role=Role.VIEWER, invited_by=team.owner
    )
    services.invitation_accept(token=invitation.token, user=team.owner)
    assert Membership.objects.get(user=team.owner, organization=team.org).role == Role.OWNER


def test_only_owner_invites_owners(team):
    Membership.objects.filter(user=team.member, organization=team.org).update(role=Role.ADMIN)
    response = team.client("member").post(
        reverse("members", args=[team.org.uuid]), {"email": "boss@x.test", "role": "owner"}
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="boss@x.test").exists()
