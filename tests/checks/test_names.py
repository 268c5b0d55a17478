"""Host names: domain input, policy mx patterns [8461 4.1], certificate names [6125 6.4]."""

from __future__ import annotations

import pytest

from monitoring.checks.names import (
    is_valid_pattern,
    matches_pattern,
    normalize_domain,
    san_matches,
)


@pytest.mark.parametrize(
    ("host", "pattern", "expected"),
    [
        ("mx1.example.com", "mx1.example.com", True),
        ("MX1.Example.COM", "mx1.example.com", True),
        ("mx1.example.com", "MX1.EXAMPLE.COM", True),
        ("mx1.example.com.", "mx1.example.com", True),
        ("mx1.example.com", "mx1.example.com.", True),
        ("mx1.example.com", "mx2.example.com", False),
        ("mx1.example.com", "example.com", False),
        ("mx.example.com", "*.example.com", True),
        ("MX.EXAMPLE.COM.", "*.Example.Com.", True),
        ("example.com", "*.example.com", False),
        ("a.b.example.com", "*.example.com", False),
        ("mx.example.com.evil.test", "*.example.com", False),
        ("mxexample.com", "*.example.com", False),
        (".example.com", "*.example.com", False),
        ("mx.example.com", "*", False),
        ("mx.example.com", "*.*.com", False),
        ("a.b.com", "*.*.com", False),
        ("amx.example.com", "a*.example.com", False),
        ("mx.example.com", "*example.com", False),
        ("mx.example.com", "mx.*.com", False),
        ("mx.example.com", "", False),
    ],
)
def test_matches_pattern(host: str, pattern: str, expected: bool) -> None:
    assert matches_pattern(host, pattern) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("mx.example.com", True),
        ("*.example.com", True),
        ("MX.Example.Com.", True),
        ("xn--bcher-kva.example", True),
        ("*.com", True),
        ("*", False),
        ("*.", False),
        ("*.*.example.com", False),
        ("a*.example.com", False),
        ("*a.example.com", False),
        ("mx.*.example.com", False),
        ("localhost", False),
        ("192.0.2.1", False),
        ("mx..example.com", False),
        ("-mx.example.com", False),
        ("mx-.example.com", False),
        ("mx_1.example.com", False),
        ("b\u00fccher.example", False),
        ("mx.example.com:25", False),
        ("https://mx.example.com", False),
        ("a" * 64 + ".example.com", False),
        ("", False),
    ],
)
def test_is_valid_pattern(pattern: str, expected: bool) -> None:
    assert is_valid_pattern(pattern) is expected


@pytest.mark.parametrize(
    ("host", "san", "expected"),
    [
        ("mx1.example.com", "mx1.example.com", True),
        ("MX1.example.com", "mx1.EXAMPLE.com", True),
        ("mx1.example.com.", "mx1.example.com", True),
        ("mx1.example.com", "*.example.com", True),
        ("example.com", "*.example.com", False),
        ("a.mx1.example.com", "*.example.com", False),
        ("mx1.example.com", "mx*.example.com", False),
        ("mx1.example.com", "*x1.example.com", False),
        ("mx1.example.com", "mx1.*.com", False),
        ("mx1.com", "*.com", False),
        ("mx1.example.com", "*", False),
        ("mx1.example.com", "mx2.example.com", False),
        ("mx1.example.com", "", False),
    ],
)
def test_certificate_name_matching(host: str, san: str, expected: bool) -> None:
    assert san_matches(host, san) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("example.com", "example.com"),
        ("  Example.COM.  ", "example.com"),
        ("b\u00fccher.example", "xn--bcher-kva.example"),
        ("B\u00dcCHER.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("sub.domain.example.co.uk", "sub.domain.example.co.uk"),
    ],
)
def test_normalize_domain(name: str, expected: str) -> None:
    assert normalize_domain(name) == expected


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "Enter a domain name"),
        ("   ", "Enter a domain name"),
        (".", "Enter a domain name"),
        ("https://example.com", "not 'https://example.com'"),
        ("example.com/path", "just the domain"),
        ("user@example.com", "just the domain"),
        ("example.com:443", "just the domain"),
        ("exa mple.com", "just the domain"),
        ("localhost", "single label"),
        ("192.0.2.1", "IP address"),
        ("-bad.example.com", "not a valid domain name"),
        ("under_score.example.com", "not a valid domain name"),
        ("a..example.com", "not a valid domain name"),
        ("a" * 64 + ".example.com", "not a valid domain name"),
        (("a" * 60 + ".") * 5 + "com", "not a valid domain name"),
    ],
)
def test_normalize_domain_rejects_with_a_message(name: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalize_domain(name)
    assert says in str(caught.value)
