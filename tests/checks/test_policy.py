"""Parsing the policy body [RFC 8461 3.2]: one vector per rule, exact codes."""

from __future__ import annotations

import pytest

from monitoring.checks.policy import parse_policy

URL = "https://mta-sts.example.com/.well-known/mta-sts.txt"
GOOD = "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 604800\n"


def body(
    *,
    version: str | None = "STSv1",
    mode: str | None = "enforce",
    mx: tuple[str, ...] = ("mx1.example.com",),
    max_age: str | None = "604800",
    extra: tuple[str, ...] = (),
    eol: str = "\n",
    final_eol: bool = True,
) -> bytes:
    lines = [f"version: {version}"] if version is not None else []
    lines += [f"mode: {mode}"] if mode is not None else []
    lines += [f"mx: {p}" for p in mx]
    lines += [f"max_age: {max_age}"] if max_age is not None else []
    lines += list(extra)
    return (eol.join(lines) + (eol if final_eol else "")).encode()


def codes(raw: bytes | str) -> set[str]:
    return {f.code for f in parse_policy(raw, URL)[1]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Line endings: LF or CRLF, the last one optional, mixed is fine.
        (body(), set()),
        (body(eol="\r\n"), set()),
        (body(final_eol=False), set()),
        (body(eol="\r\n", final_eol=False), set()),
        (b"version: STSv1\r\nmode: enforce\nmx: mx1.example.com\r\nmax_age: 604800", set()),
        # Fields in any order; unknown keys ignored; first of repeated keys wins.
        (b"max_age: 86400\nmx: a.example.com\nmode: enforce\nversion: STSv1\n", set()),
        (body(extra=("x-comment: extensions are ignored",)), set()),
        (body(extra=("max_age: bad", "mode: nonsense", "version: STSv9")), set()),
        # White space after the colon and at line end is allowed.
        (b"version:STSv1\nmode:\tenforce\nmx:   mx1.example.com  \nmax_age: 604800 \n", set()),
        # Syntax.
        (body(extra=("this line has no colon",)), {"policy.syntax.invalid"}),
        (body(extra=("x-ext : 1",)), {"policy.syntax.invalid"}),
        (b"version : STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 604800\n",
         {"policy.syntax.invalid"}),
        (body(extra=(" x-ext: 1",)), {"policy.syntax.invalid"}),
        (body(extra=("x-ext: a\x01b",)), {"policy.syntax.invalid"}),
        (body(extra=("x-ext: a\x7fb",)), {"policy.syntax.invalid"}),
        (body(extra=("x-ext: a\rb",)), {"policy.syntax.invalid"}),
        (b"\xef\xbb\xbf" + body(), {"policy.syntax.invalid"}),
        ("\ufeff" + body().decode(), {"policy.syntax.invalid"}),
        (body(extra=("x-ext: caf\xe9",)).replace(b"\xc3\xa9", b"\xe9"), {"policy.syntax.invalid"}),
        (body(extra=("x-ext:",)), {"policy.syntax.invalid"}),
        (body(extra=("bad key!: 1",)), {"policy.syntax.invalid"}),
        (body() + b"\n", {"policy.syntax.invalid"}),
        (b"version: STSv1\n\nmode: enforce\nmx: mx1.example.com\nmax_age: 604800\n",
         {"policy.syntax.invalid"}),
        # version: required, exact.
        (body(version=None), {"policy.version.invalid"}),
        (body(version="STSv2"), {"policy.version.invalid"}),
        (body(version="stsv1"), {"policy.version.invalid"}),
        (body(version=None, extra=("Version: STSv1",)), {"policy.version.invalid"}),
        # mode: required, one of three, case-sensitive.
        (body(mode=None), {"policy.mode.invalid"}),
        (body(mode="Enforce"), {"policy.mode.invalid"}),
        (body(mode="strict"), {"policy.mode.invalid"}),
        (body(mode="testing"), {"policy.mode.testing"}),
        (body(mode="none"), {"policy.mode.none"}),
        # max_age: 1-10 digits, at most 31557600; under a day is low.
        (body(max_age=None), {"policy.max_age.invalid"}),
        (body(max_age="0"), {"policy.max_age.low"}),
        (body(max_age="86399"), {"policy.max_age.low"}),
        (body(max_age="86400"), set()),
        (body(max_age="0000086400"), set()),
        (body(max_age="31557600"), set()),
        (body(max_age="31557601"), {"policy.max_age.invalid"}),
        (body(max_age="00000086400"), {"policy.max_age.invalid"}),
        (body(max_age="99999999999"), {"policy.max_age.invalid"}),
        (body(max_age="1w"), {"policy.max_age.invalid"}),
        (body(max_age="-1"), {"policy.max_age.invalid"}),
        (body(max_age="1e6"), {"policy.max_age.invalid"}),
        # mx: required unless mode is none; each must be a host or one-label wildcard.
        (body(mx=()), {"policy.mx.missing"}),
        (body(mx=(), mode="testing"), {"policy.mx.missing", "policy.mode.testing"}),
        (body(mx=(), mode="none"), {"policy.mode.none"}),
        (body(mx=("MX1.Example.COM.",)), set()),
        (body(mx=("*.example.com", "mx.other.example")), set()),
        (body(mx=("mx1.example.com", "*.*.example.com")), {"policy.mx.invalid"}),
        (body(mx=("mx1.example.com", "mx*.example.com")), {"policy.mx.invalid"}),
        (body(mx=("*",)), {"policy.mx.invalid"}),
        (body(mx=("192.0.2.1",)), {"policy.mx.invalid"}),
        (body(mx=("mx1.example.com:25",)), {"policy.mx.invalid"}),
        (body(mx=("mx_1.example.com",)), {"policy.mx.invalid"}),
        (body(mx=("b\xfccher.example",)), {"policy.mx.invalid"}),
        (body(mx=("xn--bcher-kva.example",)), set()),
        (body(mx=("MX: mx1.example.com",)), {"policy.mx.invalid"}),
        (body(mx=(), extra=("MX: mx1.example.com",)), {"policy.mx.missing"}),
    ],
)  # fmt: skip
def test_policy_vectors(raw: bytes | str, expected: set[str]) -> None:
    assert codes(raw) == expected


def test_parsed_fields() -> None:
    policy, findings = parse_policy(
        body(mx=("mx1.example.com", "*.example.net", "bad*.x"), extra=("ext: 1",)), URL
    )
    assert policy.to_dict() == {
        "version": "STSv1",
        "mode": "enforce",
        "max_age": 604800,
        "mx": ["mx1.example.com", "*.example.net", "bad*.x"],
        "extensions": {"ext": "1"},
    }
    assert policy.patterns == ["mx1.example.com", "*.example.net"]
    assert [f.code for f in findings] == ["policy.mx.invalid"]
    assert "'bad*.x'" in findings[0].message


def test_blank_lines_are_a_warning_other_syntax_errors_an_error() -> None:
    _, blank = parse_policy(body() + b"\n\n", URL)
    _, broken = parse_policy(body(extra=("no colon here",)), URL)
    assert [(f.code, f.severity) for f in blank] == [("policy.syntax.invalid", "warning")]
    assert [(f.code, f.severity) for f in broken] == [("policy.syntax.invalid", "error")]
    assert "'no colon here'" in broken[0].message


def test_bom_is_one_finding_and_fields_still_read() -> None:
    policy, findings = parse_policy(b"\xef\xbb\xbf" + body(), URL)
    assert policy.version == "STSv1" and policy.mode == "enforce"
    assert [f.code for f in findings] == ["policy.syntax.invalid"]
    assert "byte order mark" in findings[0].message


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        (body(version="STSv2"), "'STSv2'"),
        (body(mode="Enforce"), "'Enforce'"),
        (body(max_age="31557601"), "31557601"),
        (body(max_age="1w"), "'1w'"),
        (body(max_age="3600"), "3600"),
        (body(mode=None, extra=("Mode: enforce",)), "'Mode'"),
    ],
)
def test_messages_include_the_value_seen(raw: bytes, quoted: str) -> None:
    _, findings = parse_policy(raw, URL)
    assert any(quoted in f.message for f in findings), [f.message for f in findings]


def test_many_syntax_problems_are_summarised() -> None:
    raw = body(extra=tuple(f"broken line {n}" for n in range(10)))
    _, findings = parse_policy(raw, URL)
    assert len(findings) == 1
    assert "(and 7 more)" in findings[0].message
