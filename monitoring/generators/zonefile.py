"""Records written out for people: a BIND zone-file snippet and a plain-text sheet."""

from __future__ import annotations

from collections.abc import Iterable

from monitoring.generators.names import normalize_host
from monitoring.generators.records import DnsRecord

__all__ = ["MAX_TXT_STRING", "bind_zone_snippet", "records_text", "relative_name", "txt_quote"]

MAX_TXT_STRING = 255  # octets in one <character-string> [RFC 1035 3.3]


def txt_quote(value: str) -> str:
    """``value`` as zone-file TXT data: quoted strings of at most 255 octets each.

    Receivers join the strings of one record with nothing in between [RFC 8461 3.1,
    RFC 8460 3], so splitting anywhere is safe. ``"`` and ``\\`` are escaped, and any
    octet outside printable ASCII is written as ``\\DDD``.
    """
    data = value.encode("utf-8")
    chunks = [data[i : i + MAX_TXT_STRING] for i in range(0, len(data), MAX_TXT_STRING)]
    return " ".join(_quote_chunk(chunk) for chunk in chunks or [b""])


def _quote_chunk(chunk: bytes) -> str:
    out = []
    for octet in chunk:
        char = chr(octet)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= octet < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{octet:03d}")
    return '"' + "".join(out) + '"'


def relative_name(name: str, zone: str) -> str:
    """``name`` relative to ``zone`` (``@`` for the apex); ValueError when outside it."""
    if name == zone:
        return "@"
    if name.endswith("." + zone):
        return name[: -len(zone) - 1]
    raise ValueError(f"{name} is not inside the zone {zone}.")


def bind_zone_snippet(domain: str, records: Iterable[DnsRecord], zone: str | None = None) -> str:
    """Zone-file lines for ``records``, names relative to ``zone`` (default ``domain``).

    Give ``zone`` when ``domain`` lives in a parent zone (``shop.example.com`` in the
    ``example.com`` zone); there is no ``$ORIGIN`` line, because pasting one into the
    middle of a zone file would change the meaning of every line after it.
    """
    domain = normalize_host(domain)
    origin = normalize_host(zone) if zone is not None else domain
    rows = [(relative_name(r.name, origin), str(r.ttl), r.rtype, _rdata(r)) for r in list(records)]
    if not rows:
        raise ValueError("No records to write.")
    name_width = max(len(row[0]) for row in rows)
    ttl_width = max(len(row[1]) for row in rows)
    lines = [
        f"; MTA-STS and TLS reporting records for {domain}",
        f"; Names are relative to the zone {origin}; a name ending in '.' is absolute.",
    ]
    for name, ttl, rtype, rdata in rows:
        lines.append(f"{name:<{name_width}} {ttl:>{ttl_width}} IN {rtype:<5} {rdata}")
    return "\n".join(lines) + "\n"


def _rdata(record: DnsRecord) -> str:
    if record.rtype == "TXT":
        return txt_quote(record.value)
    return record.value + "."  # an absolute target: without the dot BIND appends the origin


def records_text(domain: str, records: Iterable[DnsRecord], zone: str | None = None) -> str:
    """A plain-text sheet of ``records`` for a DNS provider's web form, plus the zone lines."""
    domain = normalize_host(domain)
    origin = normalize_host(zone) if zone is not None else domain
    records = list(records)
    title = f"DNS records for {domain}"
    lines = [title, "=" * len(title), ""]
    for number, record in enumerate(records, start=1):
        lines += [
            f"{number}. {record.rtype} record {record.name}",
            f"   Name/Host: {relative_name(record.name, origin)}"
            f"   (some providers want the full name: {record.name})",
            f"   Type:      {record.rtype}",
            f"   TTL:       {record.ttl}",
            f"   Value:     {record.value}",
            "",
        ]
    lines += [
        "Web forms: enter the value as shown, without quotes; most providers add them.",
        "Only one record may start with v=STSv1 and only one with v=TLSRPTv1: replace an",
        "existing one rather than adding a second.",
        "",
        "Zone file (BIND) lines:",
        "",
        bind_zone_snippet(domain, records, zone=zone).rstrip("\n"),
    ]
    return "\n".join(lines) + "\n"
