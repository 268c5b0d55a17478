"""The faster boundary matching in reports.mail parses exactly like the stdlib parser."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from reports import mail
from tests.reports.support import TLSRPT_SAMPLES


def _tree(message) -> list[tuple[str, bytes | None]]:
    return [
        (part.get_content_type(), part.get_payload(decode=True))
        for part in message.walk()
        if not part.is_multipart()
    ]


def _fast(raw: bytes):
    parser = mail._feedparser.BytesFeedParser(policy=email.policy.compat32)
    parser.feed(raw)
    return parser.close()


def _crafted(boundary: str, eol: str) -> bytes:
    lines = [
        "From: a@example.com",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=tlsrpt; boundary="{boundary}"',
        "",
        "preamble",
        f"--{boundary}",
        "Content-Type: text/plain",
        "",
        "hello",
        f"--{boundary}   ",  # trailing white space is allowed after a delimiter
        "Content-Type: application/tlsrpt+json",
        "",
        '{"a": 1}',
        f"--{boundary}--",
        "epilogue",
        "",
    ]
    return eol.join(lines).encode()


@pytest.mark.parametrize("boundary", ["simple", "a.b*c+d?(e)[f]", "=_Part_1_$^|", "x--y"])
@pytest.mark.parametrize("eol", ["\r\n", "\n"])
def test_crafted_boundaries_parse_like_the_stdlib(boundary, eol):
    raw = _crafted(boundary, eol)
    expected = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert _tree(_fast(raw)) == _tree(expected)
    assert len(_tree(expected)) == 2


@pytest.mark.parametrize("path", sorted(TLSRPT_SAMPLES.glob("*.eml")), ids=lambda p: p.name)
def test_sample_messages_parse_like_the_stdlib(path):
    raw = path.read_bytes()
    expected = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert _tree(_fast(raw)) == _tree(expected)


def test_the_fast_path_is_taken_for_boundaries():
    pattern = mail._feedparser.re.compile(
        "(?P<sep>" + re.escape("--b.1") + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
    )
    assert isinstance(pattern, mail._BoundaryMatcher)
    assert pattern.match("--b.1--\r\n").group("end") == "--"
    assert pattern.match("--bX1") is None
