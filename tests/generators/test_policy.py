"""The policy file and its id."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitoring.generators.policy import (
    DEFAULT_MAX_AGE,
    MAX_MAX_AGE,
    PolicySpec,
    new_policy_id,
    render_policy,
)


def test_render_is_exact_bytes_with_crlf():
    spec = PolicySpec("enforce", 604800, ["mail.example.com", "*.example.net"])
    assert render_policy(spec) == (
        "version: STSv1\r\n"
        "mode: enforce\r\n"
        "mx: mail.example.com\r\n"
        "mx: *.example.net\r\n"
        "max_age: 604800\r\n"
    )


def test_render_has_no_bare_lf_and_ends_with_crlf():
    text = render_policy(PolicySpec("testing", 86400, ["mx.example.com"]))
    assert text.endswith("\r\n")
    assert text.count("\n") == text.count("\r\n") == 4
    assert text.isascii()


def test_patterns_are_normalised_and_deduplicated_in_order():
    spec = PolicySpec("testing", 86400, ["MX2.Example.COM.", "mx1.example.com", "mx2.example.com"])
    assert spec.mx == ("mx2.example.com", "mx1.example.com")
    assert "mx: mx2.example.com\r\nmx: mx1.example.com\r\n" in render_policy(spec)


def test_unicode_pattern_becomes_a_labels():
    spec = PolicySpec("enforce", 86400, ["*.bücher.example"])
    assert spec.mx == ("*.xn--bcher-kva.example",)


def test_mode_none_needs_no_mx():
    assert render_policy(PolicySpec("none", 86400, [])) == (
        "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n"
    )


def test_max_age_bounds_are_inclusive():
    assert "max_age: 1\r\n" in render_policy(PolicySpec("none", 1, []))
    assert f"max_age: {MAX_MAX_AGE}\r\n" in render_policy(PolicySpec("none", MAX_MAX_AGE, []))
    assert DEFAULT_MAX_AGE == 604800


@pytest.mark.parametrize(
    ("mode", "max_age", "mx", "message"),
    [
        ("Enforce", 86400, ["mx.example.com"], "mode must be one of enforce, testing, none"),
        ("report", 86400, ["mx.example.com"], "got 'report'"),
        ("enforce", 0, ["mx.example.com"], "between 1 and 31557600"),
        ("enforce", MAX_MAX_AGE + 1, ["mx.example.com"], "got 31557601"),
        ("enforce", "86400", ["mx.example.com"], "whole number of seconds"),
        ("enforce", True, ["mx.example.com"], "whole number of seconds"),
        ("enforce", 86400, [], "needs at least one mx pattern"),
        ("testing", 86400, [], "mode testing needs at least one mx pattern"),
        ("enforce", 86400, "mx.example.com", "a list of patterns, not a single string"),
        ("enforce", 86400, ["mx.*.example.com"], "whole left-most label"),
        ("enforce", 86400, ["*mx.example.com"], "whole left-most label"),
        ("enforce", 86400, ["*.*.example.com"], "only the whole left-most label"),
        ("enforce", 86400, ["*.com"], "single label"),
        ("enforce", 86400, ["localhost"], "single label"),
        ("enforce", 86400, ["192.0.2.1"], "IP address"),
        ("enforce", 86400, ["mx_1.example.com"], "not a valid domain name"),
        ("enforce", 86400, ["-mx.example.com"], "not a valid domain name"),
        ("enforce", 86400, [""], "Enter a domain name"),
        ("enforce", 86400, [None], "must be text"),
    ],
)
def test_invalid_specs_raise_clear_errors(mode, max_age, mx, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        PolicySpec(mode, max_age, mx)


def test_new_policy_id_is_utc_timestamp():
    now = datetime(2026, 11, 23, 18, 45, 0, 123456, tzinfo=UTC)
    assert new_policy_id(now) == "20261123T184500"


def test_new_policy_id_converts_to_utc():
    now = datetime(2026, 11, 23, 19, 45, 0, tzinfo=timezone(timedelta(hours=1)))
    assert new_policy_id(now) == "20261123T184500"


def test_new_policy_id_is_alphanumeric_and_short():
    policy_id = new_policy_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert policy_id.isalnum()
    assert 1 <= len(policy_id) <= 32


def test_new_policy_id_sorts_by_time():
    earlier = new_policy_id(datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC))
    later = new_policy_id(datetime(2026, 2, 1, 0, 0, 0, tzinfo=UTC))
    assert earlier < later


def test_new_policy_id_moves_past_an_equal_or_newer_previous():
    now = datetime(2026, 11, 23, 18, 45, 0, tzinfo=UTC)
    assert new_policy_id(now, previous="20261123T184500") == "20261123T184501"
    # A clock that went back still gives an id that sorts after the previous one.
    assert new_policy_id(now, previous="20261123T190000") == "20261123T190001"
    assert new_policy_id(now, previous="20261123T235959") == "20261124T000000"


def test_new_policy_id_ignores_an_older_or_foreign_previous():
    now = datetime(2026, 11, 23, 18, 45, 0, tzinfo=UTC)
    assert new_policy_id(now, previous="20250101T000000") == "20261123T184500"
    assert new_policy_id(now, previous="v42") == "20261123T184500"


def test_new_policy_id_refuses_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        new_policy_id(datetime(2026, 11, 23, 18, 45, 0))
