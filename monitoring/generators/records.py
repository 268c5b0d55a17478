"""DNS record values: ``_mta-sts`` [RFC 8461 3.1], ``_smtp._tls`` [RFC 8460 3] and the
``mta-sts`` host name that serves the policy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitoring.generators.names import normalize_host

__all__ = [
    "DEFAULT_TTL",
    "DnsRecord",
    "hosted_cname_record",
    "mta_sts_dns_record",
    "mta_sts_record",
    "normalize_rua_uri",
    "policy_host",
    "policy_host_cname",
    "tlsrpt_dns_record",
    "tlsrpt_record",
]

DEFAULT_TTL = 3600

_POLICY_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
# Characters a URI in rua= may not carry raw: ',' and '!' separate URIs [RFC 8460 3],
# ';' ends the field, and whitespace or quotes would break the TXT record.
_FORBIDDEN_IN_URI = set(',;! \t\r\n"\\')
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")


@dataclass(frozen=True)
class DnsRecord:
    """One resource record: an absolute ``name`` (no trailing dot), its type, value, TTL.

    ``value`` is the unquoted TXT text, or the target host name of a CNAME.
    """

    name: str
    rtype: str
    value: str
    ttl: int = DEFAULT_TTL

    def __post_init__(self) -> None:
        if self.rtype not in ("TXT", "CNAME"):
            raise ValueError(f"Only TXT and CNAME records are generated, not {self.rtype!r}.")
        if isinstance(self.ttl, bool) or not isinstance(self.ttl, int):
            raise ValueError(f"TTL must be a whole number of seconds; got {self.ttl!r}.")
        if not 1 <= self.ttl <= 2_147_483_647:
            raise ValueError(f"TTL must be between 1 and 2147483647 seconds; got {self.ttl}.")


def mta_sts_record(policy_id: str) -> str:
    """The ``_mta-sts`` TXT value, ``v=STSv1; id=<policy_id>``."""
    if not isinstance(policy_id, str) or not _POLICY_ID.match(policy_id):
        raise ValueError(f"The policy id must be 1 to 32 letters or digits; got {policy_id!r}.")
    return f"v=STSv1; id={policy_id}"


def tlsrpt_record(rua: Sequence[str]) -> str:
    """The ``_smtp._tls`` TXT value, ``v=TLSRPTv1; rua=<uri>,<uri>``.

    Each URI must be ``mailto:`` one address or an ``https:`` URL; duplicates are dropped.
    """
    if isinstance(rua, str):
        raise ValueError("rua must be a list of URIs, not a single string.")
    uris = list(dict.fromkeys(normalize_rua_uri(uri) for uri in rua))
    if not uris:
        raise ValueError("Give at least one rua URI (mailto: or https:) to receive reports.")
    return "v=TLSRPTv1; rua=" + ",".join(uris)


def normalize_rua_uri(uri: str) -> str:
    """Return ``uri`` with its scheme and host in lower case, or raise ValueError."""
    if not isinstance(uri, str) or not uri.strip():
        raise ValueError("A rua URI must not be empty.")
    uri = uri.strip()
    bad = sorted(set(uri) & _FORBIDDEN_IN_URI)
    if bad:
        raise ValueError(
            f"rua URI {uri!r} contains {' '.join(repr(c) for c in bad)}; "
            "percent-encode them (e.g. ',' as %2C)."
        )
    scheme, _, rest = uri.partition(":")
    scheme = scheme.lower()
    if scheme == "mailto":
        return "mailto:" + _normalize_mailbox(uri, rest)
    if scheme == "https":
        return _normalize_https(uri)
    raise ValueError(f"rua URI {uri!r} must start with mailto: or https:.")


def _normalize_mailbox(uri: str, address: str) -> str:
    if "?" in address:
        raise ValueError(f"rua URI {uri!r}: give a plain address, without '?' headers.")
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL_PART.match(local) or ".." in local:
        raise ValueError(f"rua URI {uri!r} is not mailto: followed by one address.")
    try:
        host = normalize_host(domain)
    except ValueError as exc:
        raise ValueError(f"rua URI {uri!r} has an invalid mail domain: {exc}") from None
    return f"{local}@{host}"


def _normalize_https(uri: str) -> str:
    parts = urlsplit(uri)
    if not uri[len("https:") :].startswith("//") or not parts.hostname:
        raise ValueError(f"rua URI {uri!r} must be an https:// URL with a host name.")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"rua URI {uri!r} must not carry a user name or password.")
    try:
        host = normalize_host(parts.hostname)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"rua URI {uri!r} has an invalid host: {exc}") from None
    rest = parts.path + parts.query + parts.fragment
    if not rest.isascii() or not rest.isprintable():
        raise ValueError(f"rua URI {uri!r}: percent-encode characters outside printable ASCII.")
    netloc = host if port is None else f"{host}:{port}"
    return parts._replace(scheme="https", netloc=netloc).geturl()


def policy_host(domain: str) -> str:
    """The host that serves the policy, ``mta-sts.<domain>``."""
    return "mta-sts." + normalize_host(domain)


def mta_sts_dns_record(domain: str, policy_id: str, ttl: int = DEFAULT_TTL) -> DnsRecord:
    """The ``_mta-sts.<domain>`` TXT record."""
    return DnsRecord("_mta-sts." + normalize_host(domain), "TXT", mta_sts_record(policy_id), ttl)


def tlsrpt_dns_record(domain: str, rua: Sequence[str], ttl: int = DEFAULT_TTL) -> DnsRecord:
    """The ``_smtp._tls.<domain>`` TXT record."""
    return DnsRecord("_smtp._tls." + normalize_host(domain), "TXT", tlsrpt_record(rua), ttl)


def policy_host_cname(domain: str, target: str, ttl: int = DEFAULT_TTL) -> DnsRecord:
    """A CNAME pointing ``mta-sts.<domain>`` at the host that serves the policy."""
    host = policy_host(domain)
    target_host = normalize_host(target)
    if target_host == host:
        raise ValueError(f"{host} cannot be a CNAME to itself.")
    return DnsRecord(host, "CNAME", target_host, ttl)


def hosted_cname_record(domain: str, our_host: str, ttl: int = DEFAULT_TTL) -> DnsRecord:
    """The one record a customer adds when we host the policy: ``mta-sts`` CNAME us."""
    return policy_host_cname(domain, our_host, ttl)
