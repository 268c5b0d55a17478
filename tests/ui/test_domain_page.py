"""The domain page: findings by area with fixes that parse, the facts, the other parts' partials."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from monitoring.fixes import FixContext, corrected_policy, fix_for
from monitoring.models import Domain
from monitoring.views.domain_page import area_of
from tests.ui.support import (
    assert_policy_parses,
    assert_sts_parses,
    assert_tlsrpt_parses,
    broken_report,
    report,
    store,
)

pytestmark = pytest.mark.django_db


def _page(team, domain, who="owner") -> str:
    response = team.client(who).get(reverse("domain_detail", args=[domain.uuid]))
    assert response.status_code == 200
    return response.content.decode()


def _snippets(body: str) -> list[str]:
    return [unescape(s) for s in re.findall(r'<pre id="fix-\d+">(.*?)</pre>', body, re.S)]


def test_findings_grouped_by_area_worst_first_with_plain_texts(team):
    store(team.domain, broken_report("acme.test"))
    body = _page(team, team.domain)
    mx_area = body.index('id="area-mx"')
    tlsrpt_area = body.index('id="area-tlsrpt"')
    assert mx_area < tlsrpt_area  # the area with an error comes before warnings only
    assert body.index("MX host not covered by the policy") < body.index("MX certificate expires")
    assert "Why it matters" in body
    assert "Senders that enforce the policy refuse to deliver" in body  # catalogue "why"
    assert "matches no mx pattern" in body  # the value seen


def test_fixes_are_exact_texts_that_parse(team):
    store(team.domain, broken_report("acme.test"))
    snippets = _snippets(_page(team, team.domain))
    policies = [s for s in snippets if s.startswith("version: STSv1")]
    records = [s for s in snippets if s.startswith("v=STSv1")]
    tlsrpt = [s for s in snippets if s.startswith("v=TLSRPTv1")]
    assert policies and records and tlsrpt
    for text in policies:
        assert_policy_parses(text)
        assert "mx: mx1.acme.test" in text and "mx: mx2.acme.test" in text
        assert "mode: enforce" in text
    for value in records:
        assert assert_sts_parses(value) != "20240101T000000"  # a new id
    for value in tlsrpt:
        assert assert_tlsrpt_parses(value)


def test_facts_show_records_policy_and_mx_table(team):
    store(team.domain, broken_report("acme.test"))
    body = _page(team, team.domain)
    assert "v=STSv1; id=20240101T000000" in body
    assert "mode: enforce" in body
    assert "TLSv1.3" in body and "192.0.2.10" in body and "192.0.2.11" in body
    assert "✗ not covered" in body
    assert "No v=TLSRPTv1 record" in body


def test_healthy_domain_says_so(team):
    store(team.domain, report("acme.test"))
    body = _page(team, team.domain)
    assert "Everything checks out" in body


def test_unchecked_domain(team):
    body = _page(team, team.domain)
    assert "Not checked yet" in body


def test_other_parts_are_included(team):
    store(team.domain, report("acme.test"))
    body = _page(team, team.domain)
    assert reverse("domain_history_partial", args=[team.domain.uuid]) in body
    assert reverse("check_now", args=[team.domain.uuid]) in body
    assert reverse("domain_report_charts", args=[team.domain.uuid]) in body


def test_tenancy(team):
    store(team.domain, broken_report("acme.test"))
    viewer = _page(team, team.domain, "viewer")
    assert "Change policy" not in viewer
    assert "Change policy" in _page(team, team.domain, "member")
    url = reverse("domain_detail", args=[team.domain.uuid])
    assert team.client("stranger").get(url).status_code == 404
    other = reverse("domain_detail", args=[team.other_domain.uuid])
    assert team.client("owner").get(other).status_code == 404


def test_area_of_codes():
    assert area_of("sts.record.missing") == "record"
    assert area_of("sts.id.stale") == "changes"
    assert area_of("drift.mx.changed") == "changes"
    assert area_of("policy.fetch.redirect") == "policy"
    assert area_of("mx.cert.expired") == "mx"
    assert area_of("tlsrpt.record.invalid") == "tlsrpt"


@pytest.mark.lab
@pytest.mark.parametrize(
    "name",
    [
        "mx-not-covered.lab.test",
        "policy-mx-unused.lab.test",
        "policy-max-age-low.lab.test",
        "policy-mx-missing.lab.test",
        "record-no-id.lab.test",
        "tlsrpt-no-rua.lab.test",
        "policy-bad-line.lab.test",
        "wildcard-too-deep.lab.test",
    ],
)
def test_fixes_for_real_broken_domains_parse_and_cover_every_mx(lab, name):
    from django.utils import timezone

    from monitoring.checks.engine import check_domain
    from monitoring.checks.names import matches_pattern

    data = check_domain(name, lab.options()).to_dict()
    ctx = FixContext(domain=name, report=data, rua=["mailto:tls@acme.test"], now=timezone.now())
    texts = [fix.text for f in data["findings"] for fix in fix_for(f, ctx)]
    assert texts, data["findings"]
    hosts = [h["name"] for h in data["mx"]]
    for text in texts:
        if text.startswith("version:"):
            assert_policy_parses(text)
            patterns = [line[4:] for line in text.splitlines() if line.startswith("mx: ")]
            assert all(any(matches_pattern(h, p) for p in patterns) for h in hosts)
        elif text.startswith("v=STSv1"):
            assert_sts_parses(text)
        elif text.startswith("v=TLSRPTv1"):
            assert_tlsrpt_parses(text)


def test_corrected_policy_keeps_matching_patterns_and_drops_stale_ones():
    data = report("acme.test")
    data["policy"]["parsed"]["mx"] = ["mx1.acme.test", "old.acme.test", "*.*.bad"]
    data["policy"]["parsed"]["max_age"] = 3600
    text = corrected_policy(data)
    assert "mx: mx1.acme.test\r\n" in text and "old.acme.test" not in text and "bad" not in text
    assert "max_age: 604800" in text


def test_domain_row_in_another_org_with_the_same_name_is_separate(team):
    twin = Domain.objects.create(organization=team.other_org, name="acme.test")
    store(twin, broken_report("acme.test"))
    store(team.domain, report("acme.test"))
    assert "Everything checks out" in _page(team, team.domain)
