"""The onboarding wizard through the test client, against the lab: every step, downloads,
resuming, hosting, and who may use it."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from monitoring.models import AlertChannel, Domain, HostedPolicy, OnboardingSession
from tests.conftest import client_for, make_user
from tests.ui.support import assert_policy_parses, assert_sts_parses, assert_tlsrpt_parses

pytestmark = [pytest.mark.django_db, pytest.mark.lab]

DOMAIN = "no-sts.lab.test"  # MX host fine, TLSRPT record present, no MTA-STS yet


@pytest.fixture
def setup(settings, lab):
    settings.CHECK_OPTIONS = lab.options()
    settings.SITE_URL = "https://stsguard.test"
    settings.REPORT_MAIL_DOMAIN = "reports.stsguard.test"
    settings.HOSTED_POLICY_TARGET = "policies.stsguard.test"
    with lab.changed(DOMAIN):
        yield lab


def _step(team, n: int) -> str:
    return reverse("wizard_step", args=[team.org.uuid, n])


def _invites(**rows) -> dict:
    data = {
        "invite-TOTAL_FORMS": "3",
        "invite-INITIAL_FORMS": "0",
        "invite-MIN_NUM_FORMS": "0",
        "invite-MAX_NUM_FORMS": "10",
    }
    data.update(rows)
    return data


def _walk_to_hosting(team, client, choice="nginx") -> Domain:
    """Steps 1-5 for DOMAIN; returns the domain."""
    assert client.get(reverse("wizard_start")).url == _step(team, 1)
    response = client.post(
        _step(team, 1), _invites(**{"invite-0-email": "dana@acme.test", "invite-0-role": "viewer"})
    )
    assert response.url == _step(team, 2)
    assert any("dana@acme.test" in m.to for m in mail.outbox)
    assert client.post(_step(team, 2), {"names": DOMAIN}).status_code == 302
    domain = Domain.objects.get(organization=team.org, name=DOMAIN)
    assert not domain.enabled  # monitoring starts at the last step
    found = client.get(reverse("wizard_discover", args=[team.org.uuid, domain.uuid]))
    body = found.content.decode()
    assert "mx1.no-sts.lab.test" in body and "none yet" in body
    assert client.post(_step(team, 2), {"action": "next"}).url == _step(team, 3)
    page = client.get(_step(team, 3)).content.decode()
    assert ">mx1.no-sts.lab.test</textarea>" in page  # pre-filled from discovery
    response = client.post(
        _step(team, 3),
        {"mode": "testing", "max_age": "604800", f"mx-{domain.uuid}": "mx1.no-sts.lab.test"},
    )
    assert response.url == _step(team, 4)
    page = client.get(_step(team, 4)).content.decode()
    assert "https://stsguard.test/tlsrpt/" in page and "@reports.stsguard.test" in page
    response = client.post(_step(team, 4), {"use_ours": "on", "own": "mailto:tls@acme.test"})
    assert response.url == _step(team, 5)
    response = client.post(_step(team, 5), {"choice": choice})
    assert response.url == _step(team, 6), response.content.decode()[:2000]
    return domain


def _session(team) -> OnboardingSession:
    return OnboardingSession.objects.get(organization=team.org, user=team.owner)


def test_whole_wizard_ends_green_and_monitoring_on(team, setup):
    client = team.client("owner")
    domain = _walk_to_hosting(team, client)
    session = _session(team)
    policy_id = session.data["policy_ids"][str(domain.uuid)]
    assert re.fullmatch(r"\d{8}T\d{6}", policy_id)
    rua = session.data["rua"]
    assert rua[0].startswith("https://stsguard.test/tlsrpt/") and "mailto:tls@acme.test" in rua

    # Step 6: the records, and the files to download.
    page = client.get(_step(team, 6)).content.decode()
    assert f"v=STSv1; id={policy_id}" in page and "v=TLSRPTv1; rua=" in page
    zone = client.get(reverse("wizard_records_download", args=[team.org.uuid, "zone"]))
    zone_text = zone.content.decode()
    assert zone["Content-Disposition"].startswith("attachment")
    assert re.search(rf'^_mta-sts\s+3600 IN TXT\s+"v=STSv1; id={policy_id}"$', zone_text, re.M)
    sts_value = re.search(r'_mta-sts .*?"(.*)"', zone_text).group(1)
    tls_value = re.search(r'_smtp\._tls .*?"(.*)"', zone_text).group(1)
    assert assert_sts_parses(sts_value) == policy_id
    assert assert_tlsrpt_parses(tls_value) == rua
    sheet = client.get(reverse("wizard_records_download", args=[team.org.uuid, "txt"]))
    assert "Name/Host: _mta-sts" in sheet.content.decode()

    # Publish what the wizard generated into the lab, policy first, then the records.
    policy = client.get(
        reverse("wizard_download", args=[team.org.uuid, domain.uuid, "nginx", 1])
    ).content
    assert_policy_parses(policy)
    setup.set_policy(DOMAIN, policy, behaviour="ok")
    setup.set_txt(f"_mta-sts.{DOMAIN}", [sts_value])
    setup.set_txt(f"_smtp._tls.{DOMAIN}", [tls_value])

    assert client.post(_step(team, 6)).url == _step(team, 7)
    verify = client.get(reverse("wizard_verify", args=[team.org.uuid, domain.uuid]))
    body = verify.content.decode()
    assert "all green" in body and "req-fail" not in body
    assert body.count("req-ok") == 6

    assert client.post(_step(team, 7)).url == _step(team, 8)
    response = client.post(_step(team, 8), {"interval": "60", "emails": "ops@acme.test"})
    assert response.url == reverse("domain_list", args=[team.org.uuid])
    domain.refresh_from_db()
    assert domain.enabled and domain.check_interval.total_seconds() == 3600
    channel = AlertChannel.objects.get(organization=team.org)
    assert channel.config == {"emails": ["ops@acme.test"]}
    assert _session(team).completed_at is not None


def test_verify_shows_the_fix_beside_what_fails(team, setup):
    client = team.client("owner")
    domain = _walk_to_hosting(team, client)
    body = client.get(reverse("wizard_verify", args=[team.org.uuid, domain.uuid])).content
    body = body.decode()
    assert "not yet" in body and "req-fail" in body
    policy_id = _session(team).data["policy_ids"][str(domain.uuid)]
    assert f"v=STSv1; id={policy_id}" in body  # the record to publish, beside its failure
    assert "version: STSv1" in body  # and the policy file
    # The lab's old TLSRPT record is valid but does not send reports to us.
    assert "sends reports to mailto:tls@no-sts.lab.test, not to https://stsguard.test" in body


def test_recipe_files_and_zip_download(team, setup):
    client = team.client("owner")
    domain = _walk_to_hosting(team, client, choice="github-pages")
    for slug, policy_index in [
        ("github-pages", 0),
        ("netlify", 0),
        ("nginx", 1),
        ("apache", 1),
        ("caddy", 1),
    ]:
        url = reverse("wizard_download", args=[team.org.uuid, domain.uuid, slug, policy_index])
        response = client.get(url)
        assert response.status_code == 200, slug
        assert response["Content-Disposition"] == 'attachment; filename="mta-sts.txt"'
        assert_policy_parses(response.content)
        assert b"\r\n" in response.content  # exact bytes: CRLF kept
    zipped = client.get(
        reverse("wizard_recipe_zip", args=[team.org.uuid, domain.uuid, "github-pages"])
    )
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert ".well-known/mta-sts.txt" in names and "CNAME" in names
    worker = client.get(
        reverse("wizard_download", args=[team.org.uuid, domain.uuid, "cloudflare-workers", 0])
    )
    assert b"mta-sts.no-sts.lab.test" in worker.content
    missing = reverse("wizard_download", args=[team.org.uuid, domain.uuid, "nginx", 9])
    assert client.get(missing).status_code == 404


def test_hosted_choice_serves_the_policy_and_adds_the_cname(team, setup):
    client = team.client("owner")
    domain = _walk_to_hosting(team, client, choice="hosted")
    hosted = HostedPolicy.objects.get(domain=domain)
    assert hosted.enabled and hosted.host == f"mta-sts.{DOMAIN}"
    assert_policy_parses(hosted.policy_text)
    served = Client().get("/.well-known/mta-sts.txt", HTTP_HOST=f"mta-sts.{DOMAIN}")
    assert served.content == hosted.policy_text.encode()
    page = client.get(_step(team, 6)).content.decode()
    assert f"mta-sts.{DOMAIN}" in page and "policies.stsguard.test" in page
    zone = client.get(reverse("wizard_records_download", args=[team.org.uuid, "zone"]))
    assert re.search(
        r"^mta-sts\s+3600 IN CNAME\s+policies\.stsguard\.test\.$", zone.content.decode(), re.M
    )
    # A policy changed later is served at once (the new record id comes after it).
    client.get(_step(team, 3))
    client.post(
        _step(team, 3),
        {"mode": "enforce", "max_age": "86400", f"mx-{domain.uuid}": "*.no-sts.lab.test"},
    )
    hosted.refresh_from_db()
    assert "mode: enforce" in hosted.policy_text and "mx: *.no-sts.lab.test" in hosted.policy_text
    assert hosted.policy_id == _session(team).data["policy_ids"][str(domain.uuid)]
    # Choosing a recipe afterwards stops serving it here.
    client.get(_step(team, 5))
    client.post(_step(team, 5), {"choice": "caddy"})
    assert not HostedPolicy.objects.get(domain=domain).enabled


def test_hosting_a_name_another_organization_serves_fails_clearly(team, setup):
    twin = Domain.objects.create(organization=team.other_org, name=DOMAIN)
    HostedPolicy.objects.create(domain=twin, policy_text="version: STSv1\r\n")
    client = team.client("owner")
    with pytest.raises(AttributeError):  # step 5 answers 200 with the error, not a redirect
        _walk_to_hosting(team, client, choice="hosted")
    response = client.post(_step(team, 5), {"choice": "hosted"})
    assert response.status_code == 200
    assert "already hosted for another organization" in response.content.decode()
    assert _session(team).step == 5
    assert not HostedPolicy.objects.filter(domain__organization=team.org).exists()


def test_coverage_endpoint_checks_patterns_as_typed(team, setup):
    client = team.client("owner")
    client.post(_step(team, 1), _invites())
    client.post(_step(team, 2), {"names": "two-mx.lab.test"})
    domain = Domain.objects.get(organization=team.org, name="two-mx.lab.test")
    client.get(reverse("wizard_discover", args=[team.org.uuid, domain.uuid]))
    url = reverse("domain_coverage", args=[domain.uuid])
    field = f"mx-{domain.uuid}"
    partial = client.post(url, {"field": field, field: "mx1.two-mx.lab.test"}).content.decode()
    assert "is not covered" in partial and "mx2.two-mx.lab.test" in partial
    full = client.post(url, {"field": field, field: "*.two-mx.lab.test"}).content.decode()
    assert "Every MX host is covered" in full
    stale = client.post(url, {"field": field, field: "*.two-mx.lab.test\nold.example.com"})
    assert "matches no MX host" in stale.content.decode()
    bad = client.post(url, {"field": field, field: "mx*.example.com"}).content.decode()
    assert "wildcard" in bad
    assert team.client("viewer").post(url, {field: "x.example.com"}).status_code == 200
    assert team.client("stranger").post(url, {field: "x.example.com"}).status_code == 404


def test_policy_step_refuses_patterns_that_are_not_valid(team, setup):
    client = team.client("owner")
    client.post(_step(team, 1), _invites())
    client.post(_step(team, 2), {"names": DOMAIN})
    client.post(_step(team, 2), {"action": "next"})
    domain = Domain.objects.get(organization=team.org, name=DOMAIN)
    response = client.post(
        _step(team, 3), {"mode": "enforce", "max_age": "604800", f"mx-{domain.uuid}": ""}
    )
    assert response.status_code == 200
    assert "needs at least one mx pattern" in response.content.decode()


def test_wizard_resumes_where_it_was_left_after_logging_in_again(team, setup):
    client = team.client("owner")
    _walk_to_hosting(team, client)
    again = client_for(team.owner)  # a new log-in: a new session cookie
    assert again.get(reverse("wizard_start")).url == _step(team, 6)
    # Steps not reached yet are not reachable by URL.
    assert team.client("member").get(_step(team, 5)).url == _step(team, 1)


def test_a_newcomer_creates_the_organization_in_step_one(db):
    user = make_user("new@newco.test")
    client = client_for(user)
    assert client.get(reverse("wizard_start")).status_code == 200
    response = client.post(
        reverse("wizard_start"),
        {
            "name": "NewCo",
            **_invites(**{"invite-0-email": "b@newco.test", "invite-0-role": "admin"}),
        },
    )
    session = OnboardingSession.objects.get(user=user)
    assert session.organization.name == "NewCo" and session.step == 2
    assert response.url == reverse("wizard_step", args=[session.organization.uuid, 2])
    assert session.organization.invitations.get().role == "admin"


def test_domains_step_keeps_existing_domains_and_reports_bad_lines(team, setup):
    client = team.client("owner")
    client.post(_step(team, 1), _invites())
    response = client.post(_step(team, 2), {"names": "acme.test\nnot a domain!"})
    assert response.status_code == 200
    assert "Line 2" in response.content.decode()
    assert _session(team).data["domains"] == [str(team.domain.uuid)]
    assert Domain.objects.get(id=team.domain.id).enabled  # an existing domain stays as it was


def test_tenancy_of_every_wizard_view(team, setup):
    org, dom = team.org.uuid, team.domain.uuid
    OnboardingSession.objects.create(
        organization=team.org, user=team.viewer, data={"domains": [str(dom)]}, furthest_step=8
    )
    urls = [
        _step(team, 1),
        _step(team, 3),
        reverse("wizard_discover", args=[org, dom]),
        reverse("wizard_verify", args=[org, dom]),
        reverse("wizard_download", args=[org, dom, "nginx", 0]),
        reverse("wizard_recipe_zip", args=[org, dom, "nginx"]),
        reverse("wizard_records_download", args=[org, "zone"]),
    ]
    viewer, stranger = team.client("viewer"), team.client("stranger")
    assert viewer.get(reverse("wizard_start")).status_code == 403
    for url in urls:
        assert viewer.get(url).status_code == 403, url
        assert stranger.get(url).status_code == 404, url
    assert viewer.post(_step(team, 2), {"names": "x.acme.test"}).status_code == 403
    assert stranger.post(_step(team, 2), {"names": "x.acme.test"}).status_code == 404
    assert not Domain.objects.filter(name="x.acme.test").exists()
    assert Client().get(_step(team, 1)).status_code == 302  # anonymous: log in first


def test_changing_the_domains_sends_the_later_steps_round_again(team, setup):
    client = team.client("owner")
    _walk_to_hosting(team, client)
    client.post(_step(team, 2), {"names": f"{DOMAIN}\ntwo-mx.lab.test"})
    assert _session(team).furthest_step == 2
    assert client.get(_step(team, 6)).url == _step(team, 2)


def test_a_finished_wizard_starts_again_for_more_domains(team, setup):
    client = team.client("owner")
    _walk_to_hosting(team, client)
    for step in (6, 7):
        client.post(_step(team, step))
    client.post(_step(team, 8), {"interval": "60", "emails": ""})
    assert client.get(reverse("wizard_start")).url == _step(team, 2)
    session = _session(team)
    assert "domains" not in session.data and session.data["rua"]
