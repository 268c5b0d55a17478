"""Hosted policies: served for the right Host only, exact bytes, text/plain, never a redirect."""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse

from monitoring.models import Domain, HostedPolicy

pytestmark = pytest.mark.django_db

POLICY = "version: STSv1\r\nmode: testing\r\nmx: mx1.acme.test\r\nmax_age: 604800\r\n"
PATH = "/.well-known/mta-sts.txt"


@pytest.fixture
def hosted(team) -> HostedPolicy:
    return HostedPolicy.objects.create(domain=team.domain, policy_text=POLICY, policy_id="x1")


def test_serves_exact_bytes_as_text_plain_for_the_hosted_host(hosted):
    response = Client().get(PATH, HTTP_HOST="mta-sts.acme.test")
    assert response.status_code == 200
    assert response.content == POLICY.encode()
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert int(response["Content-Length"]) == len(POLICY.encode())


def test_host_with_port_and_upper_case_is_the_same_host(hosted):
    response = Client().get(PATH, HTTP_HOST="MTA-STS.Acme.Test:443")
    assert response.status_code == 200
    assert response.content == POLICY.encode()


def test_head_has_no_body_and_post_is_refused(hosted):
    head = Client().head(PATH, HTTP_HOST="mta-sts.acme.test")
    assert head.status_code == 200 and head.content == b""
    post = Client().post(PATH, HTTP_HOST="mta-sts.acme.test")
    assert post.status_code == 405
    assert post["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "path", ["/", "/.well-known/mta-sts.txt/", "/.well-known/MTA-STS.txt", "/admin/", "/x"]
)
def test_other_paths_of_a_hosted_host_are_404_never_a_redirect(hosted, path, settings):
    settings.APPEND_SLASH = True
    response = Client().get(path, HTTP_HOST="mta-sts.acme.test")
    assert response.status_code == 404


def test_unknown_and_disabled_hosts_are_404(hosted):
    assert Client().get(PATH, HTTP_HOST="mta-sts.unknown.test").status_code == 404
    hosted.enabled = False
    hosted.save()
    assert Client().get(PATH, HTTP_HOST="mta-sts.acme.test").status_code == 404


def test_the_policy_is_not_served_for_other_host_names(hosted):
    # The app's own host answers the app (404 from Django's URLconf), not the policy.
    assert Client().get(PATH, HTTP_HOST="testserver").status_code == 404
    # Names that are not mta-sts.<domain> go to Django's host validation: refused.
    assert Client().get(PATH, HTTP_HOST="acme.test").status_code == 400
    assert Client().get(PATH, HTTP_HOST="evil.mta-sts.acme.test").status_code == 400


def test_policy_follows_edits_byte_for_byte(hosted):
    hosted.policy_text = POLICY.replace("testing", "enforce")
    hosted.save()
    response = Client().get(PATH, HTTP_HOST="mta-sts.acme.test")
    assert response.content == POLICY.replace("testing", "enforce").encode()


def test_ask_endpoint_says_yes_only_for_hosted_names(hosted):
    url = "/internal/tls-ask"
    # Caddy asks with its own Host header, which is not in ALLOWED_HOSTS.
    yes = Client().get(url, {"domain": "mta-sts.acme.test"}, HTTP_HOST="web:8000")
    assert yes.status_code == 200
    for asked in ["acme.test", "mta-sts.unknown.test", "mta-sts.other.test", "", "127.0.0.1"]:
        response = Client().get(url, {"domain": asked}, HTTP_HOST="web:8000")
        assert response.status_code == 404, asked
    assert Client().get(url, {"domain": "mta-sts.acme.test"}).status_code == 200
    assert reverse("tls_ask") == url


def test_ask_endpoint_says_no_once_disabled(hosted):
    hosted.enabled = False
    hosted.save()
    response = Client().get("/internal/tls-ask", {"domain": "mta-sts.acme.test"})
    assert response.status_code == 404


def test_only_one_organization_may_serve_a_name(team, hosted):
    twin = Domain.objects.create(organization=team.other_org, name="acme.test")
    with pytest.raises(IntegrityError):
        HostedPolicy.objects.create(domain=twin, policy_text=POLICY)


def test_preview_is_for_members_only(team, hosted):
    url = reverse("hosted_policy_preview", args=[team.domain.uuid])
    viewer = team.client("viewer").get(url)
    assert viewer.status_code == 200 and viewer.content == POLICY.encode()
    assert team.client("stranger").get(url).status_code == 404
    assert Client().get(url).status_code == 302
