"""policy_text, policy_fingerprint and seen_sts_policy over reported policy-strings."""

from __future__ import annotations

from reports.limits import Limits
from reports.parsing import parse_report
from reports.policy_strings import (
    SeenStsPolicy,
    policy_fingerprint,
    policy_text,
    seen_sts_policy,
)
from tests.reports.support import sample

MOX_ORDER = ["version: STSv1", "mode: enforce", "max_age: 86400", "mx: komijn.test.xmox.nl"]
MICROSOFT_ORDER = ["version: STSv1", "mode: enforce", "mx: komijn.test.xmox.nl", "max_age: 86400"]


def test_text_keeps_the_senders_order_with_normalised_spacing() -> None:
    assert policy_text(["version:STSv1", "  mode:   testing ", "mx: MX.Example.COM."]) == (
        "version: STSv1\nmode: testing\nmx: mx.example.com\n"
    )


def test_one_string_holding_the_whole_body_is_split_into_lines() -> None:
    body = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 86400\r\n"
    assert policy_text([body]) == policy_text(
        ["version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400"]
    )


def test_same_policy_in_another_order_has_the_same_fingerprint() -> None:
    # Google and Microsoft listed the same policy for test.xmox.nl in different orders.
    assert policy_fingerprint(MOX_ORDER) == policy_fingerprint(MICROSOFT_ORDER)
    assert len(policy_fingerprint(MOX_ORDER)) == 64


def test_a_changed_field_changes_the_fingerprint() -> None:
    testing = [line.replace("enforce", "testing") for line in MOX_ORDER]
    assert policy_fingerprint(testing) != policy_fingerprint(MOX_ORDER)


def test_no_policy_strings_give_empty_text_and_fingerprint() -> None:
    assert policy_text([]) == ""
    assert policy_fingerprint([]) == ""


def test_rfc_example_and_its_erratum_saw_the_same_policy() -> None:
    limits = Limits()
    before = parse_report(sample("domainaware__parsedmarc__rfc8460.json"), limits)
    after = parse_report(sample("phi-ag__mta-sts-exporter__rfc-errata-6241.json"), limits)
    strings_before = before.policies[0].policy_strings
    assert policy_fingerprint(strings_before) == policy_fingerprint(
        after.policies[0].policy_strings
    )
    assert seen_sts_policy(strings_before) == SeenStsPolicy(
        version="STSv1", mode="testing", max_age=86400, mx=["*.mail.company-y.example"]
    )


def test_seen_policy_first_field_wins_mx_accumulates_bad_max_age_is_none() -> None:
    seen = seen_sts_policy(
        ["mode: enforce", "mode: none", "mx: a.example", "mx: b.example", "max_age: soon"]
    )
    assert seen == SeenStsPolicy(
        version=None, mode="enforce", max_age=None, mx=["a.example", "b.example"]
    )
