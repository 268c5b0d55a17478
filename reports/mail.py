"""Find the TLSRPT reports in a mail message (RFC 8460 section 5.3), within limits.

A report is any part that decodes to a JSON object: the ``application/tlsrpt+gzip`` or
``+json`` part of a ``multipart/report; report-type=tlsrpt``, and also attachments that
senders label loosely (``.json``, ``.json.gz``, ``.gz``, ``.zip``, ``application/gzip``,
``application/zip``, ``application/octet-stream``), including inside a forwarded
message. The Subject is kept for display only: the report body is authoritative.
"""

from __future__ import annotations

import email
import email.feedparser
import email.header
import email.policy
import email.utils
import importlib.util
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message

from reports.decoding import decode_reports, looks_like_json_object, with_budget
from reports.dkim_check import DkimResult, DnsFunc, verify_dkim
from reports.errors import ReportRejected
from reports.limits import Limits

KEPT_HEADERS = (
    "TLS-Report-Domain",
    "TLS-Report-Submitter",
    "Subject",
    "From",
    "Message-ID",
    "Date",
)
DECLARED_TYPES = frozenset({"application/tlsrpt+gzip", "application/tlsrpt+json"})
LOOSE_TYPES = frozenset(
    {
        "application/gzip",
        "application/x-gzip",
        "application/zip",
        "application/x-zip-compressed",
        "application/json",
        "application/octet-stream",
    }
)
LOOSE_SUFFIXES = (".json", ".json.gz", ".gz", ".zip")
# Over the shared decompression budget refuses the whole message: a report must not be
# dropped silently because an earlier part used the budget up (or was a bomb).
_WHOLE_MESSAGE_CODES = frozenset({"decompressed_too_large"})


@dataclass(slots=True)
class MailExtraction:
    """The reports found in one message, with the headers worth keeping.

    ``reports`` holds JSON bytes for ``reports.parsing.parse_report``. ``headers`` maps
    the names in ``KEPT_HEADERS`` that are present to their decoded values. ``skipped``
    says which attachments were looked at and why they were not reports.
    """

    reports: list[bytes]
    headers: dict[str, str]
    dkim: DkimResult
    sent_at: datetime | None = None
    skipped: list[str] = field(default_factory=list)


def extract_reports_from_message(
    raw: bytes,
    limits: Limits,
    *,
    dnsfunc: DnsFunc | None = None,
    check_dkim: bool = True,
) -> MailExtraction:
    """Return the reports in ``raw`` (a whole RFC 5322 message) or raise ``ReportRejected``.

    With no report part the code is ``no_report_in_message``, unless a part labelled as a
    TLSRPT report failed to decode: then that part's error (``bad_gzip``,
    ``decompressed_too_large``, ...) is raised, as the more useful reason.
    """
    if len(raw) > limits.max_message:
        raise ReportRejected(
            f"the message is {len(raw)} bytes, the limit is {limits.max_message}", "too_large"
        )
    # The parser spends ~15 us per MIME part, so a message of many tiny parts is a CPU
    # bomb; every part starts with a "--boundary" line, so count those lines first.
    # The margin leaves room for closing delimiters and text lines that begin with "--".
    dash_lines = raw.count(b"\n--")
    if dash_lines > 4 * limits.max_mime_parts:
        raise ReportRejected(
            f"the message has {dash_lines} lines that start with '--', "
            f"more than {limits.max_mime_parts} MIME parts can need",
            "too_many_parts",
        )
    try:
        # compat32 leaves headers as strings until asked: parsing every header with the
        # default policy made a 9 KB Exchange message take several milliseconds.
        parser = _feedparser.BytesFeedParser(policy=email.policy.compat32)
        parser.feed(raw)
        message = parser.close()
        found = _Finder(limits).run(message)
    except RecursionError:  # the parser and walk() recurse once per nesting level
        raise ReportRejected("MIME parts are nested too deeply", "too_deep") from None
    headers = kept_headers(message, limits.max_string_length)
    dkim = (
        verify_dkim(raw, dnsfunc, limits.max_dkim_signatures)
        if check_dkim
        else DkimResult("none", detail="not checked")
    )
    return MailExtraction(
        reports=found.reports,
        headers=headers,
        dkim=dkim,
        sent_at=_parse_date(headers.get("Date")),
        skipped=found.skipped,
    )


class _Finder:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.budget = limits.max_decompressed  # shared by every part of the message
        self.reports: list[bytes] = []
        self.skipped: list[str] = []
        self.declared_error: ReportRejected | None = None

    def run(self, message: Message) -> _Finder:
        report_children: set[int] = set()
        for index, part in enumerate(message.walk()):
            if index >= self.limits.max_mime_parts:
                raise ReportRejected(
                    f"the message has more than {self.limits.max_mime_parts} MIME parts",
                    "too_many_parts",
                )
            if part.is_multipart():
                if _is_tlsrpt_container(part):
                    report_children.update(id(child) for child in part.get_payload())
                continue
            self.consider(part, id(part) in report_children)
        if self.reports:
            return self
        if self.declared_error is not None:
            raise self.declared_error
        looked = "; ".join(self.skipped) or "no attachment"
        raise ReportRejected(
            f"no part decodes to a TLSRPT report ({looked})", "no_report_in_message"
        )

    def consider(self, part: Message, in_tlsrpt_report: bool) -> None:
        content_type = part.get_content_type()
        filename = _filename(part)
        declared = content_type in DECLARED_TYPES or (
            in_tlsrpt_report and not content_type.startswith("text/")
        )
        loose = content_type in LOOSE_TYPES or filename.lower().endswith(LOOSE_SUFFIXES)
        if not (declared or loose):
            return
        label = f"{content_type} {filename[:100]!r}" if filename else content_type
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            self.skipped.append(f"{label}: no content")
            return
        if self.budget <= 0:
            raise ReportRejected(
                "the message's reports decompress to more than the limit",
                "decompressed_too_large",
            )
        try:
            documents = decode_reports(
                payload, content_type, filename, with_budget(self.limits, self.budget)
            )
        except ReportRejected as exc:
            if exc.code in _WHOLE_MESSAGE_CODES:
                raise
            if declared and self.declared_error is None:
                self.declared_error = exc
            self.skipped.append(f"{label}: {exc.reason}")
            return
        for document in documents:
            if declared or looks_like_json_object(document):
                self.budget -= len(document)
                self.reports.append(document)
            else:
                self.skipped.append(f"{label}: not a JSON object")


def kept_headers(message: Message, max_length: int) -> dict[str, str]:
    """The ``KEPT_HEADERS`` present in ``message``, decoded, unfolded and truncated.

    The first occurrence of a header wins.
    """
    wanted = {name.lower(): name for name in KEPT_HEADERS}
    kept: dict[str, str] = {}
    for raw_name, raw_value in message.raw_items():
        name = wanted.get(raw_name.lower())
        if name is not None and name not in kept:
            kept[name] = decode_header(name, raw_value)[:max_length]
    return kept


def decode_header(name: str, raw_value: object) -> str:
    """Unfold and decode RFC 2047 encoded-words; raw 8-bit text is read as UTF-8."""
    # compat32 keeps undeclared 8-bit bytes as surrogate escapes; senders mean UTF-8.
    text = str(raw_value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = " ".join(text.replace("\x00", "").split())
    if "=?" not in text:  # no RFC 2047 encoded-word: nothing to decode
        return text
    try:
        return " ".join(str(email.header.make_header(email.header.decode_header(text))).split())
    except (ValueError, LookupError, UnicodeError):  # bad charset or encoding: keep as sent
        return text


def _is_tlsrpt_container(part: Message) -> bool:
    return (
        part.get_content_type() == "multipart/report"
        and str(part.get_param("report-type", "")).lower() == "tlsrpt"
    )


def _filename(part: Message) -> str:
    try:
        return part.get_filename() or ""
    except Exception:  # RFC 2231 parameters can be malformed in ways that raise
        return ""


class _BoundaryRe:
    """Stands in for ``re`` inside a private copy of ``email.feedparser``.

    The stdlib parser compiles a new regular expression for every multipart boundary,
    ``(?P<sep>--BOUNDARY)(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$``, and
    boundaries are unique per message, so ``re``'s cache never hits (measured: 0.7 ms
    per message, 40% of reading a report mail). The separator is a literal, so "starts
    with it, then the fixed tail matches at its end" is the same match; the parser only
    tests the result and reads its ``end`` and ``linesep`` groups. Any other pattern
    goes to ``re`` itself.
    """

    _TAIL = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")
    _HEAD = "(?P<sep>"
    _TAIL_SOURCE = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"

    def __getattr__(self, name: str) -> object:
        return getattr(re, name)

    def compile(self, pattern: str, flags: int = 0) -> object:
        if flags or not (pattern.startswith(self._HEAD) and pattern.endswith(self._TAIL_SOURCE)):
            return re.compile(pattern, flags)
        escaped = pattern[len(self._HEAD) : -len(self._TAIL_SOURCE)]
        separator = _unescape(escaped)
        if separator is None:
            return re.compile(pattern, flags)
        return _BoundaryMatcher(separator, self._TAIL)


class _BoundaryMatcher:
    __slots__ = ("separator", "tail")

    def __init__(self, separator: str, tail: re.Pattern[str]) -> None:
        self.separator = separator
        self.tail = tail

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return self.tail.match(line, len(self.separator))


def _unescape(escaped: str) -> str | None:
    """The literal ``re.escape`` was given, or None if ``escaped`` is not its output."""
    literal = re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL)
    return literal if re.escape(literal) == escaped else None


def _private_feedparser() -> object:
    # A copy of the module, so the stand-in never changes how anyone else parses mail.
    spec = importlib.util.find_spec("email.feedparser")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.re = _BoundaryRe()
    return module


_feedparser = _private_feedparser()


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        sent = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" means the zone is unknown; UTC is the only reading that sorts sanely.
    return sent if sent.tzinfo is not None else sent.replace(tzinfo=UTC)
