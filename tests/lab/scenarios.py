"""Every lab domain: what is set up for it and the exact finding codes a check must give.

A scenario starts from a healthy domain (record, policy, one MX, TLSRPT) and changes
one thing, so the expected codes are the codes of that one thing. ``expected`` is the
set of codes; ``severities`` pins the severity where the mode decides it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tests.lab.certs import CertKind
from tests.lab.hosts import FORBIDDEN_TARGETS, Http, MxSpec, PolicySpec, Smtp
from tests.lab.zone import TxtRecord

ZONE = "lab.test"
DEFAULT_ID = "20240101T000000"
MAX_AGE = "604800"
LIMIT = 64 * 1024


@dataclass(frozen=True)
class Scenario:
    """One domain of the lab and what a correct checker reports for it."""

    domain: str
    description: str
    expected: frozenset[str]
    sts: tuple[TxtRecord, ...]  # TXT records at _mta-sts.<domain>; () for none
    tlsrpt: tuple[TxtRecord, ...]  # TXT records at _smtp._tls.<domain>
    mx: tuple[tuple[int, str], ...]
    policy: PolicySpec
    mx_hosts: Mapping[str, MxSpec]  # MX hosts served by the lab; others: OK
    addresses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # fixed A/AAAA
    cnames: Mapping[str, str] = field(default_factory=dict)
    txt: Mapping[str, tuple[TxtRecord, ...]] = field(default_factory=dict)  # other TXT
    faults: Mapping[str, str] = field(default_factory=dict)  # name -> servfail/timeout
    severities: Mapping[str, str] = field(default_factory=dict)
    # Guard-only: resolves to a forbidden address. Check it ONLY with the guard on:
    # with it off the checker would send packets to 10/8 or 169.254/16.
    guard_only: bool = False

    @property
    def healthy(self) -> bool:
        return not self.guard_only and self.expected <= {"policy.mode.testing"}

    @property
    def hostile(self) -> bool:
        """A server or name server misbehaves (hangs, garbage, resets, DNS faults)."""
        return not self.healthy and bool(
            self.faults
            or self.policy.behaviour not in (Http.OK, Http.HTTP10, Http.NO_ADDRESS)
            or any(m.behaviour not in (Smtp.OK, Smtp.NO_ADDRESS) for m in self.mx_hosts.values())
        )

    @property
    def policy_host(self) -> str:
        return f"mta-sts.{self.domain}"


def policy_text(
    *,
    mx: Sequence[str] = (),
    mode: str | None = "enforce",
    max_age: str | None = MAX_AGE,
    version: str | None = "STSv1",
    eol: str = "\n",
    extra: Sequence[str] = (),
    trailing_eol: bool = True,
) -> bytes:
    """A policy body; ``None`` leaves a field out, ``extra`` lines go at the end."""
    lines = []
    if version is not None:
        lines.append(f"version: {version}")
    if mode is not None:
        lines.append(f"mode: {mode}")
    lines += [f"mx: {pattern}" for pattern in mx]
    if max_age is not None:
        lines.append(f"max_age: {max_age}")
    lines += list(extra)
    text = eol.join(lines) + (eol if trailing_eol else "")
    return text.encode("utf-8")


def _make(
    label: str,
    description: str,
    expect: Iterable[str] = (),
    *,
    sts: Sequence[TxtRecord] | None = None,
    tlsrpt: Sequence[TxtRecord] | None = None,
    mx: Sequence[tuple[int, str]] | None = None,
    mode: str = "enforce",
    policy_mx: Sequence[str] | None = None,
    body: bytes | None = None,
    policy: PolicySpec | None = None,
    mx_hosts: Mapping[str, MxSpec] | None = None,
    mx_spec: MxSpec | None = None,
    **extra: object,
) -> Scenario:
    """A healthy domain ``<label>.lab.test`` with the given parts replaced.

    ``mx`` names are relative to the domain unless they end with a dot; ``mx_spec``
    applies to every MX host, ``mx_hosts`` to the named ones (same naming rule).
    """
    domain = f"{label}.{ZONE}"

    def host(name: str) -> str:
        return name.rstrip(".") if name.endswith(".") else f"{name}.{domain}"

    mx_records = tuple(
        (pref, host(name)) for pref, name in (mx if mx is not None else [(10, "mx1")])
    )
    patterns = policy_mx if policy_mx is not None else [name for _, name in mx_records]
    body = body if body is not None else policy_text(mx=patterns, mode=mode)
    spec = policy if policy is not None else PolicySpec()
    if not spec.body:
        spec = PolicySpec(**{**spec.__dict__, "body": body})
    hosts = {name: (mx_spec or MxSpec()) for _, name in mx_records if name.endswith(ZONE)}
    hosts.update({host(name): value for name, value in (mx_hosts or {}).items()})
    return Scenario(
        domain=domain,
        description=description,
        expected=frozenset(expect),
        sts=tuple(sts if sts is not None else [f"v=STSv1; id={DEFAULT_ID}"]),
        tlsrpt=tuple(tlsrpt if tlsrpt is not None else [f"v=TLSRPTv1; rua=mailto:tls@{domain}"]),
        mx=mx_records,
        policy=spec,
        mx_hosts=hosts,
        **extra,  # type: ignore[arg-type]
    )


def _testing(code: str) -> dict[str, str]:
    return {code: "warning", "policy.mode.testing": "info"}


def _healthy() -> list[Scenario]:
    d = "lab.test"
    return [
        _make("plain", "one MX, enforce, everything right"),
        _make(
            "two-mx",
            "two MX hosts, both listed",
            mx=[(10, "mx1"), (20, "mx2")],
        ),
        _make(
            "wildcard",
            "wildcard mx pattern and wildcard certificates on two MX hosts",
            mx=[(10, "mx1"), (20, "mx2")],
            policy_mx=["*.wildcard.lab.test"],
            mx_spec=MxSpec(cert=CertKind.WILDCARD),
        ),
        _make(
            "split-txt",
            "both TXT records split into several strings, to be joined with nothing",
            sts=[["v=STSv1; id=2024", "0101T000000;"]],
            tlsrpt=[["v=TLSRPTv1; ", "rua=mailto:tls@split-txt.lab.test"]],
        ),
        _make(
            "lf-policy",
            "policy with LF line ends and no final line end",
            body=policy_text(mx=["mx1.lf-policy.lab.test"], trailing_eol=False),
        ),
        _make(
            "crlf-policy",
            "policy with CRLF line ends",
            body=policy_text(mx=["mx1.crlf-policy.lab.test"], eol="\r\n"),
        ),
        _make(
            "cname-ok",
            "_mta-sts record reached through a CNAME",
            sts=[],
            cnames={f"_mta-sts.cname-ok.{d}": f"_mta-sts.cname-target.{d}"},
            txt={f"_mta-sts.cname-target.{d}": ("v=STSv1; id=viacname1",)},
        ),
        _make(
            "any-order",
            "record and policy with extensions, fields in any order, duplicates (first wins)",
            sts=["v=STSv1; ext_1=some.value; id=order123; id=second2"],
            body=(
                b"max_age: 86400\nx-comment: extensions are ignored\n"
                b"mx: mx1.any-order.lab.test\nmode: enforce\nversion: STSv1\nmax_age: bad\n"
            ),
        ),
        _make(
            "testing-mode",
            "mode testing: only the testing note",
            ["policy.mode.testing"],
            mode="testing",
            severities={"policy.mode.testing": "info"},
        ),
        _make(
            "charset",
            "Content-Type with a charset parameter",
            policy=PolicySpec(content_type="text/plain; charset=utf-8"),
        ),
        _make(
            "other-txt",
            "unrelated TXT records next to the STS and TLSRPT ones",
            sts=["google-site-verification=abc", f"v=STSv1; id={DEFAULT_ID}", "v=spf1 -all"],
            tlsrpt=["something-else", "v=TLSRPTv1; rua=mailto:tls@other-txt.lab.test"],
        ),
        _make(
            "tcp-fallback",
            "TXT answer too big for UDP: the resolver must retry over TCP",
            sts=[f"v=STSv1; id={DEFAULT_ID}"] + [f"filler-{i}=" + "x" * 200 for i in range(8)],
        ),
        _make(
            "case-dots",
            "policy mx pattern in upper case with a trailing dot",
            policy_mx=["MX1.Case-Dots.LAB.TEST."],
        ),
        _make(
            "rua-multi",
            "TLSRPT with a mailto and an https destination",
            tlsrpt=["v=TLSRPTv1; rua=mailto:tls@rua-multi.lab.test,https://r.lab.test/tlsrpt"],
        ),
        _make(
            "record-spacing",
            "record with spaces around ';' and a trailing separator",
            sts=[f"v=STSv1 ;id={DEFAULT_ID} ; "],
        ),
        _make(
            "rua-spaces",
            "TLSRPT rua list with spaces around the comma",
            tlsrpt=["v=TLSRPTv1;rua=mailto:tls@rua-spaces.lab.test , https://r.lab.test/x"],
        ),
        _make(
            "charset-upper",
            "media type and charset in mixed case, no space (media types ignore case)",
            policy=PolicySpec(content_type="Text/Plain;Charset=UTF-8"),
        ),
        _make(
            "policy-http10",
            "HTTP/1.0 answer without Content-Length, body ended by the close",
            policy=_p(Http.HTTP10),
        ),
        _make(
            "policy-64k-exact",
            "policy body of exactly 64 KiB (the limit is *over* 64 KiB)",
            body=_padded("policy-64k-exact", LIMIT),
        ),
        _make(
            "mx-chain-ok",
            "MX and policy certificates from an intermediate CA, chain sent",
            policy=_c(CertKind.CHAIN),
            mx_spec=MxSpec(cert=CertKind.CHAIN),
        ),
        _make(
            "mx-multiline-banner",
            "SMTP greeting over several 220- lines",
            mx_spec=MxSpec(behaviour=Smtp.MULTILINE_BANNER),
        ),
        _make(
            "many-mx",
            "40 MX hosts (more than the engine probes at once), one wildcard pattern",
            mx=[(10 + i, f"mx{i:02d}") for i in range(1, 41)],
            policy_mx=["*.many-mx.lab.test"],
            mx_spec=MxSpec(cert=CertKind.WILDCARD),
        ),
        _make(
            "max-age-max",
            "max_age at the 31557600 ceiling",
            body=policy_text(mx=["mx1.max-age-max.lab.test"]).replace(
                MAX_AGE.encode(), b"31557600"
            ),
        ),
    ]


def _record() -> list[Scenario]:
    missing = "sts.record.missing"
    invalid = "sts.record.invalid"
    return [
        _make(
            "no-sts",
            "no _mta-sts record and no policy host: MTA-STS simply not deployed",
            [missing],
            sts=[],
            policy=PolicySpec(behaviour=Http.NO_ADDRESS),
            severities={missing: "info"},
        ),
        _make(
            "no-record-policy",
            "a policy is served but the _mta-sts record is missing",
            [missing],
            sts=[],
            severities={missing: "error"},
        ),
        _make(
            "record-wrong-case",
            "record says v=stsv1 (case-sensitive), so there is no record; policy served",
            [missing],
            sts=[f"v=stsv1; id={DEFAULT_ID}"],
            severities={missing: "error"},
        ),
        _make(
            "record-multiple",
            "two v=STSv1 records",
            ["sts.record.multiple"],
            sts=["v=STSv1; id=one", "v=STSv1; id=two"],
        ),
        _make("record-no-id", "record without id", [invalid], sts=["v=STSv1;"]),
        _make("record-empty-id", "record with an empty id", [invalid], sts=["v=STSv1; id="]),
        _make("record-long-id", "id of 33 characters", [invalid], sts=["v=STSv1; id=" + "a" * 33]),
        _make("record-bad-id", "id with a hyphen", [invalid], sts=["v=STSv1; id=2024-01-01"]),
        _make(
            "record-bad-grammar",
            "fields not separated by ';'",
            [invalid],
            sts=["v=STSv1 id=20240101"],
        ),
        _make(
            "record-non-ascii",
            "id with a non-ASCII letter",
            [invalid],
            sts=["v=STSv1; id=caf\u00e9"],
        ),
        _make(
            "record-servfail",
            "the _mta-sts lookup SERVFAILs",
            ["sts.record.lookup_failed"],
            faults={f"_mta-sts.record-servfail.{ZONE}": "servfail"},
        ),
        _make(
            "record-timeout",
            "the _mta-sts lookup never gets an answer",
            ["sts.record.lookup_failed"],
            faults={f"_mta-sts.record-timeout.{ZONE}": "timeout"},
        ),
    ]


def _fetch() -> list[Scenario]:
    failed = "policy.fetch.failed"
    tls = "policy.fetch.tls_invalid"
    status = "policy.fetch.http_status"
    redirect = "policy.fetch.redirect"
    ctype = "policy.fetch.content_type"
    large = "policy.fetch.too_large"
    return [
        _make(
            "policy-no-address",
            "mta-sts host has no address",
            [failed],
            policy=PolicySpec(behaviour=Http.NO_ADDRESS),
        ),
        _make("policy-refused", "connection refused", [failed], policy=_p(Http.REFUSED)),
        _make("policy-reset", "connection reset at once", [failed], policy=_p(Http.RESET)),
        _make(
            "policy-blackhole",
            "accepts, never starts TLS",
            [failed],
            policy=_p(Http.BLACKHOLE),
        ),
        _make(
            "policy-hang",
            "TLS fine, request read, never answered",
            [failed],
            policy=_p(Http.HANG),
        ),
        _make("policy-trickle", "one byte per second", [failed], policy=_p(Http.TRICKLE)),
        _make("policy-garbage", "not TLS at all", [failed], policy=_p(Http.GARBAGE)),
        _make("policy-expired-cert", "expired certificate", [tls], policy=_c(CertKind.EXPIRED)),
        _make(
            "policy-future-cert",
            "certificate not valid yet",
            [tls],
            policy=_c(CertKind.NOT_YET_VALID),
        ),
        _make(
            "policy-untrusted-cert",
            "certificate from an unknown CA",
            [tls],
            policy=_c(CertKind.UNTRUSTED),
        ),
        _make(
            "policy-wrong-name-cert",
            "certificate for another name",
            [tls],
            policy=_c(CertKind.MISMATCH),
        ),
        _make(
            "policy-cn-only-cert",
            "the name only in the CN, no SAN",
            [tls],
            policy=_c(CertKind.CN_ONLY),
        ),
        _make(
            "policy-expiring-cert",
            "certificate expires in 5 days",
            ["policy.cert.expiring"],
            policy=_c(CertKind.EXPIRING),
        ),
        _make("policy-404", "404", [status], policy=PolicySpec(status=404)),
        _make("policy-500", "500", [status], policy=PolicySpec(status=500)),
        _make(
            "policy-redirect",
            "301 to another host",
            [redirect],
            policy=PolicySpec(
                status=301, location="https://mta-sts.plain.lab.test/.well-known/mta-sts.txt"
            ),
        ),
        _make(
            "policy-redirect-loop",
            "302 to itself",
            [redirect],
            policy=_p(Http.REDIRECT_LOOP),
        ),
        _make(
            "policy-html",
            "served as text/html",
            [ctype],
            policy=PolicySpec(content_type="text/html; charset=utf-8"),
        ),
        _make(
            "policy-no-content-type",
            "no Content-Type header",
            [ctype],
            policy=PolicySpec(content_type=None),
        ),
        _make(
            "policy-too-large",
            "a valid policy of 64 KiB plus one byte",
            [large],
            body=_padded("policy-too-large", LIMIT + 1),
        ),
        _make(
            "policy-chain-missing",
            "certificate from an intermediate CA, sent without the intermediate",
            [tls],
            policy=_c(CertKind.CHAIN_MISSING),
        ),
        _make(
            "policy-self-signed",
            "self-signed certificate",
            [tls],
            policy=_c(CertKind.SELF_SIGNED),
        ),
        _make("policy-huge", "10 MB with a Content-Length", [large], policy=_p(Http.HUGE)),
        _make(
            "policy-huge-chunked",
            "10 MB chunked, no Content-Length",
            [large],
            policy=_p(Http.HUGE_CHUNKED),
        ),
    ]


def _padded(label: str, size: int) -> bytes:
    """A valid policy padded with an extension line to exactly ``size`` bytes."""
    head = policy_text(mx=[f"mx1.{label}.lab.test"])
    filler = size - len(head) - len("x-pad: \n")
    return head + b"x-pad: " + b"p" * filler + b"\n"


def _p(behaviour: Http) -> PolicySpec:
    return PolicySpec(behaviour=behaviour)


def _c(kind: CertKind) -> PolicySpec:
    return PolicySpec(cert=kind)


def _body() -> list[Scenario]:
    def b(label: str, **kw: object) -> bytes:
        return policy_text(mx=[f"mx1.{label}.lab.test"], **kw)  # type: ignore[arg-type]

    syntax = "policy.syntax.invalid"
    return [
        _make(
            "policy-bad-line",
            "a line that is not key: value",
            [syntax],
            body=b("policy-bad-line", extra=["this line has no colon"]),
        ),
        _make(
            "policy-space-colon",
            "space before the colon (on an extension, so no field is lost)",
            [syntax],
            body=b("policy-space-colon", extra=["x-ext : 1"]),
        ),
        _make(
            "policy-control-char",
            "a control character in a value",
            [syntax],
            body=b("policy-control-char", extra=["x-ext: a\x01b"]),
        ),
        _make(
            "policy-not-utf8",
            "bytes that are not UTF-8 in an extension value",
            [syntax],
            body=b("policy-not-utf8") + b"x-ext: \xff\xfe\n",
        ),
        _make(
            "policy-bom",
            "UTF-8 byte order mark before the first line",
            [syntax],
            body=b"\xef\xbb\xbf" + b("policy-bom"),
        ),
        _make(
            "policy-version-wrong",
            "version: STSv2",
            ["policy.version.invalid"],
            body=b("policy-version-wrong", version="STSv2"),
        ),
        _make(
            "policy-version-missing",
            "no version line",
            ["policy.version.invalid"],
            body=b("policy-version-missing", version=None),
        ),
        _make(
            "policy-mode-invalid",
            "mode: Enforce (values are case-sensitive)",
            ["policy.mode.invalid"],
            body=b("policy-mode-invalid", mode="Enforce"),
        ),
        _make(
            "policy-mode-missing",
            "no mode line",
            ["policy.mode.invalid"],
            body=b("policy-mode-missing", mode=None),
        ),
        _make(
            "policy-max-age-text",
            "max_age: 1w",
            ["policy.max_age.invalid"],
            body=b("policy-max-age-text", max_age="1w"),
        ),
        _make(
            "policy-max-age-over",
            "max_age one over 31557600",
            ["policy.max_age.invalid"],
            body=b("policy-max-age-over", max_age="31557601"),
        ),
        _make(
            "policy-max-age-digits",
            "max_age with 11 digits",
            ["policy.max_age.invalid"],
            body=b("policy-max-age-digits", max_age="00000086400"),
        ),
        _make(
            "policy-max-age-missing",
            "no max_age line",
            ["policy.max_age.invalid"],
            body=b("policy-max-age-missing", max_age=None),
        ),
        _make(
            "policy-max-age-low",
            "max_age of one hour",
            ["policy.max_age.low"],
            body=b("policy-max-age-low", max_age="3600"),
        ),
        _make(
            "policy-mx-missing",
            "enforce with no mx line",
            ["policy.mx.missing"],
            policy_mx=[],
        ),
        _make(
            "policy-mx-double-wildcard",
            "an mx pattern *.*.domain next to the right one",
            ["policy.mx.invalid"],
            policy_mx=["mx1.policy-mx-double-wildcard.lab.test", "*.*.lab.test"],
        ),
        _make(
            "policy-mx-partial-wildcard",
            "an mx pattern mx*.domain next to the right one",
            ["policy.mx.invalid"],
            policy_mx=["mx1.policy-mx-partial-wildcard.lab.test", "mx*.lab.test"],
        ),
        _make(
            "mode-none-no-mx",
            "mode none without mx lines (mx is only required otherwise)",
            ["policy.mode.none"],
            mode="none",
            policy_mx=[],
        ),
        _make(
            "mode-none",
            "mode none: the policy is switched off",
            ["policy.mode.none"],
            mode="none",
            severities={"policy.mode.none": "warning"},
        ),
    ]


def _coverage() -> list[Scenario]:
    uncovered = "mx.not_covered"
    unused = "policy.mx.unused"
    return [
        _make(
            "no-mx",
            "the domain has no MX records (the policy's pattern then matches nothing)",
            ["mx.records.missing", unused],
            mx=[],
            policy_mx=["mx1.no-mx.lab.test"],
        ),
        _make(
            "mx-not-covered",
            "mx2 is not in the policy (enforce: error)",
            [uncovered],
            mx=[(10, "mx1"), (20, "mx2")],
            policy_mx=["mx1.mx-not-covered.lab.test"],
            severities={uncovered: "error"},
        ),
        _make(
            "mx-not-covered-testing",
            "mx2 is not in the policy (testing: warning)",
            [uncovered, "policy.mode.testing"],
            mx=[(10, "mx1"), (20, "mx2")],
            mode="testing",
            policy_mx=["mx1.mx-not-covered-testing.lab.test"],
            severities=_testing(uncovered),
        ),
        _make(
            "wildcard-too-deep",
            "*.domain does not cover a.b.domain",
            [uncovered],
            mx=[(10, "mx1"), (20, "a.b")],
            policy_mx=["*.wildcard-too-deep.lab.test"],
        ),
        _make(
            "wildcard-apex",
            "*.domain does not cover the domain itself",
            [uncovered, unused],
            mx=[(10, "wildcard-apex.lab.test.")],
            policy_mx=["*.wildcard-apex.lab.test"],
            mx_hosts={"wildcard-apex.lab.test.": MxSpec()},
        ),
        _make(
            "mx-lookup-servfail",
            "the MX lookup SERVFAILs",
            ["mx.records.lookup_failed"],
            faults={f"mx-lookup-servfail.{ZONE}": "servfail"},
        ),
        _make(
            "mx-lookup-timeout",
            "the MX lookup never gets an answer",
            ["mx.records.lookup_failed"],
            faults={f"mx-lookup-timeout.{ZONE}": "timeout"},
        ),
        _make(
            "null-mx",
            "null MX (RFC 7505): the domain receives no mail",
            ["mx.records.null"],
            mx=[(0, ".")],
            policy_mx=["mx1.null-mx.lab.test"],
            severities={"mx.records.null": "info"},
        ),
        _make(
            "policy-mx-unused",
            "a stale pattern that matches no MX host",
            [unused],
            policy_mx=["mx1.policy-mx-unused.lab.test", "old-mx.policy-mx-unused.lab.test"],
        ),
    ]


def _mx_tls() -> list[Scenario]:
    failed = "mx.connect.failed"
    starttls = "mx.starttls.unsupported"

    def s(behaviour: Smtp) -> MxSpec:
        return MxSpec(behaviour=behaviour)

    def c(kind: CertKind) -> MxSpec:
        return MxSpec(cert=kind)

    return [
        _make("mx-refused", "nothing listens", [failed], mx_spec=s(Smtp.REFUSED)),
        _make("mx-no-address", "MX host has no address", [failed], mx_spec=s(Smtp.NO_ADDRESS)),
        _make("mx-reset", "reset on connect", [failed], mx_spec=s(Smtp.RESET)),
        _make("mx-no-banner", "never sends a banner", [failed], mx_spec=s(Smtp.NO_BANNER)),
        _make(
            "mx-garbage-banner",
            "binary junk instead of a banner",
            [failed],
            mx_spec=s(Smtp.GARBAGE_BANNER),
        ),
        _make("mx-banner-554", "greets with 554", [failed], mx_spec=s(Smtp.BANNER_554)),
        _make(
            "mx-no-starttls",
            "STARTTLS not offered",
            [starttls],
            mx_spec=s(Smtp.NO_STARTTLS),
            severities={starttls: "error"},
        ),
        _make("mx-starttls-454", "STARTTLS answered 454", [starttls], mx_spec=s(Smtp.STARTTLS_454)),
        _make(
            "mx-starttls-drop",
            "connection dropped right after '220 go ahead'",
            [starttls],
            mx_spec=s(Smtp.DROP_AFTER_STARTTLS),
        ),
        _make(
            "mx-weak-tls",
            "TLS 1.0/1.1 only",
            ["mx.tls.weak_protocol"],
            mx_spec=s(Smtp.WEAK_TLS),
        ),
        _make(
            "mx-expired", "expired certificate", ["mx.cert.expired"], mx_spec=c(CertKind.EXPIRED)
        ),
        _make(
            "mx-future-cert",
            "certificate not valid yet",
            ["mx.cert.expired"],
            mx_spec=c(CertKind.NOT_YET_VALID),
        ),
        _make("mx-untrusted", "unknown CA", ["mx.cert.untrusted"], mx_spec=c(CertKind.UNTRUSTED)),
        _make(
            "mx-mismatch",
            "certificate for another name",
            ["mx.cert.name_mismatch"],
            mx_spec=c(CertKind.MISMATCH),
        ),
        _make(
            "mx-cn-only",
            "the name only in the CN",
            ["mx.cert.name_mismatch"],
            mx_spec=c(CertKind.CN_ONLY),
        ),
        _make(
            "mx-wildcard-too-deep-cert",
            "certificate *.lab.test... one label too high for mx1.<domain>",
            ["mx.cert.name_mismatch"],
            mx_spec=c(CertKind.WILDCARD_TOO_DEEP),
        ),
        _make(
            "mx-expiring",
            "certificate expires in 5 days",
            ["mx.cert.expiring"],
            mx_spec=c(CertKind.EXPIRING),
        ),
        _make(
            "mx-expired-testing",
            "expired certificate under mode testing: a warning",
            ["mx.cert.expired", "policy.mode.testing"],
            mode="testing",
            mx_spec=c(CertKind.EXPIRED),
            severities=_testing("mx.cert.expired"),
        ),
        _make(
            "mx-no-starttls-testing",
            "no STARTTLS under mode testing: a warning",
            [starttls, "policy.mode.testing"],
            mode="testing",
            mx_spec=s(Smtp.NO_STARTTLS),
            severities=_testing(starttls),
        ),
        _make(
            "mx-chain-missing",
            "certificate from an intermediate CA, sent without the intermediate",
            ["mx.cert.untrusted"],
            mx_spec=c(CertKind.CHAIN_MISSING),
        ),
        _make(
            "mx-self-signed",
            "self-signed certificate",
            ["mx.cert.untrusted"],
            mx_spec=c(CertKind.SELF_SIGNED),
        ),
        _make(
            "mx-one-address-down",
            "MX host with two addresses, the second refuses connections",
            [failed],
            addresses={"mx1.mx-one-address-down.lab.test": ("127.0.2.1", "127.0.2.250")},
        ),
        _make(
            "everything-hangs",
            "policy host, MX host and TLSRPT lookup all hang: one deadline for the lot",
            ["policy.fetch.failed", failed, "tlsrpt.record.lookup_failed"],
            policy=_p(Http.HANG),
            mx_spec=s(Smtp.NO_BANNER),
            faults={f"_smtp._tls.everything-hangs.{ZONE}": "timeout"},
        ),
        _make(
            "mx-backup-broken",
            "primary fine, backup MX with an untrusted certificate",
            ["mx.cert.untrusted"],
            mx=[(10, "mx1"), (20, "mx2")],
            mx_hosts={"mx2": c(CertKind.UNTRUSTED)},
        ),
    ]


def _tlsrpt() -> list[Scenario]:
    invalid = "tlsrpt.record.invalid"
    return [
        _make("tlsrpt-missing", "no TLSRPT record", ["tlsrpt.record.missing"], tlsrpt=[]),
        _make(
            "tlsrpt-multiple",
            "two TLSRPT records",
            ["tlsrpt.record.multiple"],
            tlsrpt=["v=TLSRPTv1; rua=mailto:a@lab.test", "v=TLSRPTv1; rua=mailto:b@lab.test"],
        ),
        _make("tlsrpt-no-rua", "no rua", [invalid], tlsrpt=["v=TLSRPTv1;"]),
        _make(
            "tlsrpt-http-rua",
            "rua with http: (only mailto: and https: are allowed)",
            [invalid],
            tlsrpt=["v=TLSRPTv1; rua=http://r.lab.test/tlsrpt"],
        ),
        _make(
            "tlsrpt-servfail",
            "the TLSRPT lookup SERVFAILs",
            ["tlsrpt.record.lookup_failed"],
            faults={f"_smtp._tls.tlsrpt-servfail.{ZONE}": "servfail"},
        ),
        _make(
            "tlsrpt-bad-grammar",
            "fields not separated by ';'",
            [invalid],
            tlsrpt=["v=TLSRPTv1 rua=mailto:tls@lab.test"],
        ),
    ]


def _guard_label(address: str) -> str:
    return {"10.0.0.1": "10", "169.254.169.254": "169", "127.0.0.1": "127", "::1": "v6"}[address]


def _guard() -> list[Scenario]:
    # Policy host and MX host both resolve to the forbidden address. With the guard on,
    # every lab address (all loopback) is refused too, so checking any lab domain with
    # the guard on gives exactly these two codes: these domains differ in that they must
    # never be checked with the guard off.
    scenarios = []
    for address in FORBIDDEN_TARGETS:
        label = _guard_label(address)
        domain = f"guard-{label}.{ZONE}"
        scenarios.append(
            _make(
                f"guard-{label}",
                f"policy host and MX host resolve to {address}",
                ["policy.fetch.blocked_address", MX_BLOCKED_CODE],
                addresses={f"mta-sts.{domain}": (address,), f"mx1.{domain}": (address,)},
                guard_only=True,
            )
        )
    return scenarios


# The engine's code for an MX host that resolves to a forbidden address.
MX_BLOCKED_CODE = "mx.connect.blocked_address"

SCENARIOS: tuple[Scenario, ...] = tuple(
    _healthy() + _record() + _fetch() + _body() + _coverage() + _mx_tls() + _tlsrpt() + _guard()
)
BY_DOMAIN: dict[str, Scenario] = {s.domain: s for s in SCENARIOS}
assert len(BY_DOMAIN) == len(SCENARIOS), "duplicate scenario domain"

# -- bench domains, synthesised by pattern ----------------------------------------------
BENCH_RE = re.compile(r"^bench-(\d{4})\.lab\.test$")


def bench_domain(n: int) -> str:
    return f"bench-{n:04d}.{ZONE}"


def bench_domains(count: int) -> list[str]:
    """``bench-0001.lab.test`` ... : healthy, two MX hosts each, wildcard certificates."""
    return [bench_domain(n) for n in range(1, count + 1)]


def bench_scenario(domain: str) -> Scenario | None:
    """The scenario behind a bench domain name, or ``None`` for any other name."""
    if not BENCH_RE.match(domain):
        return None
    label = domain.split(".", 1)[0]
    return _make(
        label,
        "bench domain: two MX hosts, wildcard pattern",
        mx=[(10, "mx1"), (20, "mx2")],
        policy_mx=[f"*.{domain}"],
        mx_spec=MxSpec(cert=CertKind.WILDCARD),
        policy=PolicySpec(cert=CertKind.WILDCARD),
    )
