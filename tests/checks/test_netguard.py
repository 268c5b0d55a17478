"""The address guard: nothing private, loopback, link-local, multicast or reserved."""

from __future__ import annotations

import pytest

from monitoring.checks.netguard import blocked_reason, is_forbidden
from monitoring.checks.options import CheckOptions


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared address space"),
        ("100.127.255.254", "shared address space"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "this network"),
        ("255.255.255.255", "private"),
        ("240.0.0.1", "private"),
        ("192.0.2.1", "private"),
        ("198.18.0.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::127.0.0.1", "reserved"),
        ("64:ff9b::a00:1", "reserved"),
        ("2002:a00:1::1", "private address (10.0.0.1 embedded in IPv6)"),
        ("2002:7f00:1::1", "loopback address (127.0.0.1 embedded in IPv6)"),
        ("not-an-ip", "not an IP address"),
    ],
)
def test_forbidden_addresses(ip: str, reason: str) -> None:
    found = is_forbidden(ip)
    assert found is not None and reason in found


@pytest.mark.parametrize(
    "ip",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.1",
     "2001:4860:4860::8888", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "2002:808:808::1"],
)  # fmt: skip
def test_public_addresses_are_allowed(ip: str) -> None:
    assert is_forbidden(ip) is None


def test_settings_can_allow_private_targets() -> None:
    assert blocked_reason("127.0.0.1", CheckOptions()) == "loopback address"
    assert blocked_reason("127.0.0.1", CheckOptions(allow_private_targets=True)) is None
    assert blocked_reason("8.8.8.8", CheckOptions()) is None
