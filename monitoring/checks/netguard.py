"""Refuse to connect to addresses that are not on the public internet.

A domain owner controls its DNS, so without this guard a check could be pointed at the
checker's own network (metadata services, databases, admin ports). The guard checks the
address that is actually connected to, after resolution, so DNS tricks cannot bypass it.
"""

from __future__ import annotations

import ipaddress

from monitoring.checks.options import CheckOptions

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


def is_forbidden(ip: str | IPAddress) -> str | None:
    """Why ``ip`` must not be a target (e.g. "loopback"), or None for a public address.

    IPv6 forms that embed an IPv4 address (mapped, 6to4, Teredo) are judged by the
    embedded address too, since they can reach it. (NAT64 and IPv4-compatible forms
    fall in ::/8 and are refused as reserved.)
    """
    try:
        address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    except ValueError:
        return "not an IP address"
    reason = _own_reason(address)
    if reason is not None:
        return reason
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in _embedded_ipv4(address):
            inner = _own_reason(embedded)
            if inner is not None:
                return f"{inner} ({embedded} embedded in IPv6)"
    return None


def blocked_reason(ip: str, options: CheckOptions) -> str | None:
    """The guard as the engine applies it: nothing is blocked when the settings allow it."""
    if options.allow_private_targets:
        return None
    return is_forbidden(ip)


def _own_reason(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _own_reason(address.ipv4_mapped)
    v4 = isinstance(address, ipaddress.IPv4Address)
    checks = (
        (address.is_unspecified, "unspecified address"),
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address"),
        (address.is_multicast, "multicast address"),
        (v4 and address in _THIS_NETWORK, "'this network' address (0.0.0.0/8)"),
        (v4 and address in _SHARED, "shared address space (100.64.0.0/10)"),
        (address.is_private, "private address"),
        (address.is_reserved, "reserved address"),
        (not address.is_global, "address not routed on the public internet"),
    )  # fmt: skip
    for matched, reason in checks:
        if matched:
            return reason
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found
