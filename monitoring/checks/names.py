"""Host names: normalising user input, policy mx patterns, certificate name matching."""

from __future__ import annotations

import re

import idna

_LDH = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
MAX_NAME = 253


def _ldh_labels(labels: list[str]) -> bool:
    return all(_LDH.match(label) for label in labels)


def _looks_numeric(labels: list[str]) -> bool:
    # A numeric last label means an IPv4 address, never a host name (RFC 3696 2).
    return labels[-1].isdigit()


def normalize_domain(name: str) -> str:
    """The domain as stored and checked: IDNA A-labels, lower case, no trailing dot.

    Raises ValueError with a message meant for the person who typed ``name``.
    """
    text = (name or "").strip()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise ValueError("Enter a domain name, e.g. example.com.")
    if "://" in text or "/" in text or "@" in text or ":" in text or " " in text:
        raise ValueError(
            f"Enter just the domain name, e.g. example.com, not {name.strip()!r} "
            "(no scheme, path, port, address or spaces)."
        )
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise ValueError(f"{name.strip()!r} is not a valid domain name: {exc}.") from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise ValueError(
            f"{name.strip()!r} is a single label; enter a full domain name, e.g. example.com."
        )
    if len(ascii_name) > MAX_NAME or not _ldh_labels(labels):
        raise ValueError(
            f"{name.strip()!r} is not a valid domain name: use letters, digits and hyphens, "
            "labels of 1-63 characters not starting or ending with a hyphen."
        )
    if _looks_numeric(labels):
        raise ValueError(f"{name.strip()!r} is an IP address; enter a domain name.")
    return ascii_name


def clean_host(name: str) -> str:
    """Lower case without trailing dots: the form every comparison uses."""
    return name.strip().rstrip(".").lower()


def is_valid_pattern(pattern: str) -> bool:
    """Whether ``pattern`` is a valid policy ``mx`` value [RFC 8461 3.2].

    A host name in A-labels, optionally ``*.`` followed by a name: the wildcard is one
    whole left-most label. Case does not matter and one trailing dot is tolerated.
    """
    if not pattern or not pattern.isascii():
        return False
    text = pattern[:-1] if pattern.endswith(".") else pattern
    text = text.lower()
    if text.startswith("*."):
        text = text[2:]
        minimum = 1
    else:
        minimum = 2
    labels = text.split(".")
    return (
        len(labels) >= minimum
        and len(text) <= MAX_NAME - 2
        and _ldh_labels(labels)
        and not _looks_numeric(labels)
    )


def matches_pattern(host: str, pattern: str) -> bool:
    """Whether MX ``host`` matches policy ``pattern`` [RFC 8461 4.1].

    ``*.example.com`` matches ``mx.example.com`` but neither ``example.com`` nor
    ``a.b.example.com``. Case-insensitive; trailing dots ignored. Invalid patterns
    match nothing.
    """
    if not is_valid_pattern(pattern):
        return False
    host = clean_host(host)
    pattern = clean_host(pattern)
    if pattern.startswith("*."):
        first, dot, rest = host.partition(".")
        return bool(first) and bool(dot) and rest == pattern[2:]
    return host == pattern


def san_matches(host: str, san: str) -> bool:
    """Whether a certificate dNSName ``san`` names ``host`` [RFC 6125 6.4].

    Exact match, or a wildcard that is the whole left-most label and stands for
    exactly one label, with at least two labels after it (no ``*.com``). Partial
    wildcards such as ``f*.example.com`` are not accepted, as in modern TLS stacks.
    """
    host = clean_host(host)
    san = clean_host(san)
    if not san or not host:
        return False
    if not san.startswith("*."):
        return "*" not in san and host == san
    suffix = san[2:]
    if "*" in suffix or suffix.count(".") < 1:
        return False
    first, dot, rest = host.partition(".")
    return bool(first) and bool(dot) and rest == suffix


def matching_san(host: str, sans: list[str]) -> str | None:
    """The first SAN that names ``host``, or None."""
    return next((san for san in sans if san_matches(host, san)), None)
