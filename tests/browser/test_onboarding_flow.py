"""A newcomer signs up, creates an organization, invites a teammate and adds a domain."""

from __future__ import annotations

import pytest
from django.core import mail

from monitoring.models import Domain, Invitation, Membership
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_create_org_invite_and_add_domain(page, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("alice@newco.test")
    page.get_by_label("Password", exact=True).fill("a-long-enough-passphrase")
    page.get_by_label("Password confirmation").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Sign up").click()

    page.get_by_label("Organization name").fill("NewCo Mail")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_role("heading", name="Domains of NewCo Mail").wait_for()

    page.get_by_role("link", name="Team").click()
    page.get_by_label("Email").fill("bob@newco.test")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Invitation sent to bob@newco.test").wait_for()

    page.get_by_role("link", name="Domains").click()
    page.get_by_role("link", name="Add a domain").click()
    page.get_by_label("Domain").fill("NewCo.Example")
    page.get_by_role("button", name="Add domain").click()
    page.get_by_role("cell", name="newco.example").wait_for()
    shot = screenshot(page, "onboarding-flow")

    membership = Membership.objects.get(user__email="alice@newco.test")
    assert membership.role == "owner"
    assert membership.organization.name == "NewCo Mail"
    invitation = Invitation.objects.get(email="bob@newco.test")
    assert invitation.role == "viewer"
    assert invitation.organization == membership.organization
    assert any(invitation.token in message.body for message in mail.outbox)
    assert Domain.objects.get(organization=membership.organization).name == "newco.example"
    assert shot.stat().st_size > 10_000
