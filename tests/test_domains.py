"""Domains: normalised names, clear errors, bulk add keeps the good lines, intervals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from monitoring import services
from monitoring.models import Domain

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("  mail.example.org  ", "mail.example.org"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_names_are_normalised(team, given, stored):
    domain = services.domain_create(organization=team.org, name=given)
    assert domain.name == stored


@pytest.mark.parametrize(
    ("given", "phrase"),
    [
        ("", "Enter a domain name"),
        ("localhost", "single label"),
        ("https://example.com/", "just the domain name"),
        ("exa mple.com", "just the domain name"),
        ("-bad.example.com", "hyphen"),
        ("a" * 64 + ".com", "not a valid domain name"),
        ("10.0.0.1", "IP address"),
        ("under_score.example.com", "not a valid domain name"),
    ],
)
def test_bad_names_are_refused_with_a_clear_message(team, given, phrase):
    with pytest.raises(ValueError, match=phrase):
        services.domain_create(organization=team.org, name=given)


def test_name_is_unique_per_organization_only(team):
    with pytest.raises(ValueError, match="already monitored"):
        services.domain_create(organization=team.org, name="ACME.test")
    # The same name in another organization is that organization's business.
    services.domain_create(organization=team.other_org, name="acme.test")
    assert Domain.objects.filter(name="acme.test").count() == 2


def test_add_one_through_the_form_reports_errors(team):
    client = team.client("owner")
    url = reverse("domain_add", args=[team.org.uuid])
    response = client.post(url, {"name": "not a domain"})
    assert response.status_code == 200
    assert b"just the domain name" in response.content
    assert client.post(url, {"name": "Good.Example.com"}).status_code == 302
    assert team.org.domains.filter(name="good.example.com").exists()


def test_add_many_keeps_good_lines_and_reports_bad_ones(team):
    text = (
        "one.example.com\nbad name here!\ntwo.example.com, three.example.com\n\nacme.test\n-x.com"
    )
    response = team.client("owner").post(
        reverse("domain_add_many", args=[team.org.uuid]), {"names": text}
    )
    assert response.status_code == 200
    body = response.content.decode()
    names = set(team.org.domains.values_list("name", flat=True))
    assert names == {"acme.test", "one.example.com", "two.example.com", "three.example.com"}
    assert "Line 2" in body and "Line 5" in body and "Line 6" in body
    assert "already monitored" in body


def test_add_many_all_good_redirects(team):
    response = team.client("owner").post(
        reverse("domain_add_many", args=[team.org.uuid]), {"names": "x.example.com\ny.example.com"}
    )
    assert response.status_code == 302
    assert team.org.domains.count() == 3


def test_check_interval_defaults_to_an_hour_and_has_a_floor(team):
    assert team.domain.check_interval == timedelta(hours=1)
    team.domain.check_interval = timedelta(minutes=4)
    with pytest.raises(ValidationError):
        team.domain.full_clean()
    team.domain.check_interval = timedelta(minutes=5)
    team.domain.full_clean()


def test_delete_removes_only_that_domain(team):
    response = team.client("owner").post(reverse("domain_delete", args=[team.domain.uuid]))
    assert response.status_code == 302
    assert not Domain.objects.filter(id=team.domain.id).exists()
    assert Domain.objects.filter(id=team.other_domain.id).exists()
