"""The policy editor: a new policy and a new id, in the right order; evidence before enforce;
a safe way to switch off."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitoring.models import HostedPolicy
from tests.ui.support import add_tlsrpt, assert_policy_parses, assert_sts_parses, report, store

pytestmark = pytest.mark.django_db


def _testing_report(domain: str) -> dict:
    data = report(domain)
    data["policy"]["parsed"]["mode"] = "testing"
    data["policy"]["text"] = data["policy"]["text"].replace("enforce", "testing")
    return data


def _pre(body: str, element_id: str) -> str:
    return unescape(re.search(rf'<pre id="{element_id}">(.*?)</pre>', body, re.S).group(1))


def _plan(team, who="owner", **data) -> str:
    form = {"mode": "enforce", "max_age": "604800", "mx": "mx1.acme.test", **data}
    response = team.client(who).post(reverse("policy_edit", args=[team.domain.uuid]), form)
    assert response.status_code == 200
    return response.content.decode()


def test_form_is_prefilled_from_the_policy_in_force(team):
    store(team.domain, _testing_report("acme.test"))
    body = team.client("owner").get(reverse("policy_edit", args=[team.domain.uuid])).content
    body = body.decode()
    assert 'value="testing" checked' in body
    assert ">mx1.acme.test</textarea>" in body and 'value="604800"' in body
    assert "Every MX host is covered" in body


def test_plan_gives_policy_then_record_with_a_new_id(team):
    store(team.domain, _testing_report("acme.test"))
    body = _plan(team, mode="testing", max_age="1209600")
    policy = _pre(body, "new-policy")
    record = _pre(body, "new-record")
    assert_policy_parses(policy)
    assert "max_age: 1209600" in policy
    new_id = assert_sts_parses(record)
    assert new_id != "20240101T000000" and re.fullmatch(r"\d{8}T\d{6}", new_id)
    assert body.index("Publish the new policy") < body.index("Then change the id in DNS")


def test_moving_to_enforce_shows_the_evidence_first(team):
    store(team.domain, _testing_report("acme.test"))
    today = timezone.now().date()
    add_tlsrpt(team.domain, today - dt.timedelta(days=2), 500, 7, "certificate-expired")
    add_tlsrpt(team.domain, today - dt.timedelta(days=20), 10, 90)  # outside the 14 days
    body = _plan(team)
    assert "Before you enforce: the evidence" in body
    assert "<strong>7</strong> failed of 507 sessions (1.4%)" in body
    assert "certificate-expired" in body and "mx2.acme.test" in body
    assert "Every MX host is covered" in body
    assert body.index("the evidence") < body.index("Publish the new policy")


def test_enforce_without_reports_says_there_is_no_evidence(team):
    store(team.domain, _testing_report("acme.test"))
    assert "No TLS reports in the last 14 days" in _plan(team)


def test_enforce_with_an_uncovered_mx_host_shows_it(team):
    data = _testing_report("acme.test")
    data["mx"].append({"name": "mx2.acme.test", "preference": 20, "addresses": []})
    store(team.domain, data)
    body = _plan(team)
    assert "mx2.acme.test</code> <strong>is not covered" in body


def test_turning_off_goes_through_mode_none_and_waits_max_age(team):
    store(team.domain, report("acme.test"))  # enforce, max_age a week
    body = _plan(team, mode="none", mx="")
    assert "Turning MTA-STS off safely" in body
    assert "mode: none" in _pre(body, "new-policy")
    after = (timezone.now() + dt.timedelta(days=7)).strftime("%Y-%m-%d")
    assert after in body and "7 days" in body


def test_invalid_input_stays_on_the_form(team):
    store(team.domain, report("acme.test"))
    url = reverse("policy_edit", args=[team.domain.uuid])
    response = team.client("owner").post(url, {"mode": "enforce", "max_age": "604800", "mx": ""})
    assert "needs at least one mx pattern" in response.content.decode()
    response = team.client("owner").post(url, {"mode": "enforce", "max_age": "99999999999"})
    assert response.status_code == 200 and "new-policy" not in response.content.decode()


def test_publish_updates_a_hosted_policy_then_shows_the_record(team):
    store(team.domain, _testing_report("acme.test"))
    HostedPolicy.objects.create(
        domain=team.domain,
        policy_text="version: STSv1\r\nmode: testing\r\nmx: mx1.acme.test\r\nmax_age: 604800\r\n",
        policy_id="old1",
    )
    body = _plan(team)
    assert "Publish this policy now (hosted by us)" in body
    new_id = assert_sts_parses(_pre(body, "new-record"))
    url = reverse("policy_publish", args=[team.domain.uuid])
    form = {"mode": "enforce", "max_age": "604800", "mx": "mx1.acme.test", "policy_id": new_id}
    response = team.client("member").post(url, form)
    assert response.status_code == 200
    assert f"v=STSv1; id={new_id}" in response.content.decode()
    hosted = HostedPolicy.objects.get(domain=team.domain)
    assert "mode: enforce" in hosted.policy_text and hosted.policy_id == new_id
    served = Client().get("/.well-known/mta-sts.txt", HTTP_HOST="mta-sts.acme.test")
    assert served.content == hosted.policy_text.encode()


def test_download_is_the_exact_policy_file(team):
    url = reverse("policy_download", args=[team.domain.uuid])
    response = team.client("viewer").post(
        url, {"mode": "testing", "max_age": "86400", "mx": "*.acme.test"}
    )
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == (
        b"version: STSv1\r\nmode: testing\r\nmx: *.acme.test\r\nmax_age: 86400\r\n"
    )


def test_tenancy(team):
    store(team.domain, report("acme.test"))
    edit = reverse("policy_edit", args=[team.domain.uuid])
    publish = reverse("policy_publish", args=[team.domain.uuid])
    download = reverse("policy_download", args=[team.domain.uuid])
    form = {"mode": "enforce", "max_age": "604800", "mx": "mx1.acme.test", "policy_id": "n1"}
    viewer, stranger = team.client("viewer"), team.client("stranger")
    assert viewer.get(edit).status_code == 403
    assert viewer.post(edit, form).status_code == 403
    assert viewer.post(publish, form).status_code == 403
    for method, url in [("get", edit), ("post", edit), ("post", publish), ("post", download)]:
        assert getattr(stranger, method)(url, form).status_code == 404, url
    assert not HostedPolicy.objects.exists()
