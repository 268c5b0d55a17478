"""Sign up, log in and out, change and reset a password, switch organizations."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from monitoring.middleware import SESSION_KEY
from monitoring.models import Membership, Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_signup_logs_in_and_asks_for_an_organization():
    client = Client()
    response = client.post(
        reverse("signup"),
        {"email": "New@Example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("organization_create")
    user = get_user_model().objects.get(email="new@example.test")
    assert user.username == "new@example.test"
    response = client.post(reverse("organization_create"), {"name": "New Co"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.organization.slug == "new-co"


def test_signup_refuses_a_taken_email(team):
    response = Client().post(
        reverse("signup"),
        {"email": "OWNER@acme.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200
    assert b"already exists" in response.content


def test_login_with_email_and_logout(team):
    client = Client()
    bad = client.post(reverse("login"), {"username": "owner@acme.test", "password": "nope"})
    assert bad.status_code == 200
    good = client.post(reverse("login"), {"username": "Owner@Acme.test", "password": PASSWORD})
    assert good.status_code == 302
    home = client.get(reverse("home"))
    assert home["Location"] == reverse("domain_list", args=[team.org.uuid])
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302
    assert reverse("login") in client.get(reverse("home"))["Location"]


def test_password_change(team):
    client = team.client("owner")
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "an0ther-long-pass",
            "new_password2": "an0ther-long-pass",
        },
    )
    assert response.status_code == 302
    team.owner.refresh_from_db()
    assert team.owner.check_password("an0ther-long-pass")


def test_password_reset_by_mail(team):
    client = Client()
    response = client.post(reverse("password_reset"), {"email": "owner@acme.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url, {"new_password1": "reset-pass-123x", "new_password2": "reset-pass-123x"}
    )
    assert done.status_code == 302
    team.owner.refresh_from_db()
    assert team.owner.check_password("reset-pass-123x")


def test_switching_organization(team):
    Membership.objects.create(user=team.owner, organization=team.other_org, role=Role.VIEWER)
    client = team.client("owner")
    response = client.post(reverse("org_switch", args=[team.other_org.uuid]))
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(team.other_org.uuid)
    assert client.get(reverse("home"))["Location"] == reverse(
        "domain_list", args=[team.other_org.uuid]
    )
