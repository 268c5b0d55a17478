"""Parse the ``_mta-sts`` [RFC 8461 3.1] and ``_smtp._tls`` [RFC 8460 3] TXT records.

Input is what DNS returned: a list of TXT records, each a list of byte strings that are
joined with no separator. Output is the parsed record (or None) plus findings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from monitoring.checks.findings import Finding, make

_WSP = " \t"
_EXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_EXT_VALUE = re.compile(r"^[\x21-\x3a\x3c\x3e-\x7e]+$")  # printable but '=', ';', space
_STS_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
STS_VERSION = "v=STSv1"
TLSRPT_VERSION = "v=TLSRPTv1"


@dataclass
class TxtRecord:
    """The chosen record (the first of its version) and everything seen at the name."""

    name: str
    raw: list[str]  # every record of the right version, in DNS order
    fields: dict[str, str] = field(default_factory=dict)
    valid: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "raw": self.raw, "fields": self.fields, "valid": self.valid}


@dataclass
class StsRecord(TxtRecord):
    id: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "id": self.id}


@dataclass
class TlsrptRecord(TxtRecord):
    rua: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "rua": self.rua}


def join_txt(strings: Sequence[bytes | str]) -> str:
    """One TXT record's strings joined with no separator, as text.

    Bytes outside ASCII are kept (decoded leniently) so the grammar check can report them.
    """
    parts = [s if isinstance(s, str) else s.decode("utf-8", "replace") for s in strings]
    return "".join(parts)


def _has_version(text: str, version: str) -> bool:
    return text.startswith(version) and (
        len(text) == len(version) or text[len(version)] in ";" + _WSP
    )


def split_fields(text: str, version: str) -> tuple[list[tuple[str, str]], str | None]:
    """The ``name=value`` fields after the version, or an error saying what is wrong.

    Grammar [8461 3.1, 8460 3]: version 1*(*WSP ";" *WSP field) [*WSP ";" *WSP]. Trailing
    white space is tolerated. The first error found is reported.
    """
    if not text.isascii():
        bad = next(c for c in text if not c.isascii())
        return [], f"non-ASCII character {bad!r} in {text!r}"
    rest = text[len(version) :].rstrip(_WSP)
    parts = rest.split(";")
    if parts[0].strip(_WSP):
        return [], f"expected ';' after {version!r}, got {text!r}"
    fields: list[tuple[str, str]] = []
    items = parts[1:]
    for index, item in enumerate(items):
        item = item.strip(_WSP)
        if not item:
            if index == len(items) - 1 and index > 0:
                break  # one trailing ';' is allowed
            return [], f"empty field in {text!r}"
        name, eq, value = item.partition("=")
        if not eq or not _EXT_NAME.match(name):
            return [], f"field {item!r} is not name=value"
        fields.append((name, value))
    if not fields:
        return [], f"no fields after {version!r} in {text!r}"
    return fields, None


def _first_wins(fields: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in fields:
        out.setdefault(name, value)
    return out


def _select(txts: Sequence[Sequence[bytes | str]], version: str) -> list[str]:
    texts = [join_txt(t) for t in txts]
    return [t for t in texts if _has_version(t, version)]


def missing_reason(txts: Sequence[Sequence[bytes | str]], version: str) -> str:
    """Why no record of ``version`` was found among ``txts`` (for the message)."""
    texts = [join_txt(t) for t in txts]
    if not texts:
        return "no TXT records"
    shown = "; ".join(repr(t[:60]) for t in texts[:3])
    return f"{len(texts)} TXT record(s), none starting with {version!r}: {shown}"


def parse_sts(
    name: str, txts: Sequence[Sequence[bytes | str]]
) -> tuple[StsRecord | None, list[Finding]]:
    """Parse the TXT records found at ``_mta-sts.<domain>`` (``name``).

    Returns (None, []) when no v=STSv1 record exists: the caller decides the severity of
    ``sts.record.missing``, which depends on whether a policy is served.
    """
    selected = _select(txts, STS_VERSION)
    if not selected:
        return None, []
    record = StsRecord(name=name, raw=selected)
    findings: list[Finding] = []
    if len(selected) > 1:
        shown = ", ".join(repr(t) for t in selected)
        findings.append(make("sts.record.multiple", name, f"{len(selected)} records: {shown}"))
    text = selected[0]
    fields, error = split_fields(text, STS_VERSION)
    record.fields = {"v": "STSv1", **_first_wins(fields)}
    if error is None:
        error = _sts_field_error(fields)
    sts_id = record.fields.get("id")
    record.id = sts_id if sts_id is not None and _STS_ID.match(sts_id) else None
    if error is not None:
        findings.append(make("sts.record.invalid", name, error))
    record.valid = error is None and len(selected) == 1
    return record, findings


def _sts_field_error(fields: list[tuple[str, str]]) -> str | None:
    values = _first_wins(fields)
    if "id" not in values:
        present = ", ".join(n for n, _ in fields) or "none"
        return f"no id= field (fields seen: {present}; names are case-sensitive)"
    if not _STS_ID.match(values["id"]):
        return f"id={values['id']!r} must be 1 to 32 letters or digits"
    return _extension_error(fields, known="id")


def _extension_error(fields: list[tuple[str, str]], known: str) -> str | None:
    for ext_name, ext_value in fields:
        if ext_name != known and not _EXT_VALUE.match(ext_value):
            return (
                f"extension {ext_name}={ext_value!r}: the value must be non-empty, "
                "without '=', ';' or spaces"
            )
    return None


def parse_tlsrpt(
    name: str, txts: Sequence[Sequence[bytes | str]]
) -> tuple[TlsrptRecord | None, list[Finding]]:
    """Parse the TXT records found at ``_smtp._tls.<domain>`` (``name``).

    Returns (None, []) when no v=TLSRPTv1 record exists (the caller reports it missing).
    """
    selected = _select(txts, TLSRPT_VERSION)
    if not selected:
        return None, []
    record = TlsrptRecord(name=name, raw=selected)
    findings: list[Finding] = []
    if len(selected) > 1:
        shown = ", ".join(repr(t) for t in selected)
        findings.append(make("tlsrpt.record.multiple", name, f"{len(selected)} records: {shown}"))
    text = selected[0]
    fields, error = split_fields(text, TLSRPT_VERSION)
    values = _first_wins(fields)
    record.fields = {"v": "TLSRPTv1", **values}
    if error is None:
        if "rua" not in values:
            present = ", ".join(n for n, _ in fields) or "none"
            error = f"no rua= field (fields seen: {present}; names are case-sensitive)"
        else:
            record.rua, error = parse_rua(values["rua"])
        error = error or _extension_error(fields, known="rua")
    if error is not None:
        findings.append(make("tlsrpt.record.invalid", name, error))
    record.valid = error is None and len(selected) == 1
    return record, findings


def parse_rua(value: str) -> tuple[list[str], str | None]:
    """Split ``rua`` into URIs and check each is mailto: with an address or https: with a host."""
    uris = [u.strip(_WSP) for u in value.split(",")]
    for uri in uris:
        problem = _uri_problem(uri)
        if problem is not None:
            return uris, problem
    return uris, None


def _uri_problem(uri: str) -> str | None:
    if not uri:
        return "empty URI in rua (a stray comma?)"
    if any(c in uri for c in " \t;") or not uri.isprintable():
        return f"rua URI {uri!r} contains spaces or control characters"
    scheme, _, rest = uri.partition(":")
    scheme = scheme.lower()
    if scheme == "mailto":
        address = rest.split("?", 1)[0]
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain:
            return f"rua URI {uri!r} is not mailto:<address>"
        return None
    if scheme == "https":
        parts = urlsplit(uri)
        if not parts.hostname:
            return f"rua URI {uri!r} has no host"
        return None
    return f"rua URI {uri!r} must start with mailto: or https:"
