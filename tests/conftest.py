"""Shared fixtures: an organization with three people (owner, viewer, stranger) and clients."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from monitoring.models import Domain, Membership, Organization, Role

pytest_plugins = ["tests.lab.pytest_plugin"]

PASSWORD = "correct-horse-battery-staple"


def make_user(email: str):
    return get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Team:
    org: Organization
    owner: object
    member: object
    viewer: object
    stranger: object
    domain: Domain
    other_org: Organization
    other_domain: Domain

    def client(self, who: str) -> Client:
        return client_for(getattr(self, who))


@pytest.fixture
def team(db) -> Team:
    org = Organization.objects.create(name="Acme", slug="acme")
    owner, member, viewer = (make_user(f"{n}@acme.test") for n in ("owner", "member", "viewer"))
    Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    Membership.objects.create(user=member, organization=org, role=Role.MEMBER)
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    # The stranger owns another organization: a real tenant, not just an outsider.
    stranger = make_user("stranger@other.test")
    other = Organization.objects.create(name="Other", slug="other")
    Membership.objects.create(user=stranger, organization=other, role=Role.OWNER)
    return Team(
        org=org,
        owner=owner,
        member=member,
        viewer=viewer,
        stranger=stranger,
        domain=Domain.objects.create(organization=org, name="acme.test"),
        other_org=other,
        other_domain=Domain.objects.create(organization=other, name="other.test"),
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    # Playwright's sync API keeps an event loop running in the main thread for as long as
    # the browser lives, and code under test calls asyncio.run(): browser tests go last.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    yield
    # Worker subprocesses and threads may still hold a connection to the test database;
    # end them so it can be dropped instead of being left behind on the server.
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
